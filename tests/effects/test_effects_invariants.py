"""Invariants of the effect-size measures: symmetry, vectorisation, the exact correction."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from consilience.effects import effect_sizes, hedges_correction

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "metafor_escalc"

counts = st.integers(min_value=0, max_value=60)
positive = st.floats(min_value=0.05, max_value=50, allow_nan=False)
means = st.floats(min_value=-20, max_value=20, allow_nan=False)
sizes = st.integers(min_value=2, max_value=500)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=6))
def test_swapping_groups_flips_binary_effects(tables: list[tuple[int, int, int, int]]) -> None:
    ai, bi, ci, di = (np.array(c, dtype=float) for c in zip(*tables))
    for measure in ("RD", "RR", "OR"):
        forward = effect_sizes(measure, ai=ai, bi=bi, ci=ci, di=di)
        swapped = effect_sizes(measure, ai=ci, bi=di, ci=ai, di=bi)
        assert_allclose(swapped["yi"], -forward["yi"], rtol=1e-12, atol=1e-15)
        assert_allclose(swapped["vi"], forward["vi"], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(means, positive, sizes, means, positive, sizes), min_size=1, max_size=6))
def test_swapping_groups_flips_mean_differences(rows: list[tuple[float, ...]]) -> None:
    m1, s1, n1, m2, s2, n2 = (np.array(c, dtype=float) for c in zip(*rows))
    for measure in ("MD", "SMD"):
        forward = effect_sizes(measure, m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2)
        swapped = effect_sizes(measure, m1i=m2, sd1i=s2, n1i=n2, m2i=m1, sd2i=s1, n2i=n1)
        assert_allclose(swapped["yi"], -forward["yi"], rtol=1e-12, atol=1e-12)
        assert_allclose(swapped["vi"], forward["vi"], rtol=1e-12)
    forward = effect_sizes(
        "ROM", m1i=np.abs(m1) + 1, sd1i=s1, n1i=n1, m2i=np.abs(m2) + 1, sd2i=s2, n2i=n2
    )
    swapped = effect_sizes(
        "ROM", m1i=np.abs(m2) + 1, sd1i=s2, n1i=n2, m2i=np.abs(m1) + 1, sd2i=s1, n2i=n1
    )
    assert_allclose(swapped["yi"], -forward["yi"], rtol=1e-12, atol=1e-15)
    assert_allclose(swapped["vi"], forward["vi"], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            means, means, positive, positive, sizes, st.floats(min_value=-0.95, max_value=0.95)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_swapping_measurements_flips_paired_effects(rows: list[tuple[float, ...]]) -> None:
    m1, m2, s1, s2, n, r = (np.array(c, dtype=float) for c in zip(*rows))
    for measure in ("MC", "SMCC"):
        forward = effect_sizes(measure, m1i=m1, m2i=m2, sd1i=s1, sd2i=s2, ni=n, ri=r)
        swapped = effect_sizes(measure, m1i=m2, m2i=m1, sd1i=s2, sd2i=s1, ni=n, ri=r)
        assert_allclose(swapped["yi"], -forward["yi"], rtol=1e-12, atol=1e-12)
        assert_allclose(swapped["vi"], forward["vi"], rtol=1e-12)


def test_complementary_proportion_flips_logit() -> None:
    xi = np.array([0, 3, 10, 20])
    ni = np.array([20, 20, 20, 20])
    forward = effect_sizes("PLO", xi=xi, ni=ni)
    complement = effect_sizes("PLO", xi=ni - xi, ni=ni)
    assert_allclose(complement["yi"], -forward["yi"], rtol=1e-12)
    assert_allclose(complement["vi"], forward["vi"], rtol=1e-12)
    pr = effect_sizes("PR", xi=xi, ni=ni)
    assert_allclose(effect_sizes("PR", xi=ni - xi, ni=ni)["yi"], 1 - pr["yi"], rtol=1e-12)


def test_negated_correlation_flips_fisher_z() -> None:
    ri = np.array([-0.99, -0.3, 0.0, 0.45, 0.999])
    forward = effect_sizes("ZCOR", ri=ri, ni=40)
    assert_allclose(effect_sizes("ZCOR", ri=-ri, ni=40)["yi"], -forward["yi"], rtol=1e-12, atol=0)
    assert_allclose(forward["yi"], np.arctanh(ri), rtol=1e-12)


def _reference_cases() -> list[dict[str, Any]]:
    cases = json.loads((REFERENCE / "escalc_reference.json").read_text())["cases"]
    # if0all depends on the other studies by design
    return [c for c in cases if (c.get("options") or {}).get("to") != "if0all"]


@pytest.mark.parametrize("case", _reference_cases(), ids=lambda c: c["id"])
def test_vectorised_result_equals_row_by_row(case: dict[str, Any]) -> None:
    data = pd.DataFrame(
        {k: [np.nan if v is None else v for v in vals] for k, vals in case["input"].items()}
    )
    options = case.get("options") or {}
    whole = effect_sizes(case["measure"], data=data, **case["columns"], **options)
    rows = [
        effect_sizes(case["measure"], data=data.iloc[[i]], **case["columns"], **options)
        for i in range(len(data))
    ]
    assert_allclose(
        pd.concat(rows)[["yi", "vi"]].to_numpy(), whole[["yi", "vi"]].to_numpy(), rtol=0, atol=0
    )


def test_permuting_studies_permutes_results() -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {"ai": rng.integers(0, 20, 12), "n1i": 25, "ci": rng.integers(0, 20, 12), "n2i": 30}
    )
    order = rng.permutation(12)
    whole = effect_sizes("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=data)
    permuted = effect_sizes("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=data.iloc[order])
    assert_allclose(permuted[["yi", "vi"]].to_numpy(), whole[["yi", "vi"]].to_numpy()[order])


def test_hedges_correction_equals_gamma_ratio() -> None:
    m = np.arange(2, 60, dtype=float)
    expected = [math.gamma(k / 2) / (math.sqrt(k / 2) * math.gamma((k - 1) / 2)) for k in m]
    assert_allclose(hedges_correction(m), expected, rtol=1e-12)


def test_hedges_correction_is_undefined_below_two_and_tends_to_one() -> None:
    assert np.isnan(hedges_correction(np.array([-1.0, 0.0, 1.0]))).all()
    m = np.array([1e5, 1e6, 1e9, 1e12])
    # asymptotic expansion c(m) = 1 - 3/(4m) - 7/(32m^2) + O(m^-3)
    assert_allclose(hedges_correction(m), 1 - 3 / (4 * m) - 7 / (32 * m**2), rtol=1e-14)


def test_smd_with_tiny_differences_matches_md_over_pooled_sd_times_correction() -> None:
    out = effect_sizes("SMD", m1i=[0.80], sd1i=[0.02], n1i=[5], m2i=[0.78], sd2i=[0.02], n2i=[5])
    correction = math.gamma(4) / (math.sqrt(4) * math.gamma(3.5))  # c(m) at m = 5 + 5 - 2
    assert_allclose(out["yi"], correction * (0.80 - 0.78) / 0.02, rtol=1e-12)
    assert_allclose(out["vi"], 1 / 5 + 1 / 5 + out["yi"] ** 2 / 20, rtol=1e-12)
