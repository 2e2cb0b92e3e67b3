"""Pages rendered headlessly through the real entrypoint with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def open_page(name: str, **query: str) -> AppTest:
    """Run the app (with these query parameters, as a link would carry them), switch to a page, check it rendered."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    if name != "home":
        at.switch_page(f"../pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    """Return the one button with this label."""
    (found,) = [b for b in at.button if b.label == label]
    return found
