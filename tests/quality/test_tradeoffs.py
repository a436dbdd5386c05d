"""Trade-offs over several metrics: margins, statuses, decisions and the Pareto front."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.compare import MetricSpec, load_lcdb_example
from consilience.errors import DataDroppedWarning, InputError
from consilience.quality import parse_margin, tradeoffs
from consilience.quality.tradeoffs import CANDIDATE_COLUMNS, TRADEOFF_COLUMNS, plan_metrics

RTOL = 1e-6
HIGHER = MetricSpec("higher", "proportion")
LOWER = MetricSpec("lower", "continuous")


@pytest.mark.parametrize(
    "text, spec, kind, bound",
    [("+5%", LOWER, "relative", -math.log(1.05)), ("5%", LOWER, "relative", -math.log(1.05)),
     ("-1%", HIGHER, "relative", math.log(0.99)), ("0.002", HIGHER, "absolute", -0.002),
     (0.002, HIGHER, "absolute", -0.002), ("-0.002", HIGHER, "absolute", -0.002),
     ("+3", LOWER, "absolute", -3.0), ("0", LOWER, "absolute", 0.0)],
)
def test_margins_read_on_the_effect_scale(text: str | float, spec: MetricSpec, kind: str,
                                          bound: float) -> None:
    m = parse_margin(text, metric="m", spec=spec)
    assert m.kind == kind and m.bound(spec) == pytest.approx(bound, rel=1e-12, abs=0)


def test_margins_pointing_the_good_way_are_refused() -> None:
    with pytest.raises(InputError, match="points the way the metric improves"):
        parse_margin("-5%", metric="latency_ms", spec=LOWER)
    with pytest.raises(InputError, match="points the way the metric improves"):
        parse_margin("+0.01", metric="accuracy", spec=HIGHER)
    with pytest.raises(InputError, match="a number or a percentage"):
        parse_margin("five", metric="accuracy", spec=HIGHER)
    with pytest.raises(InputError, match="below 100%"):
        parse_margin("100%", metric="accuracy", spec=HIGHER)


def test_measures_follow_the_margins_and_the_units() -> None:
    values = {"accuracy": np.array([0.8, 0.9]), "train_time_s": np.array([1.0, 2.0]),
              "loss_delta": np.array([-1.0, 1.0])}
    plans = plan_metrics(["accuracy", "train_time_s"], values=values,
                         margins={"train_time_s": "+5%"})
    assert [(p.role, p.spec.direction, p.measure) for p in plans] == [
        ("primary", "higher", "MD"), ("secondary", "lower", "ROM")]
    absolute = plan_metrics(["accuracy", "train_time_s"], values=values,
                            margins={"train_time_s": 0.5})
    assert absolute[1].measure == "MD" and absolute[1].bound == -0.5
    with pytest.raises(InputError, match="takes no margin"):
        plan_metrics(["accuracy"], values=values, margins={"accuracy": "1%"})
    with pytest.raises(InputError, match="conflicts with its relative margin"):
        plan_metrics(["accuracy", "train_time_s"], values=values,
                     margins={"train_time_s": "+5%"}, measures={"train_time_s": "MD"})
    with pytest.raises(InputError, match="has no known direction"):
        plan_metrics(["accuracy", "bleu"], values=values)
    with pytest.raises(InputError, match="values <= 0"):
        plan_metrics(["accuracy", "loss_delta"], values=values, margins={"loss_delta": "+5%"},
                     metric_specs={"loss_delta": LOWER})


def _synthetic() -> pd.DataFrame:
    """Four arms on 8 tasks x 3 paired seeds; effects built in, small noise."""
    rng = np.random.default_rng(7)
    arms = {"base": (0.0, 1.0), "fast_better": (0.03, 0.80), "slow_better": (0.02, 2.0),
            "worse": (-0.03, 1.2)}
    rows = []
    for t in range(8):
        acc0, time0 = 0.6 + 0.03 * t, 10.0 * (t + 1)
        for s in range(3):
            noise = rng.normal(0, 0.002)
            for arm, (gain, ratio) in arms.items():
                rows.append({"arm": arm, "task": f"t{t}", "seed": s, "metric": "accuracy",
                             "value": acc0 + gain + noise + rng.normal(0, 0.002)})
                rows.append({"arm": arm, "task": f"t{t}", "seed": s, "metric": "latency_ms",
                             "value": time0 * ratio * math.exp(rng.normal(0, 0.01))})
    return pd.DataFrame(rows)


def test_decisions_and_the_pareto_front_on_built_in_effects() -> None:
    res = tradeoffs(_synthetic(), baseline="base", metrics=["accuracy", "latency_ms"],
                    margins={"latency_ms": "+5%"})
    assert list(res.table.columns) == list(TRADEOFF_COLUMNS)
    assert list(res.candidates.columns) == list(CANDIDATE_COLUMNS)
    status = res.table.set_index(["candidate", "metric"])["status"]
    assert status[("fast_better", "accuracy")] == "improved"
    assert status[("fast_better", "latency_ms")] == "improved"
    assert status[("slow_better", "latency_ms")] == "regression"
    assert status[("worse", "accuracy")] == "worse"
    ratio = res.table.set_index(["candidate", "metric"]).loc[("slow_better", "latency_ms")]
    assert ratio["ratio"] == pytest.approx(2.0, rel=0.02)
    assert ratio["ratio_low"] < ratio["ratio"] < ratio["ratio_high"]
    cand = res.candidates.set_index("candidate")
    assert cand["acceptable"].to_dict() == {"fast_better": True, "slow_better": False,
                                            "worse": False}
    assert cand["pareto"].to_dict() == {"fast_better": True, "slow_better": False,
                                        "worse": False}
    assert set(cand.loc["slow_better", "dominated_by"].split(",")) == {"fast_better"}
    assert {"fast_better", "baseline"} <= set(cand.loc["worse", "dominated_by"].split(","))
    assert "credible regression on latency_ms (beyond +5%)" in cand.loc["slow_better",
                                                                        "decision"]
    assert res.to_dict()["metrics"][1]["measure"] == "ROM"
    assert "acceptable=['fast_better']" in repr(res)


def test_a_wide_margin_turns_a_regression_into_non_inferiority() -> None:
    res = tradeoffs(_synthetic(), baseline="base", metrics=["accuracy", "latency_ms"],
                    candidates=["slow_better"], margins={"latency_ms": "+150%"})
    row = res.table.set_index("metric").loc["latency_ms"]
    assert row["status"] == "non-inferior" and row["bound"] == pytest.approx(-math.log(2.5))
    assert bool(res.candidates["acceptable"].iloc[0])


def test_lcdb_random_forest_matches_metafor(reference: dict) -> None:
    lcdb = load_lcdb_example()
    lr, rf = "LogisticRegression", "RandomForestClassifier"
    sub = lcdb.loc[lcdb["arm"].isin([lr, rf])]
    shared = set(sub.loc[sub["arm"] == lr, "task"]) & set(sub.loc[sub["arm"] == rf, "task"])
    sub = sub.loc[sub["task"].isin(shared)]
    long = pd.concat([sub.assign(metric="accuracy"),
                      sub.assign(metric="train_time_s", value=sub["train_time_s"])])
    long = long.drop(columns="train_time_s")
    res = tradeoffs(long, baseline=lr, metrics=["accuracy", "train_time_s"],
                    margins={"train_time_s": "+5%"})
    table = res.table.set_index("metric")
    for metric, ref in (("accuracy", reference["rf_accuracy"]),
                        ("train_time_s", reference["rf_train_time"])):
        row = table.loc[metric]
        assert row["k"] == ref["k"]
        assert_allclose([row[k] for k in ("estimate", "se", "ci_low", "ci_high", "tau2")],
                        [ref[k] for k in ("estimate", "se", "ci_lb", "ci_ub", "tau2")],
                        rtol=RTOL)
    ref = reference["rf_train_time"]
    row = table.loc["train_time_s"]
    assert_allclose([row["ratio"], row["ratio_low"], row["ratio_high"], row["bound"]],
                    [ref["ratio"], ref["ratio_lb"], ref["ratio_ub"], ref["margin_bound"]],
                    rtol=RTOL)
    assert row["status"] == "regression"


def test_dropped_tasks_are_counted_in_one_warning() -> None:
    runs = _synthetic()
    runs = runs.loc[~((runs["arm"] == "worse") & (runs["task"] == "t0"))]
    with pytest.warns(DataDroppedWarning, match=r"2 comparison\(s\) left data out: worse"):
        res = tradeoffs(runs, baseline="base", metrics=["accuracy", "latency_ms"])
    assert res.table.set_index(["candidate", "metric"]).loc[("worse", "accuracy"), "k"] == 7
    assert len(res.provenance.warnings) == 2


def test_bad_arms_are_refused() -> None:
    runs = _synthetic()
    with pytest.raises(InputError, match="is not an arm.*Pass one of them as the baseline"):
        tradeoffs(runs, baseline="nope", metrics=["accuracy"])
    with pytest.raises(InputError, match="no 'arm' column.*Pass a tidy runs table"):
        tradeoffs(runs.drop(columns="arm"), baseline="base", metrics=["accuracy"])
    with pytest.raises(InputError, match="candidates must be arms"):
        tradeoffs(runs, baseline="base", metrics=["accuracy"], candidates=["base"])
