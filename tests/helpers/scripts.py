"""Run generated training scripts as `python script.py` would, one after another in one Python without Lightbox.

Each script starts a Python that imports torch, torchvision and a data loader (seconds of CPU); one child process
runs them in turn instead, each with `runpy` in a fresh `__main__` namespace, with its own folder first on
`sys.path`, its working folder and HOME, and with Lightbox never importable: the child gets no PYTHONPATH and
refuses to go on if a script imported `core`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The child: reads one request per line, runs that script as __main__, answers with its exit code and output.
_CHILD = r"""
import contextlib, io, json, os, runpy, sys, traceback
answer = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    os.chdir(request["cwd"])
    os.environ["HOME"] = request["home"]
    sys.argv = [request["path"]]
    sys.path[0] = os.path.dirname(request["path"])  # as `python script.py` puts the script's folder first
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(request["path"], run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    imported = sorted(m for m in sys.modules if m == "core" or m.startswith("core."))
    if imported:
        err.write(f"the script imported Lightbox: {imported}\n")
        code = 1
    answer.write(json.dumps({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    answer.flush()
"""


class ScriptRunner:
    """One child Python, started on first use, that runs scripts in turn; `close()` ends it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder  # the child's own working folder: empty, so nothing beside it is importable
        self._proc: subprocess.Popen[str] | None = None

    def run(self, path: Path, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
        """Run `path` as __main__ in `cwd` with HOME=`home`; return its exit code and printed output."""
        if self._proc is None or self._proc.poll() is not None:
            env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}  # no PYTHONPATH: Lightbox is not importable
            env["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "1")  # as many threads as the suite's processes
            self.folder.mkdir(parents=True, exist_ok=True)
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD],
                cwd=self.folder,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"path": str(path), "cwd": str(cwd), "home": str(home)}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        assert line, f"the script runner ended (exit code {self._proc.wait()})"
        answer = json.loads(line)
        return subprocess.CompletedProcess([str(path)], answer["returncode"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        if self._proc is not None:
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(timeout=60)
            self._proc = None
