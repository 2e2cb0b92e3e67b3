"""Shared pieces of the serving benchmarks: start a Streamlit app, sample its memory and CPU, drive Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BARE_APP = 'import streamlit as st\n\nst.title("Bare")\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    app: Path,
    home: Path,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    memray: Path | None = None,
):
    """Start `streamlit run app` headless on a free port; return (process, url, seconds until healthy).

    `prefix` goes before the command (e.g. entering a cgroup); `memray` records the server's allocations there.
    """
    port = _free_port()
    began = time.monotonic()
    log = open(home / f"server-{port}.log", "w")  # noqa: SIM115 (the child keeps writing to it)
    tracker = ["-m", "memray", "run", "--force", "-o", str(memray)] if memray else []
    cmd = [sys.executable, *tracker, "-m", "streamlit", "run", str(app), "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    cmd += ["--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        (prefix or []) + cmd,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LIGHTBOX_HOME": str(home), **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url, time.monotonic() - began
        except OSError:
            pass
        if time.monotonic() - began > 300 or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"streamlit did not start: {log.name}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Kill a server started here."""
    proc.kill()
    proc.wait(30)


def tree(pid: int) -> list[int]:
    """Return pid and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError):  # a thread that ended since the listing
                todo.extend(int(c) for c in task.read_text().split())
    return pids


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Return the resident memory of a process tree in MB (VmHWM: its peak)."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process tree has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / tick


def bare_torch_rss(field: str = "VmRSS") -> float:
    """Return the RSS (MB) of a process that did only `import torch` (RssAnon: its anonymous part)."""
    code = (
        "import torch, pathlib; status = pathlib.Path('/proc/self/status').read_text().splitlines(); "
        f"print(next(line for line in status if line.startswith('{field}:')).split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip()) / 1024


def rss_by_file(pid: int) -> dict[str, float]:
    """Return a process's resident memory (MB) per mapped file, with "[anon]" for the rest (from smaps)."""
    out: dict[str, float] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(maxsplit=5)
        if not first[0].endswith(":"):  # a mapping's header: "start-end perms offset dev inode [path]"
            name = first[5] if len(first) > 5 and first[5].startswith("/") else "[anon]"
        elif first[0] == "Rss:":
            out[name] = out.get(name, 0.0) + int(first[1]) / 1024
    return out


def bare_torch_rss_by_file() -> dict[str, float]:
    """Return rss_by_file of a process that did only `import torch`."""
    code = "import json, os, sys, torch; sys.path.insert(0, sys.argv[1]); from serving import rss_by_file; "
    code += "print(json.dumps(rss_by_file(os.getpid())))"
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", code, here], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class Sampler(threading.Thread):
    """Sample the RSS of a process tree every `every` seconds; keep the peak (MB)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.done, self.peak = pid, every, threading.Event(), 0.0

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(self.every)


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages of this machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
