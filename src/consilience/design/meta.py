"""Power of a random-effects meta-analysis over tasks: how many tasks, how many seeds per task.

Seeds shrink each task's sampling variance; tasks are what average out the between-task
variance tau². With tau² > 0 more seeds cannot buy unlimited power: only more tasks can.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from consilience._results import Provenance, input_hash
from consilience._validation import check_choice
from consilience.design._common import (
    Alternative,
    FloatArray,
    as_grid,
    check_alternative,
    check_positive,
    check_probability,
    normal_tail_power,
    one_unknown,
    scalar_or_array,
    solve_design,
)
from consilience.design.result import PowerResult
from consilience.design.ttest import t_power
from consilience.errors import InputError

__all__ = ["power_meta", "task_variance"]


def task_variance(seeds: Any, *, sd: float, rho: float = 0.0) -> FloatArray:
    """Sampling variance of one task's mean difference: ``2 sd² (1 - rho) / seeds``.

    Validated against: the simulated Knapp-Hartung test in the tests of :func:`power_meta`.
    """
    return np.asarray(2.0 * sd**2 * (1.0 - rho) / np.asarray(seeds, dtype=float), dtype=float)


def power_meta(
    effect: Any = None,
    k: Any = None,
    seeds: Any = None,
    power: Any = None,
    *,
    sd: float,
    tau2: float = 0.0,
    rho: float = 0.0,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    test: Literal["z", "knha"] = "knha",
) -> PowerResult:
    """Power of the pooled random-effects test of a mean improvement across ``k`` tasks.

    Exactly one of ``effect``, ``k``, ``seeds`` and ``power`` is None; it is solved for. The
    others may be arrays (broadcast together) for power curves.

    Parameters
    ----------
    effect : float, array or None
        Mean improvement (candidate - baseline) across tasks, in metric units.
    k : float, array or None
        Number of tasks (studies) in the meta-analysis.
    seeds : float, array or None
        Seeds per arm per task.
    power : float, array or None
        Target power in (alpha, 1).
    sd : float
        Seed-to-seed standard deviation of the metric within a task and arm.
    tau2 : float
        Between-task variance of the true improvement (tau²), in squared metric units.
    rho : float
        Correlation between the arms' results on a shared seed (0 for independent seeds).
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests candidate > baseline.
    test : {'z', 'knha'}
        ``z``: Wald test with known variances (Hedges & Pigott 2001). ``knha``: Knapp-Hartung
        t test with ``k - 1`` df; with equal per-task variances its statistic is exactly
        noncentral t, so this power is exact rather than an approximation.

    Returns
    -------
    PowerResult
        ``effect``, ``effect_size`` (effect / sqrt(v + tau2), the improvement in units of the
        total per-task standard deviation), ``n`` (seeds per arm per task), ``n_required``,
        ``k``, ``k_required``, ``power``, ``alpha``, ``alternative``, ``parameters`` (sd,
        tau2, rho, test, vi = per-task sampling variance), ``provenance``.

    Notes
    -----
    Each task's estimated improvement has sampling variance :math:`v = 2\\sigma^2(1-\\rho)/s`
    for :math:`s` seeds per arm, and variance :math:`v + \\tau^2` around the mean effect
    :math:`\\mu`. The pooled estimate has variance :math:`(v + \\tau^2)/k`, so with
    :math:`\\lambda = \\mu\\sqrt{k}/\\sqrt{v + \\tau^2}` the z test has power
    :math:`\\Phi(\\lambda - z_{1-\\alpha/2}) + \\Phi(-\\lambda - z_{1-\\alpha/2})`
    (Hedges & Pigott 2001, eq. 10 with equal variances). For ``knha`` the statistic is
    noncentral :math:`t_{k-1}(\\lambda)`. As :math:`s \\to \\infty`, :math:`\\lambda \\to
    \\mu\\sqrt{k}/\\tau`: a power above that ceiling needs more tasks, not more seeds
    (Jackson & Turner 2017). With :math:`\\tau^2 = 0` and the z test this is the fixed-effect
    z test on all :math:`ks` seeds per arm.

    References
    ----------
    Hedges, L. V. & Pigott, T. D. (2001). The power of statistical tests in meta-analysis.
    *Psychological Methods* 6(3), 203-217.
    Jackson, D. & Turner, R. (2017). Power analysis for random-effects meta-analysis.
    *Research Synthesis Methods* 8(3), 290-302.

    Validated against: statsmodels 0.15 ``NormalIndPower().power`` (z, tau2 = 0, k*seeds seeds
    per arm) and ``TTestPower().power`` (knha, effect_size = effect / sqrt(v + tau2), nobs = k);
    both by simulation.
    """
    alt = check_alternative(alternative)
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    tst = check_choice("test", test, ("z", "knha"))
    s = check_positive("sd", sd, hint="Pass the seed-to-seed standard deviation of the metric.")
    t2 = check_positive(
        "tau2", tau2, allow_zero=True, hint="Pass the between-task variance (0 if none)."
    )
    if (
        isinstance(rho, bool)
        or not isinstance(rho, (int, float, np.integer, np.floating))
        or not (-1 <= rho < 1)
    ):
        raise InputError(
            f"The 'rho' parameter must be a number in [-1, 1). Got {rho!r} instead. Pass 0 for independent seeds."
        )
    r = float(rho)
    unknown = one_unknown({"effect": effect, "k": k, "seeds": seeds, "power": power})
    k_low = 2.0 if tst == "knha" else 1.0
    given: dict[str, FloatArray] = {}
    if effect is not None:
        given["effect"] = as_grid(
            "effect", effect, low=-np.inf, hint="Pass a finite mean improvement."
        )
    if k is not None:
        given["k"] = as_grid(
            "k",
            k,
            low=k_low,
            low_open=False,
            hint="The Knapp-Hartung test needs at least 2 tasks." if tst == "knha" else "",
        )
    if seeds is not None:
        given["seeds"] = as_grid("seeds", seeds, low=0.0, hint="Pass the seeds per arm per task.")
    if power is not None:
        given["power"] = as_grid("power", power, low=0.0, high=1.0, hint="Pass e.g. power=0.8.")
    arrays = dict(zip(given, np.broadcast_arrays(*given.values())))

    def pw(mu: FloatArray, kk: FloatArray, ss: FloatArray) -> FloatArray:
        es = mu / np.sqrt(task_variance(ss, sd=s, rho=r) + t2)
        if tst == "z":
            return normal_tail_power(es * np.sqrt(kk), a, alt)
        return t_power(es, kk, kk - 1.0, a, alt)

    if unknown == "power":
        mu, kk, ss = arrays["effect"], arrays["k"], arrays["seeds"]
        p_out = pw(mu, kk, ss)
    elif unknown == "effect":
        kk, ss = arrays["k"], arrays["seeds"]
        mu, _, p_out = solve_design(
            "effect",
            lambda e, _n: pw(e, kk, ss),
            effect_size=None,
            n=kk,
            power=arrays["power"],
            alpha=a,
            alternative=alt,
            n_low=k_low,
            effect_cap=1e6 * np.sqrt(s**2 + t2),
        )
    elif unknown == "k":
        ss = arrays["seeds"]
        mu, kk, p_out = solve_design(
            "n",
            lambda e, x: pw(e, x, ss),
            effect_size=arrays["effect"],
            n=None,
            power=arrays["power"],
            alpha=a,
            alternative=alt,
            n_low=k_low,
            n_what="tasks",
        )
    else:
        kk = arrays["k"]
        try:
            mu, ss, p_out = solve_design(
                "n",
                lambda e, x: pw(e, kk, x),
                effect_size=arrays["effect"],
                n=None,
                power=arrays["power"],
                alpha=a,
                alternative=alt,
                n_low=1.0,
                n_what="seeds per task",
            )
        except InputError as exc:
            if t2 == 0.0:
                raise
            k_need = solve_design(
                "n",
                lambda e, x: pw(e, x, np.full_like(x, np.inf)),
                effect_size=arrays["effect"],
                n=None,
                power=arrays["power"],
                alpha=a,
                alternative=alt,
                n_low=k_low,
            )[1]
            raise InputError(
                f"{exc} With tau2 = {t2:g} no number of seeds per task reaches this power with these tasks; "
                f"even infinitely many seeds need at least {int(np.ceil(np.max(k_need)))} tasks. Add tasks."
            ) from exc
    shape = np.shape(p_out)
    mu, kk, ss = (np.broadcast_to(np.asarray(x, dtype=float), shape) for x in (mu, kk, ss))
    vi = task_variance(ss, sd=s, rho=r)
    params = {"sd": s, "tau2": t2, "rho": r, "test": tst, "vi": scalar_or_array(vi)}
    return PowerResult(
        test="meta",
        solved_for=unknown,
        effect=scalar_or_array(mu),
        effect_size=scalar_or_array(mu / np.sqrt(vi + t2)),
        n=scalar_or_array(ss),
        n_required=scalar_or_array(np.ceil(ss - 1e-9)),
        k=scalar_or_array(kk),
        k_required=scalar_or_array(np.ceil(kk - 1e-9)),
        power=scalar_or_array(np.asarray(p_out, dtype=float)),
        alpha=a,
        alternative=alt,
        parameters=params,
        provenance=Provenance(
            method=f"random-effects meta-analysis power ({tst})",
            k=0,
            options={
                "sd": s,
                "tau2": t2,
                "rho": r,
                "test": tst,
                "alpha": a,
                "alternative": alt,
                "solved_for": unknown,
            },
            input_hash=input_hash(*[np.nan if v is None else v for v in (effect, k, seeds, power)]),
        ),
    )
