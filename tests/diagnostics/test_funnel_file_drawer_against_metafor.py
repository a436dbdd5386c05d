"""Funnel-plot numbers and the file-drawer contrast against metafor 3.8-1."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import pytest
from tests.diagnostics._helpers import close, diag_names, fit, load_diag

from consilience.diagnostics import file_drawer, funnel_data, trim_and_fill
from consilience.errors import ConvergenceWarning

FUNNELS = [n for n in diag_names() if "funnel" in load_diag(n)]
# metafor call -> (levels, add_tau2, from trim-and-fill, centred on 0)
CALLS: dict[str, tuple[tuple[float, ...], bool, bool, bool]] = {
    "default": ((95,), False, False, False),
    "contour": ((90, 95, 99), False, False, True),
    "addtau2": ((0.90, 0.95), True, False, False),
    "trimfill": ((0.95,), False, True, False),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("name", FUNNELS)
def test_funnel_lines_points_and_limits_match_metafor(name: str, call: str) -> None:
    ref = load_diag(name)
    exp = ref["funnel"][call]
    levels, add_tau2, from_tf, centred_on_zero = CALLS[call]
    res = fit(ref["input"]["yi"], ref["input"]["vi"])
    source: Any = trim_and_fill(res) if from_tf else res
    n = len(exp["polygons"][0]["y"]) // 2
    fd = funnel_data(source, levels, add_tau2=add_tau2, n_points=n)
    close(fd.yi, exp["x"])
    close(fd.sei, exp["y"])
    close(fd.contour_xlim if centred_on_zero else fd.xlim, exp["xlim"])
    close(fd.ylim, exp["ylim"])
    low, high = (fd.contour_low, fd.contour_high) if centred_on_zero else (fd.region_low, fd.region_high)
    # metafor draws the widest region first; each polygon runs down the left line and up the right one
    for j, poly in enumerate(reversed(exp["polygons"])):
        close(np.r_[low[j][::-1], high[j]], poly["x"])
        close(np.r_[fd.se_grid[::-1], fd.se_grid], poly["y"])
    assert fd.filled.sum() == (source.k0 if from_tf else 0)


def _drawer_cases() -> list[tuple[str, str]]:
    return [(name, key) for name in diag_names() for key in load_diag(name).get("file_drawer", {})]


@pytest.mark.parametrize(("name", "key"), _drawer_cases())
def test_file_drawer_matches_metafor_subgroup_fits(name: str, key: str) -> None:
    ref = load_diag(name)
    exp = ref["file_drawer"][key]
    method, test = key.split("_")
    # a REML sub-fit of lau1992 hits metafor's tau² = 0 boundary rule; the fit's warning reaches the caller
    expect: AbstractContextManager[Any] = (
        pytest.warns(ConvergenceWarning, match="tau² set to 0") if (name, method) == ("lau1992_rd", "REML")
        else nullcontext()
    )
    with expect:
        res = file_drawer(ref["input"]["yi"], ref["input"]["vi"], exp["reported"],
                          method=method, test=test)  # type: ignore[arg-type]
    c = exp["contrast"]
    close([res.difference, res.se, res.statistic, res.p_value, res.df, res.ci_low, res.ci_high, res.tau2],
          [c["estimate"], c["se"], c["stat"], c["pval"], c["ddf"], c["ci_lb"], c["ci_ub"], c["tau2"]])
    for ours, theirs in (("all", "all"), ("reported", "reported_fit"), ("unreported", "unreported_fit")):
        sub = getattr(res, ours)
        close([sub.estimate, sub.se, sub.ci_low, sub.ci_high, sub.tau2, sub.k],
              [exp[theirs][k] for k in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "k")])
    close(res.inflation, exp["reported_fit"]["estimate"] - exp["all"]["estimate"])
    assert res.k_reported == sum(exp["reported"])
