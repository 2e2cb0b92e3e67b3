"""The Streamlit Cloud dependency file (dashboard/requirements.txt) cannot drift from the root one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    """Return {normalised package name: version} of a requirements file's `name==version` lines."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, version = line.split("==")
        found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def test_cloud_requirements_pin_the_same_versions_as_the_root() -> None:
    root, cloud = pins(ROOT / "requirements.txt"), pins(ROOT / "dashboard" / "requirements.txt")
    assert set(cloud) == set(root), "add or remove the same packages in both files"
    for name, version in root.items():
        if name in ("torch", "torchvision"):
            assert cloud[name] == f"{version}+cpu", f"{name}: the Cloud file wants the CPU-only build"
        else:
            assert cloud[name] == version, f"{name} is {version} in requirements.txt but {cloud[name]} for Cloud"


def test_only_the_cloud_file_uses_the_pytorch_cpu_index() -> None:
    index = "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert index in (ROOT / "dashboard" / "requirements.txt").read_text()
    for path in (ROOT / "requirements.txt", ROOT / "requirements-dev.txt"):  # the README and CI install path
        assert "download.pytorch.org" not in path.read_text()
