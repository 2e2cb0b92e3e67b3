"""One `python -m core` command in a child process: heavy one-off work a long-lived server should not keep.

torch.export and ONNX's exporter import 150-320 MB of modules (torch._dynamo, onnx, onnxscript) that stay in a
process for good: a server that wrote one .pt2 file for a visitor kept +195 MB of RSS, one ONNX file +347 MB
(`benchmarks/child_export.py`). Written by a child, the files cost the server nothing once they are done, and
the child asks the kernel to stop it first if memory runs out, so a full host ends the child, not the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from core.errors import LightboxError

__all__: list[str] = []  # the dashboard's plumbing, not part of core's public API

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600  # a Lite0 ONNX file takes about 11 s
_PROGRAM = (
    "from core.memory import reuse_freed_memory, stop_me_first\n"
    "stop_me_first(); reuse_freed_memory()  # a batch job the kernel stops before the server\n"
    "import sys\n"
    "from core.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _argv(args: list[str]) -> list[str]:
    return [sys.executable, "-c", _PROGRAM, *args]


def run_command(args: list[str], home: Path, what: str, error: type[LightboxError] = LightboxError) -> str:
    """Run `python -m core <args>` over the store at `home` in a child process; return what it printed.

    `what` names the work for a person ("Writing the ONNX file"); a failure raises `error` with the command's
    own sentence, or says that the work ran out of memory (or time) and was stopped, with nothing kept.
    """
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "LIGHTBOX_HOME": str(home), "PYTHONPATH": path}
    try:
        done = subprocess.run(_argv(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:  # the child is killed by then
        raise error(f"{what} took over {TIMEOUT_S // 60} minutes and was stopped; nothing was kept.") from exc
    if done.returncode == 0:
        return done.stdout
    if done.returncode == -signal.SIGKILL:
        raise error(f"{what} ran out of memory on this server and was stopped; nothing was kept. Try again later.")
    said = [line.removeprefix("error: ") for line in done.stderr.splitlines() if line.startswith("error: ")]
    raise error(said[-1] if said else f"{what} failed: {done.stderr.strip()[-500:] or f'exit {done.returncode}'}")
