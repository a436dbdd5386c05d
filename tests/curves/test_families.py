"""The family registry: completeness, broadcasting, bounds and starting points."""

from __future__ import annotations

import numpy as np
import pytest

from consilience.curves import FAMILIES, FAMILY_NAMES, get_family
from consilience.errors import InputError

from .conftest import ANCHORS, TRUE_PARAMS, true_error

LITERATURE = {"last1", "pow2", "pow3", "pow4", "exp3", "exp4", "log2", "vap3", "mmf4", "wbl4", "ilog2",
              "janoschek"}


def test_registry_holds_the_lcdb_families_with_last_value_first() -> None:
    assert set(FAMILY_NAMES) == LITERATURE
    assert FAMILY_NAMES[0] == "last1"
    assert not FAMILIES["last1"].fitted
    assert all(FAMILIES[n].fitted for n in FAMILY_NAMES[1:])


@pytest.mark.parametrize("name", sorted(TRUE_PARAMS))
def test_evaluate_broadcasts_over_parameter_rows(name: str) -> None:
    fam = FAMILIES[name]
    theta = np.asarray(TRUE_PARAMS[name])
    stacked = np.vstack([theta, theta * 1.01, theta])
    out = fam.evaluate(ANCHORS, stacked, ANCHORS[-1])
    assert out.shape == (3, ANCHORS.size)
    np.testing.assert_allclose(out[0], fam.evaluate(ANCHORS, theta, ANCHORS[-1]))
    np.testing.assert_allclose(out[0], out[2])


@pytest.mark.parametrize("name", sorted(TRUE_PARAMS))
def test_simulated_curves_fall_and_stay_positive(name: str) -> None:
    err = true_error(name, ANCHORS)
    assert np.all(err > 0)
    assert np.all(np.diff(err) < 0)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_starting_points_lie_inside_the_bounds(name: str) -> None:
    fam = FAMILIES[name]
    err = true_error("pow3", ANCHORS)
    lo, hi = (np.asarray(b) for b in fam.bounds(err))
    starts = fam.starts(ANCHORS / ANCHORS[-1], ANCHORS, err)
    assert starts, "every family proposes at least one start"
    for s in starts:
        assert len(s) == fam.n_params
        assert np.all(np.isfinite(s))
        assert np.all((np.asarray(s) >= lo) & (np.asarray(s) <= hi)), (name, s, lo, hi)


def test_true_parameters_respect_the_bounds() -> None:
    for name, theta in TRUE_PARAMS.items():
        fam = FAMILIES[name]
        lo, hi = (np.asarray(b) for b in fam.bounds(true_error(name, ANCHORS)))
        assert np.all((np.asarray(theta) >= lo) & (np.asarray(theta) <= hi)), name


def test_janoschek_is_wbl4_reparametrised() -> None:
    # a + (b - a) exp(-c u^d) == c' + b' exp(-a' u^d) with c' = a, b' = b - a, a' = c.
    jan = np.array([0.08, 0.5, 10.0, 0.6])
    wbl = np.array([0.08, 0.42, 10.0, 0.6])
    np.testing.assert_allclose(FAMILIES["janoschek"].evaluate(ANCHORS, jan, 100.0),
                               FAMILIES["wbl4"].evaluate(ANCHORS, wbl, 100.0), rtol=1e-12)


def test_get_family_is_case_insensitive_and_names_the_options() -> None:
    assert get_family("POW4").name == "pow4"
    with pytest.raises(InputError, match="'family' parameter must be one of"):
        get_family("pow5")
    assert "pow4" in repr(get_family("pow4"))
