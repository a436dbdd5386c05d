"""Power for comparing two models scored on the same test set (McNemar's test).

Only the examples the two models disagree on carry information. With ``p01`` the rate of
examples only the candidate gets right and ``p10`` the rate only the baseline gets right, the
accuracy difference is ``effect = p01 - p10`` and the disagreement rate is
``discordance = p01 + p10``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from consilience._results import Provenance, input_hash
from consilience._validation import check_choice
from consilience.design._common import (
    Alternative,
    FloatArray,
    as_grid,
    check_alternative,
    check_probability,
    one_unknown,
    scalar_or_array,
    solve_design,
)
from consilience.design.result import PowerResult
from consilience.errors import InputError

__all__ = ["mcnemar_connor_power", "mcnemar_exact_power", "power_mcnemar"]

_TAIL = 1e-16  # binomial mass left out of the exact sum over the number of discordant pairs


def mcnemar_connor_power(
    effect: FloatArray, n: FloatArray, discordance: float, alpha: float, alternative: Alternative
) -> FloatArray:
    """Power of the asymptotic McNemar test (no continuity correction), Connor's approximation."""
    delta = np.asarray(effect, dtype=float)
    psi = float(discordance)
    root_n = np.sqrt(np.asarray(n, dtype=float))
    sd1 = np.sqrt(psi - delta**2)
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    z = stats.norm.isf(a) * np.sqrt(psi)
    out = np.zeros(np.broadcast(delta, root_n).shape)
    if alternative in ("two-sided", "larger"):
        out = out + stats.norm.cdf((delta * root_n - z) / sd1)
    if alternative in ("two-sided", "smaller"):
        out = out + stats.norm.cdf((-delta * root_n - z) / sd1)
    return np.asarray(out, dtype=float)


def mcnemar_exact_power(
    effect: FloatArray, n: FloatArray, discordance: float, alpha: float, alternative: Alternative
) -> FloatArray:
    """Power of the exact conditional McNemar test, summed over the discordant-pair count.

    Grid points run side by side: each gets a window of discordant counts covering all but
    about 2e-16 of the Binomial(n, discordance) mass.
    """
    delta, nn = np.broadcast_arrays(np.asarray(effect, dtype=float), np.asarray(n, dtype=float))
    shape = delta.shape
    delta, nn = delta.ravel(), nn.ravel()
    psi = float(discordance)
    pi = (psi + delta) / (2.0 * psi)
    lo = np.maximum(stats.binom.ppf(_TAIL, nn, psi) - 1.0, 0.0)
    hi = np.minimum(stats.binom.isf(_TAIL, nn, psi) + 1.0, nn)
    width = int(np.max(hi - lo)) + 1
    m = lo[:, None] + np.arange(width)[None, :]
    inside = m <= hi[:, None]
    m = np.where(inside, m, hi[:, None])
    weight = np.where(inside, stats.binom.pmf(m, nn[:, None], psi), 0.0)
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    # largest c with P(X <= c | m, 1/2) <= a: the conditional rejection region's edge
    # (computed once per distinct m, then looked up: the quantile function is the slow part)
    m_min = int(np.min(m))
    m_all = np.arange(m_min, int(np.max(m)) + 1, dtype=float)
    c_all = stats.binom.ppf(a, m_all, 0.5)
    c_all = np.where(stats.binom.cdf(c_all, m_all, 0.5) <= a, c_all, c_all - 1.0)
    c = c_all[(m - m_min).astype(np.intp)]
    p = pi[:, None]
    reject = np.zeros_like(weight)
    if alternative in ("two-sided", "larger"):
        reject = reject + stats.binom.sf(m - c - 1.0, m, p)
    if alternative in ("two-sided", "smaller"):
        reject = reject + np.where(c >= 0, stats.binom.cdf(c, m, p), 0.0)
    return np.asarray(np.sum(weight * reject, axis=1).reshape(shape), dtype=float)


