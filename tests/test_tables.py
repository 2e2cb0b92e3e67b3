"""Tables: a run with no metrics yet shows empty cells, never the word None; no table imports pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from core import RunStore
from dashboard.tables import arrow_table, rows_table, runs_side_by_side, runs_table
from tests.helpers import quick_config
from tests.helpers.pages import ui_files_calling

ROOT = Path(__file__).resolve().parent.parent


def test_a_run_stopped_in_its_first_epoch_shows_no_none(store: RunStore) -> None:
    run = store.create_run(quick_config())  # recorded, no epoch finished: no metrics at all
    table = runs_table([store.get_run(run.id)])
    cells = [v for column in table.columns for v in column.to_pylist()]
    assert "None" not in cells and table.column("val accuracy").null_count == 1
    assert table.column("device").to_pylist() == ["-"] and table.column("name").to_pylist() == [run.name]
    assert table.schema.field("created").type == pa.timestamp("ms")  # a date: sorts by time
    side = runs_side_by_side([store.get_run(run.id)], ["my run"])
    assert side.column_names == ["", "my run"] and "None" not in side.column("my run").to_pylist()
    assert dict(zip(side.column("").to_pylist(), side.column("my run").to_pylist(), strict=True))["val accuracy"] == "-"


def test_a_diverged_loss_is_an_empty_cell(store: RunStore) -> None:
    run = replace(
        store.get_run(store.create_run(quick_config()).id), metrics={"val_loss": float("nan"), "epochs_completed": 1}
    )
    table = runs_table([run])
    assert table.column("val loss").to_pylist() == [None] and table.column("epochs").to_pylist() == [1]


def test_columns_are_typed_from_their_values_and_none_is_an_empty_cell() -> None:
    table = arrow_table(
        {"n": [1, None, 3], "x": [0.5, 2, None], "yes": [True, None, False], "text": ["<b>a</b>", None, "ü"]}
    )
    assert [f.type for f in table.schema] == [pa.int64(), pa.float64(), pa.bool_(), pa.string()]
    assert table.to_pydict() == {
        "n": [1, None, 3],
        "x": [0.5, 2.0, None],
        "yes": [True, None, False],
        "text": ["<b>a</b>", None, "ü"],
    }
    assert arrow_table({"p": [float("nan"), 0.5]}).to_pydict() == {"p": [None, 0.5]}  # a class never predicted
    assert rows_table([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    assert rows_table([]).num_columns == 0 and arrow_table({"empty": []}).num_rows == 0


def _table_app() -> None:
    from dashboard.tables import arrow_table, show_table

    show_table(arrow_table({"val accuracy": [None, 0.5], "precision": [float("nan"), 1.0]}))


def test_an_empty_cell_reads_as_a_dash_not_none() -> None:
    from streamlit.testing.v1 import AppTest

    drawn = AppTest.from_function(_table_app).run().dataframe[0]
    assert drawn.proto.placeholder == "-"  # what the browser writes in a null cell ("None" by default)
    assert drawn.value.isna().sum().sum() == 2


def test_building_and_sending_tables_imports_no_pandas_and_starts_no_arrow_pool(tmp_path: Path) -> None:
    """pandas costs a server some 44 MB: the tables are Arrow from the start and sent without its lazy check.
    Their few kilobytes come from malloc: pyarrow's default mimalloc pool kept 4 MB more."""
    code = (
        "import sys\n"
        "from core import RunConfig, RunStore\n"
        "from dashboard.tables import arrow_table, runs_side_by_side, runs_table\n"
        "from streamlit.dataframe_util import convert_arrow_table_to_arrow_bytes\n"
        f"store = RunStore({str(tmp_path)!r})\n"
        "run = store.get_run(store.create_run(RunConfig()).id)\n"
        "for table in (runs_table([run]), runs_side_by_side([run], ['a']), arrow_table({'a': [1.5, None]})):\n"
        "    convert_arrow_table_to_arrow_bytes(table)\n"
        "import pyarrow\n"
        "print('pandas' in sys.modules, pyarrow.default_memory_pool().backend_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "system"]


def test_pages_draw_tables_only_through_show_table() -> None:
    """st.dataframe is called in one place, with lazy=False: its lazy check imports pandas for any table."""
    assert ui_files_calling(".dataframe(") == ["dashboard/tables.py"]


def test_only_the_tables_module_imports_pyarrow_so_its_allocator_is_set_first() -> None:
    """Imported first elsewhere (Compare's views did), pyarrow would start its own pool before tables.py asks."""
    assert ui_files_calling("\nimport pyarrow") == ["dashboard/tables.py"]
    assert ui_files_calling("\nfrom pyarrow") == []
