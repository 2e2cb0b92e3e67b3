"""The runs table: a run with no metrics yet shows empty cells, never the word None."""

from __future__ import annotations

from core import RunStore
from dashboard.tables import display_frame, runs_frame
from tests.helpers import quick_config


def test_a_run_stopped_in_its_first_epoch_shows_no_none(store: RunStore) -> None:
    run = store.create_run(quick_config())  # recorded, no epoch finished: no metrics at all
    frame = runs_frame([store.get_run(run.id)])
    assert not frame.map(lambda v: v is None).any().any(), frame.T
    assert "None" not in display_frame(frame).to_string()
    assert frame["val accuracy"].isna().all() and frame.loc[0, "device"] == "-"