def power_mcnemar(
    effect: Any = None,
    n: Any = None,
    power: Any = None,
    *,
    discordance: float,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Literal["connor", "exact"] = "connor",
) -> PowerResult:
    """Power of McNemar's test for two models scored on one shared test set.

    Exactly one of ``effect``, ``n`` and ``power`` is None; it is solved for.

    Parameters
    ----------
    effect : float, array or None
        Accuracy difference candidate - baseline, ``p01 - p10``; ``|effect| <= discordance``.
    n : float, array or None
        Test-set size (number of paired examples). Whole numbers for ``method='exact'``.
    power : float, array or None
        Target power in (alpha, 1).
    discordance : float
        Disagreement rate ``p01 + p10`` in (0, 1]: the share of examples where exactly one model
        is right (estimate it from the two models' predictions on a pilot set).
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests candidate > baseline.
    method : {'connor', 'exact'}
        ``connor``: normal approximation for the asymptotic McNemar z test (Connor 1987).
        ``exact``: the exact conditional (binomial) McNemar test, power summed over the
        binomial distribution of the number of discordant pairs; solving for ``n`` returns the
        smallest whole test-set size reaching the power (exact power is saw-toothed in ``n``).

    Returns
    -------
    PowerResult
        ``effect`` (p01 - p10), ``effect_size`` (effect / discordance, the difference between the
        two conditional rates among discordant examples), ``n``, ``n_required``, ``k``/
        ``k_required`` (NaN), ``power``, ``alpha``, ``alternative``, ``parameters``
        (discordance, p01, p10, method), ``provenance``.

    Notes
    -----
    Connor (1987): with :math:`\\psi = p_{01} + p_{10}` and :math:`\\delta = p_{01} - p_{10}`,

    .. math:: 1-\\beta = \\Phi\\left(\\frac{\\delta\\sqrt{n} - z_{1-\\alpha/2}\\sqrt{\\psi}}
              {\\sqrt{\\psi - \\delta^2}}\\right) + \\Phi\\left(\\frac{-\\delta\\sqrt{n} -
              z_{1-\\alpha/2}\\sqrt{\\psi}}{\\sqrt{\\psi - \\delta^2}}\\right),

    (one tail and :math:`z_{1-\\alpha}` for one-sided tests); dropping the far tail gives his
    closed form :math:`n = (z_{1-\\alpha/2}\\sqrt{\\psi} + z_{1-\\beta}\\sqrt{\\psi-\\delta^2})^2/\\delta^2`.
    Exact: the number of discordant pairs is :math:`M \\sim \\mathrm{Bin}(n, \\psi)`; given
    :math:`M=m`, the candidate-only count is :math:`\\mathrm{Bin}(m, \\pi)`,
    :math:`\\pi = (\\psi+\\delta)/(2\\psi)`, and the test rejects when the doubled binomial tail
    under :math:`\\pi = 1/2` is at most :math:`\\alpha` (statsmodels' ``mcnemar(exact=True)``).

    References
    ----------
    Connor, R. J. (1987). Sample size for testing differences in proportions for the
    paired-sample design. *Biometrics* 43(1), 207-211.
    Duffy, S. W. (1984). Asymptotic and exact power for the McNemar test and its analogue with
    R controls per case. *Biometrics* 40(4), 1005-1015.

    Validated against: published Connor examples (n = 23 and 155); exact power against
    statsmodels 0.15 ``mcnemar(table, exact=True)`` summed over all tables; both by simulation.
    """
    alt = check_alternative(alternative)
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    meth = check_choice("method", method, ("connor", "exact"))
    if isinstance(discordance, bool) or not isinstance(
        discordance, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"The 'discordance' parameter must be a number in (0, 1]. Got {discordance!r} instead."
        )
    psi = float(discordance)
    if not (0.0 < psi <= 1.0):
        raise InputError(
            f"The 'discordance' parameter must lie in (0, 1]. Got {discordance!r} instead. Pass the share of "
            f"test examples where exactly one of the two models is right (p01 + p10)."
        )
    unknown = one_unknown({"effect": effect, "n": n, "power": power})
    eff = None
    if effect is not None:
        eff = as_grid(
            "effect",
            effect,
            low=-psi,
            high=psi,
            low_open=False,
            high_open=False,
            hint=f"The accuracy difference cannot exceed the disagreement rate {psi:g} in size.",
        )
        if psi == 1.0 and np.any(np.abs(eff) == 1.0):
            raise InputError(
                "'effect' must be smaller than 1 in size when discordance = 1 (the test has no "
                "variance left). Pass |effect| < 1."
            )
    nn = None if n is None else as_grid("n", n, low=0.0, hint="Pass the test-set size.")
    if nn is not None and meth == "exact" and np.any(nn != np.round(nn)):
        raise InputError(
            f"'n' must be whole numbers for method='exact'; got {nn.ravel()[np.flatnonzero(nn != np.round(nn))[0]]:g}. "
            f"Round the test-set size or use method='connor'."
        )
    pw = (
        None
        if power is None
        else as_grid("power", power, low=0.0, high=1.0, hint="Pass e.g. power=0.8.")
    )
    cap = psi if psi < 1.0 else 1.0 - 1e-12

    def connor(d: FloatArray, m: FloatArray) -> FloatArray:
        return mcnemar_connor_power(d, m, psi, a, alt)

    def exact(d: FloatArray, m: FloatArray) -> FloatArray:
        return mcnemar_exact_power(d, m, psi, a, alt)

    fn = connor if meth == "connor" else exact
    if meth == "exact" and unknown == "n":
        assert eff is not None and pw is not None
        d0, n0, p_target = solve_design(
            "n",
            connor,
            effect_size=eff,
            n=None,
            power=pw,
            alpha=a,
            alternative=alt,
            n_low=1.0,
            n_what="test examples",
        )
        n_out = np.vectorize(lambda d, start, t: _smallest_exact_n(d, start, t, psi, a, alt))(
            d0, n0, p_target
        )
        d_out, p_out = d0, p_target
    else:
        d_out, n_out, p_out = solve_design(
            unknown,
            fn,
            effect_size=eff,
            n=nn,
            power=pw,
            alpha=a,
            alternative=alt,
            n_low=1.0,
            n_what="test examples",
            effect_cap=cap,
            effect_hint="Even an effect as large as the disagreement rate does not reach it; use a larger test set.",
        )
    n_arr = np.asarray(n_out, dtype=float)
    nan = np.full(n_arr.shape, np.nan)
    d_arr = np.asarray(d_out, dtype=float)
    params = {"discordance": psi, "method": meth}
    return PowerResult(
        test="mcnemar",
        solved_for=unknown,
        effect=scalar_or_array(d_arr),
        effect_size=scalar_or_array(d_arr / psi),
        n=scalar_or_array(n_arr),
        n_required=scalar_or_array(np.ceil(n_arr - 1e-9)),
        k=scalar_or_array(nan),
        k_required=scalar_or_array(nan),
        power=scalar_or_array(np.asarray(p_out, dtype=float)),
        alpha=a,
        alternative=alt,
        parameters={
            **params,
            "p01": scalar_or_array((psi + d_arr) / 2.0),
            "p10": scalar_or_array((psi - d_arr) / 2.0),
        },
        provenance=Provenance(
            method=f"McNemar test power ({meth})",
            k=0,
            options={**params, "alpha": a, "alternative": alt, "solved_for": unknown},
            input_hash=input_hash(*[np.nan if v is None else v for v in (effect, n, power)]),
        ),
    )


def _smallest_exact_n(
    delta: float, n_connor: float, target: float, psi: float, alpha: float, alternative: Alternative
) -> float:
    """Smallest whole n with exact power >= target, scanning up from half Connor's n."""
    start = max(1, int(np.floor(0.5 * n_connor)))
    block = max(64, int(0.05 * n_connor))
    limit = 20 * n_connor + 1000
    while start <= limit:
        ns = np.arange(start, start + block, dtype=float)
        pw = mcnemar_exact_power(np.full(ns.shape, delta), ns, psi, alpha, alternative)
        hit = np.flatnonzero(pw >= target)
        if hit.size:
            return float(ns[hit[0]])
        start += block
    raise InputError(
        f"no test-set size up to {limit:.0f} reaches power {target:g} with the exact McNemar test "
        f"(effect {delta:g}, discordance {psi:g}). Use method='connor' or a larger effect."
    )
