"""One `python -m core` command in a child process: heavy one-off work a long-lived server should not keep.

torch.export and ONNX's exporter import 150-320 MB of modules (torch._dynamo, onnx, onnxscript) that stay in a
process for good: a server that wrote one .pt2 file for a visitor kept +195 MB of RSS, one ONNX file +347 MB
(`benchmarks/child_export.py`). A Lite0 run's int8 copy peaks at +525 MB while it calibrates. Done by a child,
the work costs the server nothing once it ends, and the child asks the kernel to stop it first if memory runs
out, so a full host ends the child, not the server.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from core.errors import LightboxError

__all__: list[str] = []  # the dashboard's plumbing, not part of core's public API

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600  # a Lite0 ONNX file takes about 11 s, a Lite0 run's int8 copy about a minute
WORKSPACE_ENV = "LIGHTBOX_WORKSPACE"  # the command sees and writes runs as this visitor's workspace
_PROGRAM = (  # `python -m core` itself, once the child has asked to be stopped first
    "from core.memory import stop_me_first\n"
    "stop_me_first()\n"
    "import runpy\n"
    "runpy.run_module('core', run_name='__main__', alter_sys=True)\n"
)


def _argv(args: list[str]) -> list[str]:
    return [sys.executable, "-c", _PROGRAM, *args]


def run_command(
    args: list[str],
    home: Path,
    what: str,
    error: type[LightboxError] = LightboxError,
    *,
    workspace: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Run `python -m core <args>` over the store at `home` in a child process; return what it printed.

    `workspace`: the visitor whose runs the command may see and writes (else the server's view). `on_line`
    gets each line the command writes to stderr (its progress) as it comes. `what` names the work for a person
    ("Writing the ONNX file"); a failure raises `error` with the command's own sentence, or says that the work
    ran out of memory (or time) and was stopped, with nothing kept.
    """
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "LIGHTBOX_HOME": str(Path(home).resolve()), "PYTHONPATH": path, WORKSPACE_ENV: workspace or ""}
    said: list[str] = []
    with (
        tempfile.TemporaryFile("w+") as out,
        subprocess.Popen(_argv(args), cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE, text=True) as proc,
    ):
        timed_out = threading.Event()
        late = threading.Timer(TIMEOUT_S, lambda: (timed_out.set(), proc.kill()))
        late.start()
        try:
            for line in proc.stderr or ():
                said.append(line.rstrip("\n"))
                if on_line is not None:
                    on_line(said[-1])
            proc.wait()
        finally:
            late.cancel()
            if proc.poll() is None:  # the server is stopping under it, say
                proc.kill()
                proc.wait()
        out.seek(0)
        printed = out.read()
    if proc.returncode == 0:
        return printed
    if timed_out.is_set():
        raise error(f"{what} took over {TIMEOUT_S // 60} minutes and was stopped; nothing was kept.")
    if proc.returncode == -signal.SIGKILL:
        raise error(f"{what} ran out of memory on this server and was stopped; nothing was kept. Try again later.")
    sentences = [line.removeprefix("error: ") for line in said if line.startswith("error: ")]
    if sentences:  # the command's own sentence for a problem the user can fix
        raise error(sentences[-1])
    log.warning("python -m core %s ended with %s:\n%s", " ".join(args), proc.returncode, "\n".join(said[-40:]))
    raise error(f"{what} failed unexpectedly (exit {proc.returncode}); nothing was kept. The server's log has details.")
