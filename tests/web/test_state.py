"""The dashboard's metric list and default metric, counted by the database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.web.conftest import seed_small_registry


def test_metrics_and_default_metric_follow_the_complete_runs(tmp_path: Path) -> None:
    from consilience.registry import Registry
    from consilience.report.document import default_metric, metric_counts
    from consilience.web.state import Dashboard

    url = str(tmp_path / "metrics.db")
    seed_small_registry(url)
    rows = [{"experiment": "cand", "arm": arm, "task": "t", "seed": seed, "metric": metric,
             "value": 0.5} for metric in ("zeta", "beta") for arm in ("baseline", "candidate")
            for seed in range(100)]
    with Registry(url) as reg:
        reg.import_runs(pd.DataFrame(rows), origin="tie")
        runs = reg.runs(status="complete")
        assert metric_counts(reg) == runs["metric"].value_counts().to_dict()
        d = Dashboard(reg)
        assert d.metrics() == sorted(set(runs["metric"]))
        # two metrics tie for the most complete runs: the first by name wins
        assert default_metric(reg) == "beta" and d.default_metric() == "beta"
        assert Dashboard(reg, metric="zeta").default_metric() == "zeta"
