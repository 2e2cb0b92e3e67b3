"""What one table costs a server: Streamlit's own way (through pandas) against Lightbox's Arrow tables.

One-page apps that import torch, each on a fresh server opened once in Chromium: a title only; a title and
one small table given to st.dataframe as a list of rows (converted through pandas); the same table built by
`dashboard.tables` and drawn with `show_table` (an Arrow table, sent at once: no pandas), once more with pyarrow's
default mimalloc pool; and a v2 component
whose data holds a list (Streamlit looks for a dataframe in it, importing pandas) beside one whose lists travel
as JSON text (`dashboard.camera.element_data`). Reported per app: the server's RSS three seconds after the page
showed, and whether pandas was loaded. Apps alternate, each round in the same order.

Run: python benchmarks/table_memory.py [--rounds 2]

Measured 2026-12-04 on the shared 2-core machine (2 rounds, medians of server RSS; `import torch` alone 507 MB):
title only 551 MB; st.dataframe of a list of rows +76 MB (pandas loaded); show_table(rows_table(...)) +34 MB (no
pandas); a v2 component with a list in its data +68 MB (pandas loaded); with element_data(...) +6 MB (no pandas).
Measured 2026-12-06 (3 rounds, then 2 more; the same in both): show_table +29 MB now that `dashboard.tables` gives
pyarrow the system allocator, against +33 MB in the app that keeps pyarrow's default mimalloc pool.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.serving import CHROMIUM, CHROMIUM_FLAGS, ROOT, rss_mb, start_app, stop

HEAD = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport streamlit as st\nimport torch\n\nst.title('Table')\n"
ROWS = "[{'run': 'cnn', 'accuracy': 0.98, 'epochs': 10}, {'run': 'simple', 'accuracy': 0.95, 'epochs': 10}]"
COMPONENT = "c = st.components.v2.component('probe', html='<span></span>', js='export default function () {}')\n"
APPS = {
    "title only": HEAD,
    "st.dataframe(list of rows)": HEAD + f"st.dataframe({ROWS})\n",
    "show_table(rows_table(...))": HEAD
    + f"from dashboard.tables import rows_table, show_table\nshow_table(rows_table({ROWS}))\n",
    "the same, pyarrow's mimalloc pool": HEAD
    + "import os\nos.environ['ARROW_DEFAULT_MEMORY_POOL'] = 'mimalloc'  # pyarrow's default; tables.py picks 'system'\n"
    + f"from dashboard.tables import rows_table, show_table\nshow_table(rows_table({ROWS}))\n",
    "component, a list in data": HEAD + COMPONENT + "c(key='p', data={'bars': [['cat', 0.9]], 'n': 1})\n",
    "component, element_data(...)": HEAD
    + COMPONENT
    + "from dashboard.camera import element_data\nc(key='p', data=element_data({'bars': [['cat', 0.9]], 'n': 1}))\n",
}
SHOWN = "st.caption('shown: pandas ' + str('pandas' in sys.modules))\n"


def measure(browser, app: Path, home: Path) -> tuple[float, bool]:
    """Return the server's RSS (MB) three seconds after the page showed, and whether it had imported pandas."""
    proc, url, _ = start_app(app, home)
    try:
        page = browser.new_context().new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        shown = page.get_by_text("shown: pandas").first
        shown.wait_for()
        time.sleep(3)
        rss, pandas = rss_mb(proc.pid), shown.inner_text().endswith("True")
        page.context.close()
        return rss, pandas
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[tuple[float, bool]]] = {name: [] for name in APPS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        apps = {name: Path(tmp) / f"app_{i}.py" for i, name in enumerate(APPS)}
        for name, path in apps.items():
            path.write_text(APPS[name] + SHOWN)
        for _ in range(args.rounds):
            for name, path in apps.items():
                results[name].append(measure(browser, path, Path(tmp)))
        browser.close()
    base = statistics.median(r for r, _ in results["title only"])
    print(f"{'app':32} {'server RSS MB':>14} {'over title only':>16}  pandas loaded")
    for name, runs in results.items():
        rss = statistics.median(r for r, _ in runs)
        print(f"{name:32} {rss:14.0f} {rss - base:+16.0f}  {runs[-1][1]}")


if __name__ == "__main__":
    main()
