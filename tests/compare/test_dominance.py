"""A note when one task carries most of the pooled weight (typically a task at the ceiling)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from consilience.compare import compare, rank
from consilience.compare.task_effects import DOMINANT_SHARE, dominance_note


def _runs(ceiling: bool, seed: int = 0) -> pd.DataFrame:
    """Ten ordinary tasks (accuracy about 0.8, noisy seeds) and, optionally, one where both
    arms score 100% on every seed."""
    rng = np.random.default_rng(seed)
    rows = []
    for task in range(10):
        for s in range(5):
            base = 0.8 + rng.normal(0, 0.02)
            rows.append(("base", f"t{task}", s, base))
            rows.append(("new", f"t{task}", s, base + 0.01 + rng.normal(0, 0.02)))
    if ceiling:
        for s in range(5):
            rows += [("base", "perfect", s, 1.0), ("new", "perfect", s, 1.0)]
    frame = pd.DataFrame(rows, columns=["arm", "task", "seed", "value"])
    return frame.assign(metric="accuracy", n_eval=200)


def test_a_ceiling_task_that_dominates_the_pool_is_named() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the note is information in the result, not a warning
        res = compare(_runs(ceiling=True), baseline="base", candidate="new")
    notes = [w for w in res.provenance.warnings if "pooled weight" in w]
    assert len(notes) == 1
    assert "'perfect'" in notes[0] and "both arms scored the same on every seed" in notes[0]
    tasks = res.tasks.set_index("task")
    w = 1 / (tasks["vi"] + res.tau2)
    share = w["perfect"] / w.sum()
    assert share > DOMINANT_SHARE
    assert f"{100 * share:.0f}%" in notes[0]
    assert notes[0] in str(res.summary())


def test_no_note_when_the_weight_is_spread() -> None:
    res = compare(_runs(ceiling=False), baseline="base", candidate="new")
    assert not [w for w in res.provenance.warnings if "pooled weight" in w]
    tasks = res.tasks
    assert dominance_note(tasks, res.tau2) is None


def test_ranking_notes_name_the_arm() -> None:
    runs = _runs(ceiling=True)
    other = runs.loc[runs["arm"] == "new"].assign(arm="other")
    res = rank(pd.concat([runs, other], ignore_index=True), baseline="base")
    notes = [w for w in res.provenance.warnings if "pooled weight" in w]
    assert sorted(n.split(":")[0] for n in notes) == ["new", "other"]
