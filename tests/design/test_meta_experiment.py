"""Hash assignment against R digest; meta-experiment analysis against statsmodels and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.design import analyze_meta_experiment, assign_arms
from consilience.design.assignment import hash_bucket
from consilience.errors import DataDroppedWarning, InputError

from ._refs import load

BUCKETS = load("digest_sha256", "assignment_buckets.json")["rows"]
PROPS = load("statsmodels_proportions", "two_proportions.json")["rows"]


def test_hash_bucket_matches_r_digest_sha256() -> None:
    for r in BUCKETS:
        assert_allclose(
            hash_bucket(r["experiment"], salt=r["salt"]), r["bucket"], rtol=1e-14, atol=1e-15
        )


def test_assignment_is_stable_and_follows_the_buckets() -> None:
    rows = [r for r in BUCKETS if r["salt"] == "protocol-2024" and r["experiment"]]
    ids = [r["experiment"] for r in rows]
    first = assign_arms(ids, salt="protocol-2024")
    again = assign_arms(list(reversed(ids)), salt="protocol-2024")
    assert dict(zip(first.experiment, first.arm)) == dict(zip(again.experiment, again.arm))
    assert list(first.arm) == ["control" if r["bucket"] < 0.5 else "treatment" for r in rows]
    weighted = assign_arms(ids, salt="protocol-2024", arms=("a", "b", "c"), weights=(1, 1, 2))
    expected = ["a" if r["bucket"] < 0.25 else "b" if r["bucket"] < 0.5 else "c" for r in rows]
    assert list(weighted.arm) == expected
    assert sum(weighted.counts.values()) == len(ids)


def test_salt_rerandomises_and_shares_are_close_to_weights() -> None:
    ids = [f"exp-{i}" for i in range(4000)]
    a = assign_arms(ids, salt="one", weights=(0.7, 0.3))
    b = assign_arms(ids, salt="two", weights=(0.7, 0.3))
    share = a.counts["treatment"] / len(ids)
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(ids))
    assert (
        0.3 < np.mean(np.array(a.arm) != np.array(b.arm)) < 0.5
    )  # independent re-draw: 2 * 0.7 * 0.3


def _frame(xt: int, nt: int, xc: int, nc: int) -> pd.DataFrame:
    arm = ["treatment"] * nt + ["control"] * nc
    y = [1] * xt + [0] * (nt - xt) + [1] * xc + [0] * (nc - xc)
    return pd.DataFrame({"arm": arm, "replicated": y})


def test_meta_experiment_tests_match_statsmodels_and_scipy() -> None:
    for r in PROPS:
        data = _frame(r["count_treatment"], r["n_treatment"], r["count_control"], r["n_control"])
        res = analyze_meta_experiment(
            data, outcome_col="replicated", level=r["level"], alternative=r["alternative"]
        )
        t = res.tests.set_index("method")
        assert_allclose(
            [t.loc["wald", "ci_low"], t.loc["wald", "ci_high"]],
            r["wald_ci"],
            rtol=1e-10,
            atol=1e-14,
        )
        assert_allclose(
            [t.loc["newcombe", "ci_low"], t.loc["newcombe", "ci_high"]],
            r["newcombe_ci"],
            rtol=1e-10,
            atol=1e-14,
        )
        assert_allclose(t.loc["z_pooled", "statistic"], r["z_pooled"], rtol=1e-10)
        assert_allclose(t.loc["z_pooled", "p_value"], r["z_pooled_p_value"], rtol=1e-10)
        assert_allclose(t.loc["fisher", "p_value"], r["fisher_p_value"], rtol=1e-10)
        assert_allclose(t.loc["fisher", "statistic"], r["fisher_odds_ratio"], rtol=1e-12)
        assert res.estimate == pytest.approx(
            r["count_treatment"] / r["n_treatment"] - r["count_control"] / r["n_control"]
        )


def test_boolean_outcomes_and_explicit_arms() -> None:
    data = _frame(11, 21, 6, 19).assign(
        replicated=lambda d: d["replicated"].astype(bool),
        arm=lambda d: d["arm"].map({"treatment": "new", "control": "old"}),
    )
    res = analyze_meta_experiment(data, outcome_col="replicated", control="old", treatment="new")
    assert (res.count_treatment, res.n_treatment, res.count_control, res.n_control) == (
        11,
        21,
        6,
        19,
    )


def test_missing_outcomes_are_dropped_with_a_count() -> None:
    data = _frame(11, 21, 6, 19).astype({"replicated": float})
    data.loc[[0, 30], "replicated"] = np.nan
    with pytest.warns(DataDroppedWarning, match="2 row"):
        res = analyze_meta_experiment(data, outcome_col="replicated")
    assert res.n_treatment + res.n_control == 38
    assert res.provenance is not None and res.provenance.n_dropped == 2


@pytest.mark.parametrize(
    ("mutate", "kwargs", "match"),
    [
        (lambda d: d.assign(replicated=2), {}, "must be 0/1"),
        (lambda d: d.assign(arm="x"), {}, "exactly two arms"),
        (lambda d: d, {"control": "placebo"}, "'control' must be one of the two arms"),
        (lambda d: d, {"outcome_col": "nope"}, "no column"),
    ],
)
def test_bad_input_is_named(mutate, kwargs: dict, match: str) -> None:  # type: ignore[no-untyped-def]
    data = mutate(_frame(5, 10, 3, 10))
    with pytest.raises(InputError, match=match):
        analyze_meta_experiment(data, **{"outcome_col": "replicated", **kwargs})


def test_assignment_rejects_bad_configuration() -> None:
    with pytest.raises(InputError, match="'salt' must be a non-empty string"):
        assign_arms(["a"], salt="")
    with pytest.raises(InputError, match="'weights' must be 2 positive numbers"):
        assign_arms(["a"], salt="s", weights=(1.0, -1.0))
    with pytest.raises(InputError, match="at least two distinct labels"):
        assign_arms(["a"], salt="s", arms=("x", "x"))
    with pytest.raises(InputError, match="experiment ids must be non-empty"):
        assign_arms(["a", ""], salt="s")
