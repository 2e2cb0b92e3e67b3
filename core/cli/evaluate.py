"""The `evaluate` command: runs on their validation images, head to head (McNemar) and as an ensemble."""

from __future__ import annotations

import argparse

from core.evaluation import check_same_validation, ensemble, mcnemar, predict_validation
from core.runs import RunStore


def configure(command: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of the evaluate command to its parser."""
    parser.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs trained on the same data (see `runs`)")


def run(args: argparse.Namespace) -> int:
    """Print accuracy and loss per run, then McNemar's test for two runs and the ensemble for two or more."""
    store = RunStore(args.home)
    runs = [store.get_run(run_id) for run_id in args.run_ids]
    if len(runs) > 1:
        check_same_validation(runs)
    found = [predict_validation(store, r.id) for r in runs]
    for r, vp in zip(runs, found, strict=True):
        print(f"{r.id}\taccuracy: {vp.accuracy:.4f}\tloss: {vp.loss:.4f}\timages: {len(vp.labels)}")
    if len(found) == 2:
        test = mcnemar(found[0].correct, found[1].correct)
        print(
            f"mcnemar: only_first_right: {test.only_a}  only_second_right: {test.only_b}  p_value: {test.p_value:.4g}"
        )
    if len(found) >= 2:
        combined = ensemble(found)
        print(f"ensemble\taccuracy: {combined.accuracy:.4f}\tloss: {combined.loss:.4f}")
    return 0
