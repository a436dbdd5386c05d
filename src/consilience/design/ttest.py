"""Power of t tests over seeds: two independent arms, or paired seeds with correlation rho.

Most ML comparisons run 3-5 seeds per arm. These functions say what such a comparison can
detect, or how many seeds a claimed gain needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from consilience._results import Provenance, input_hash
from consilience.design._common import (
    Alternative,
    FloatArray,
    as_grid,
    check_alternative,
    check_positive,
    check_probability,
    one_unknown,
    scalar_or_array,
    solve_design,
)
from consilience.design.result import PowerResult
from consilience.errors import InputError

__all__ = ["power_paired", "power_ttest", "t_power"]


def t_power(
    effect_size: FloatArray,
    nobs: FloatArray,
    df: FloatArray,
    alpha: float,
    alternative: Alternative,
) -> FloatArray:
    """Power of a t test whose statistic is noncentral t(df, effect_size * sqrt(nobs)).

    Validated against: statsmodels 0.15 ``ttest_power`` (through the callers' tests).
    """
    ncp = np.asarray(effect_size, dtype=float) * np.sqrt(nobs)
    df = np.asarray(df, dtype=float)
    out = np.zeros(np.broadcast(ncp, df).shape)
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    crit = stats.t.isf(a, df)
    if alternative in ("two-sided", "larger"):
        out = out + stats.nct.sf(crit, df, ncp)
    if alternative in ("two-sided", "smaller"):
        # P(T <= -crit | ncp) = P(T >= crit | -ncp): scipy's lower tail returns NaN for some
        # large noncentralities, its upper tail does not
        out = out + stats.nct.sf(crit, df, -ncp)
    return np.asarray(out, dtype=float)


def _inputs(
    effect: Any, n: Any, power: Any, n_low: float
) -> tuple[str, FloatArray | None, FloatArray | None, FloatArray | None]:
    unknown = one_unknown({"effect": effect, "n": n, "power": power})
    eff = (
        None
        if effect is None
        else as_grid("effect", effect, low=-np.inf, hint="Pass a finite difference in means.")
    )
    nn = (
        None
        if n is None
        else as_grid(
            "n",
            n,
            low=n_low,
            hint=f"The t test needs at least 1 degree of freedom: n >= {n_low:g} here. Run more seeds.",
            low_open=False,
        )
    )
    pw = (
        None
        if power is None
        else as_grid("power", power, low=0.0, high=1.0, hint="Pass e.g. power=0.8.")
    )
    return unknown, eff, nn, pw


def power_ttest(
    effect: Any = None,
    n: Any = None,
    power: Any = None,
    *,
    sd: float = 1.0,
    ratio: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Power of the two-sample (pooled-variance) t test comparing two arms of independent seeds.

    Exactly one of ``effect``, ``n`` and ``power`` is None; it is solved for. Any of the others
    may be an array: the result is then a power curve over the broadcast grid.

    Parameters
    ----------
    effect : float, array or None
        Difference in mean metric between the arms (candidate - baseline), in metric units.
    n : float, array or None
        Seeds in the first arm; the second arm has ``n * ratio``.
    power : float, array or None
        Target power in (alpha, 1).
    sd : float
        Seed-to-seed standard deviation of the metric within an arm (the same in both arms).
    ratio : float
        Seeds in the second arm per seed in the first.
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests candidate > baseline.

    Returns
    -------
    PowerResult
        ``effect`` (metric units), ``effect_size`` (Cohen's d = effect / sd), ``n`` (seeds in the
        first arm, continuous when solved), ``n_required`` (its ceiling), ``k``/``k_required``
        (NaN), ``power``, ``alpha``, ``alternative``, ``parameters`` (sd, ratio), ``provenance``.

    Notes
    -----
    With :math:`n_1 = n`, :math:`n_2 = rn`, :math:`d = \\delta/\\sigma`, the statistic is
    noncentral :math:`t` with :math:`\\nu = n_1 + n_2 - 2` degrees of freedom and noncentrality
    :math:`d\\sqrt{n_1 n_2/(n_1+n_2)}`; the two-sided power counts both rejection tails.
    Solutions come from bisection on all grid points at once (relative precision ~1e-15).

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 2.

    Validated against: statsmodels 0.15 ``TTestIndPower().power`` and ``.solve_power``.
    """
    alt = check_alternative(alternative)
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    s = check_positive("sd", sd, hint="Pass the seed-to-seed standard deviation of the metric.")
    r = check_positive("ratio", ratio, hint="Pass seeds in the second arm per seed in the first.")
    n_low = 3.0 / (1.0 + r)
    unknown, eff, nn, pw = _inputs(effect, n, power, n_low)

    def fn(d: FloatArray, n1: FloatArray) -> FloatArray:
        nobs = 1.0 / (1.0 / n1 + 1.0 / (n1 * r))
        return t_power(d, nobs, n1 * (1.0 + r) - 2.0, a, alt)

    d, n_out, p_out = solve_design(
        unknown,
        fn,
        effect_size=None if eff is None else eff / s,
        n=nn,
        power=pw,
        alpha=a,
        alternative=alt,
        n_low=n_low,
        n_what="seeds per arm",
    )
    return _result(
        "ttest", unknown, d * s, d, n_out, p_out, a, alt, {"sd": s, "ratio": r}, effect, n, power
    )


def power_paired(
    effect: Any = None,
    n: Any = None,
    power: Any = None,
    *,
    sd: float = 1.0,
    rho: float = 0.0,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Power of the paired t test over seeds shared by both arms (same seed, same data order).

    Exactly one of ``effect``, ``n`` and ``power`` is None; it is solved for.

    Parameters
    ----------
    effect : float, array or None
        Mean difference candidate - baseline, in metric units.
    n : float, array or None
        Number of seed pairs.
    power : float, array or None
        Target power in (alpha, 1).
    sd : float
        Seed-to-seed standard deviation of the metric within one arm.
    rho : float
        Correlation between the two arms' results on the same seed, in [-1, 1).
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests candidate > baseline.

    Returns
    -------
    PowerResult
        ``effect`` (metric units), ``effect_size`` (d_z, on the difference scale), ``n`` (pairs),
        ``n_required``, ``k``/``k_required`` (NaN), ``power``, ``alpha``, ``alternative``,
        ``parameters`` (sd, rho, sd_diff), ``provenance``.

    Notes
    -----
    The differences have standard deviation :math:`\\sigma_d = \\sigma\\sqrt{2(1-\\rho)}`, so
    :math:`d_z = \\delta/\\sigma_d`; the statistic is noncentral :math:`t` with :math:`n-1`
    degrees of freedom and noncentrality :math:`d_z\\sqrt{n}`. A positive correlation between
    arms (shared seeds, data order, initialisation) shrinks :math:`\\sigma_d` and the seeds needed.

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., sec. 2.3.6.

    Validated against: statsmodels 0.15 ``TTestPower().power`` and ``.solve_power`` with
    ``effect_size = d_z``.
    """
    alt = check_alternative(alternative)
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    s = check_positive("sd", sd, hint="Pass the seed-to-seed standard deviation of the metric.")
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.integer, np.floating)):
        raise TypeError(f"The 'rho' parameter must be a number in [-1, 1). Got {rho!r} instead.")
    if not (-1.0 <= float(rho) < 1.0):
        raise InputError(
            f"The 'rho' parameter must lie in [-1, 1). Got {rho!r} instead. rho = 1 means the arms never "
            f"differ by seed; estimate rho from paired pilot runs."
        )
    sd_diff = s * float(np.sqrt(2.0 * (1.0 - float(rho))))
    unknown, eff, nn, pw = _inputs(effect, n, power, 2.0)

    def fn(dz: FloatArray, npairs: FloatArray) -> FloatArray:
        return t_power(dz, npairs, npairs - 1.0, a, alt)

    dz, n_out, p_out = solve_design(
        unknown,
        fn,
        effect_size=None if eff is None else eff / sd_diff,
        n=nn,
        power=pw,
        alpha=a,
        alternative=alt,
        n_low=2.0,
        n_what="seed pairs",
    )
    return _result(
        "paired",
        unknown,
        dz * sd_diff,
        dz,
        n_out,
        p_out,
        a,
        alt,
        {"sd": s, "rho": float(rho), "sd_diff": sd_diff},
        effect,
        n,
        power,
    )


def _result(
    test: str,
    unknown: str,
    effect: FloatArray,
    es: FloatArray,
    n: FloatArray,
    power: FloatArray,
    alpha: float,
    alt: str,
    params: dict[str, Any],
    *raw: Any,
) -> PowerResult:
    nan = np.full(np.shape(n), np.nan)
    return PowerResult(
        test=test,
        solved_for=unknown,
        effect=scalar_or_array(np.asarray(effect, dtype=float)),
        effect_size=scalar_or_array(np.asarray(es, dtype=float)),
        n=scalar_or_array(np.asarray(n, dtype=float)),
        n_required=scalar_or_array(np.ceil(np.asarray(n, dtype=float) - 1e-9)),
        k=scalar_or_array(nan),
        k_required=scalar_or_array(nan),
        power=scalar_or_array(np.asarray(power, dtype=float)),
        alpha=alpha,
        alternative=alt,
        parameters=params,
        provenance=Provenance(
            method={"ttest": "two-sample t test", "paired": "paired t test"}[test]
            + " power (noncentral t)",
            k=0,
            options={**params, "alpha": alpha, "alternative": alt, "solved_for": unknown},
            input_hash=input_hash(*[np.nan if v is None else v for v in raw]),
        ),
    )
