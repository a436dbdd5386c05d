"""Every design result has one face: one-line repr, summary(), to_frame(), JSON-safe to_dict()."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from consilience._results import Summary
from consilience.design import (
    analyze_meta_experiment,
    assign_arms,
    confidence_sequence,
    power_mcnemar,
    power_meta,
    power_meta_experiment,
    power_paired,
    power_proportions,
    power_ttest,
    recommend_design,
    spending_boundaries,
)


def _pilot() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (t, arm, s, rng.normal(0.3 if arm == "c" else 0.0, 1.0))
        for t in range(6)
        for s in range(3)
        for arm in ("b", "c")
    ]
    return pd.DataFrame(rows, columns=["task", "arm", "seed", "value"])


RESULTS = {
    "ttest": lambda: power_ttest(0.5, None, 0.8),
    "ttest_curve": lambda: power_ttest(np.array([0.2, 0.5]), np.array([[3], [10]])),
    "paired": lambda: power_paired(None, 5, 0.8, rho=0.4),
    "proportions": lambda: power_proportions(0.02, 2000, baseline=0.8),
    "mcnemar": lambda: power_mcnemar(0.02, None, 0.8, discordance=0.1, method="exact"),
    "meta": lambda: power_meta(0.3, np.array([5, 10]), 3, sd=1.0, tau2=0.02),
    "meta_experiment": lambda: power_meta_experiment(0.2, 100, baseline=0.3),
    "boundaries": lambda: spending_boundaries([0.5, 0.75, 1.0]),
    "confseq": lambda: confidence_sequence([0.2, 0.5, -0.1, 0.4], sd=1.0, optimize_at=10),
    "assignment": lambda: assign_arms(["a", "b", "c"], salt="s"),
    "meta_experiment_analysis": lambda: analyze_meta_experiment(
        pd.DataFrame(
            {"arm": ["control"] * 5 + ["treatment"] * 5, "outcome": [0, 1, 0, 0, 0, 1, 1, 1, 0, 1]}
        )
    ),
    "plan": lambda: recommend_design(_pilot(), baseline="b", candidate="c", min_effect=0.5),
}


@pytest.mark.parametrize("name", list(RESULTS))
def test_result_contract(name: str) -> None:
    result = RESULTS[name]()
    text = repr(result)
    assert "\n" not in text and text.startswith("<") and text.endswith(">")
    summary = result.summary()
    assert isinstance(summary, Summary)
    assert str(summary) and summary.to_markdown() and summary._repr_html_()
    assert isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame()) > 0
    payload = json.dumps(result.to_dict(), allow_nan=False)
    assert json.loads(payload)
    with pytest.raises(AttributeError):
        result.alpha = 0.5  # type: ignore[misc]  # frozen
