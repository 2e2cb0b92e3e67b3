"""The data half of a run's training script: code that loads the same images, with no Lightbox import.

Digits come from scikit-learn, shapes from the generator (copied in), and a user's own images from the
same folder or .zip they were imported from, decoded the way `core.data.folder` and `core.data.images` do.
"""

from __future__ import annotations

import inspect
import json
import os
import textwrap
from dataclasses import dataclass

from core.data import images as image_files
from core.data import shapes
from core.data.registry import DATASETS, SHAPES_SAMPLES, SHAPES_SIZE
from core.data.user import user_dataset_source
from core.errors import LightboxError
from core.runs import RunInfo

__all__: list[str] = []  # core.script is the way in

BUILT_IN = ("digits", "shapes")  # the built-in datasets a script can rebuild; a user's own images can be too


@dataclass(frozen=True)
class DataCode:
    """The imports, constants and functions a script needs to load its run's images as (N, C, H, W) uint8."""

    stdlib: tuple[str, ...]  # import lines beside `import math`
    packages: tuple[str, ...]  # third-party import lines beside torch's
    constants: str
    code: str


_DIGITS = '''

def load_data() -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Return scikit-learn's 1,797 digits as uint8 images (N, 1, 8, 8), white ink on black, and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = torch.from_numpy(bunch.images).float()  # (N, 8, 8) in 0..16
    images = (pixels * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)  # (N, 1, 8, 8)
    return images, torch.from_numpy(bunch.target).long(), tuple(str(d) for d in range(10))
'''

_SHAPES = '''

def load_data() -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Draw {samples} shape images of {size}x{size} pixels (seed 0), as uint8 (N, 3, H, W), and labels."""
    rng = np.random.default_rng(0)
    labels = np.arange({samples}) % len(SHAPES)
    rng.shuffle(labels)
    images = np.stack([draw_shape(SHAPES[k], {size}, rng) for k in labels])  # (N, H, W, 3)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels).long(), SHAPES
'''

_FOLDER = '''

def list_images(data: str) -> list[tuple[tuple[str, ...], str | io.BytesIO]]:
    """Return the image files of a folder or .zip as (path parts, file), sorted by path, hidden ones left out."""
    if os.path.isdir(data):
        paths = [os.path.join(top, name) for top, _, names in os.walk(data) for name in names]
        files = {tuple(os.path.relpath(p, data).split(os.sep)): p for p in paths}
    else:
        archive = zipfile.ZipFile(data)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        files = {tuple(p for p in n.replace("\\\\", "/").split("/") if p not in ("", ".")): n for n in names}
    found = []
    for parts, name in sorted(files.items()):
        if parts[-1].lower().endswith(IMAGE_EXTENSIONS) and not any(p.startswith(".") or p in CLUTTER for p in parts):
            found.append((parts, name if os.path.isdir(data) else io.BytesIO(archive.read(name))))
    return found


def read_image(file: str | io.BytesIO, size: int) -> np.ndarray | None:
    """Decode a picture upright, in RGB, scaled to cover size x size and centre-cropped (H, W, 3); None if broken."""
    try:
        image = Image.open(file)
        if image.format == "JPEG":
            image.draft(None, (size, size))  # a large JPEG decodes at a reduced scale that still covers the size
        image.seek(0)  # an animation's first frame
        image.load()
        return np.asarray(fit_image(to_rgb(ImageOps.exif_transpose(image)), size))
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        return None  # not a picture after all, or damaged: left out


def load_data() -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Return DATA's pictures (one sub-folder per class) as uint8 (N, 3, S, S), their labels and the classes."""
    files = list_images(DATA)
    while len({parts[0] for parts, _ in files}) == 1 and all(len(parts) >= 3 for parts, _ in files):
        files = [(parts[1:], file) for parts, file in files]  # a folder around the class folders
    decoded = [(parts[0], read_image(file, IMAGE_SIZE)) for parts, file in files if len(parts) >= 2]
    decoded = [(name, pixels) for name, pixels in decoded if pixels is not None]
    classes = tuple(sorted({name for name, _ in decoded}))
    images = torch.from_numpy(np.stack([pixels for _, pixels in decoded])).permute(0, 3, 1, 2)  # (N, 3, S, S)
    return images.contiguous(), torch.tensor([classes.index(name) for name, _ in decoded]), classes
'''


def source(*objects: object) -> str:
    """Return the source of functions and classes, separated as a module's top level is."""
    return "\n\n" + "\n\n".join(textwrap.dedent(inspect.getsource(o)) for o in objects)  # type: ignore[arg-type]


def _shapes(run: RunInfo) -> DataCode:
    data = run.config.data
    code = source(shapes._polygon, shapes._colour, shapes.draw_shape) + _SHAPES.format(
        samples=data.samples or SHAPES_SAMPLES, size=data.image_size or SHAPES_SIZE
    )
    constants = f"SHAPES = {shapes.SHAPES!r}\n_SUPERSAMPLE = {shapes._SUPERSAMPLE}\n"
    return DataCode(("import colorsys",), ("import numpy as np", "from PIL import Image, ImageDraw"), constants, code)


def _data_path(run: RunInfo) -> tuple[str, str]:
    """Return where the run's images were read from, and a comment for the reader."""
    data = run.config.data
    kept = user_dataset_source(data.name, data.owner)
    if kept and os.path.isabs(kept):
        return kept, f"the folder or .zip that '{data.name}' was imported from: point this at your copy"
    if kept is None and (os.sep in data.name or data.name.lower().endswith(".zip")):
        return os.path.abspath(os.path.expanduser(data.name)), "the folder or .zip the run trained on"
    return f"{data.name}.zip", f"'{data.name}' was uploaded: put the path of that .zip or folder here"


def _folder(run: RunInfo) -> DataCode:
    spec = run.input_spec or {}
    if spec.get("channels") != 3 or spec.get("height") != spec.get("width"):
        raise LightboxError("This run's images are not the square colour pictures an import makes; no script yet.")
    path, note = _data_path(run)
    extensions = ", ".join(json.dumps(e) for e in sorted(image_files.IMAGE_EXTENSIONS))
    constants = (
        f"DATA = {json.dumps(path)}  # {note}\n"
        f"IMAGE_SIZE = {spec['height']}  # each picture is scaled to cover this square, then centre-cropped\n"
        f'IMAGE_EXTENSIONS = ({extensions})\nCLUTTER = ("__MACOSX", "Thumbs.db", "desktop.ini")  # left out\n'
    )
    code = source(image_files._high_bit_depth_to_l, image_files.to_rgb, image_files.fit_image) + _FOLDER
    return DataCode(
        ("import io", "import os", "import zipfile"), ("import numpy as np", "from PIL import Image, ImageOps"),
        constants, code,
    )  # fmt: skip


def data_code(run: RunInfo) -> DataCode:
    """Return the code that loads a run's images, or raise a LightboxError when no script can load them yet."""
    name = run.config.data.name
    if name == "digits":
        return DataCode((), (), "", _DIGITS)
    if name == "shapes":
        return _shapes(run)
    if name not in DATASETS:
        return _folder(run)
    raise LightboxError(
        f"A script is written for the digits and shapes datasets and for your own imported images; "
        f"not yet for '{name}'."
    )
