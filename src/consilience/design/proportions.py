"""Power for comparing two accuracies measured on independent test sets (Cohen's h, z test)."""

from __future__ import annotations

from typing import Any

import numpy as np

from consilience._results import Provenance, input_hash
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
from consilience.errors import InputError

__all__ = ["cohens_h", "power_proportions"]


def cohens_h(p_candidate: Any, p_baseline: Any) -> FloatArray:
    """Cohen's h = 2 asin(sqrt(p_candidate)) - 2 asin(sqrt(p_baseline)).

    Validated against: statsmodels 0.15 ``proportion_effectsize(p_candidate, p_baseline)``.
    """
    return np.asarray(
        2.0 * np.arcsin(np.sqrt(p_candidate)) - 2.0 * np.arcsin(np.sqrt(p_baseline)), dtype=float
    )


def power_proportions(
    effect: Any = None,
    n: Any = None,
    power: Any = None,
    *,
    baseline: float,
    ratio: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    test: str = "proportions",
) -> PowerResult:
    """Power of the z test comparing two proportions (accuracies) on independent samples.

    Exactly one of ``effect``, ``n`` and ``power`` is None; it is solved for.

    Parameters
    ----------
    effect : float, array or None
        Candidate proportion minus ``baseline`` (e.g. +0.02 accuracy). Solving for it returns
        the smallest improvement (or, for 'smaller', decline) with the power asked for.
    n : float, array or None
        Examples (or units) in the baseline arm; the candidate arm has ``n * ratio``.
    power : float, array or None
        Target power in (alpha, 1).
    baseline : float
        Baseline proportion in (0, 1).
    ratio : float
        Candidate-arm size per baseline-arm unit.
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests candidate > baseline.
    test : str
        Label stored on the result (``meta_experiment`` when called for meta-experiments).

    Returns
    -------
    PowerResult
        ``effect`` (difference in proportions), ``effect_size`` (Cohen's h), ``n`` (baseline-arm
        size), ``n_required``, ``k``/``k_required`` (NaN), ``power``, ``alpha``, ``alternative``,
        ``parameters`` (baseline, ratio), ``provenance``.

    Notes
    -----
    With :math:`h = 2\\arcsin\\sqrt{p_c} - 2\\arcsin\\sqrt{p_b}` and
    :math:`n_{\\mathrm{eff}} = (1/n_1 + 1/n_2)^{-1}`, the arcsine-transformed difference is
    normal with mean :math:`h` and variance :math:`1/n_{\\mathrm{eff}}`, so two-sided power is
    :math:`\\Phi(h\\sqrt{n_{\\mathrm{eff}}} - z_{1-\\alpha/2}) +
    \\Phi(-h\\sqrt{n_{\\mathrm{eff}}} - z_{1-\\alpha/2})`. A solved ``h`` maps back to the
    candidate proportion :math:`\\sin^2(h/2 + \\arcsin\\sqrt{p_b})`. Use :func:`power_mcnemar`
    when both models are scored on the same test set: pairing is usually far more powerful.

    References
    ----------
    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 6.

    Validated against: statsmodels 0.15 ``NormalIndPower().power`` / ``.solve_power`` with
    ``effect_size = proportion_effectsize(p_candidate, p_baseline)``.
    """
    alt = check_alternative(alternative)
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    p0 = check_probability(
        "baseline", baseline, hint="Pass the baseline accuracy as a fraction, e.g. 0.82."
    )
    r = check_positive("ratio", ratio, hint="Pass candidate-arm size per baseline-arm unit.")
    unknown = one_unknown({"effect": effect, "n": n, "power": power})
    h = None
    if effect is not None:
        eff = as_grid("effect", effect, low=-np.inf, hint="")
        p1 = p0 + eff
        if np.any((p1 <= 0.0) | (p1 >= 1.0)):
            bad = eff.ravel()[np.flatnonzero(((p1 <= 0) | (p1 >= 1)).ravel())[0]]
            raise InputError(
                f"'effect' must keep baseline + effect inside (0, 1); got effect {bad:g} with baseline {p0:g}. "
                f"Pass the difference in proportions (e.g. 0.02 for two accuracy points)."
            )
        h = cohens_h(p1, p0)
    nn = (
        None
        if n is None
        else as_grid("n", n, low=0.0, hint="Pass the number of examples in the baseline arm.")
    )
    pw = (
        None
        if power is None
        else as_grid("power", power, low=0.0, high=1.0, hint="Pass e.g. power=0.8.")
    )
    asin0 = float(np.arcsin(np.sqrt(p0)))
    cap = 2.0 * asin0 if alt == "smaller" else np.pi - 2.0 * asin0

    def fn(hh: FloatArray, n1: FloatArray) -> FloatArray:
        nobs = 1.0 / (1.0 / n1 + 1.0 / (n1 * r))
        return normal_tail_power(hh * np.sqrt(nobs), a, alt)

    h_out, n_out, p_out = solve_design(
        unknown,
        fn,
        effect_size=h,
        n=nn,
        power=pw,
        alpha=a,
        alternative=alt,
        n_low=1e-6,
        n_what="examples per arm",
        effect_cap=cap,
        effect_hint="Even the largest possible change of the proportion does not reach it; add examples.",
    )
    n_arr = np.asarray(n_out, dtype=float)
    if effect is None:
        eff_out = np.sin(h_out / 2.0 + asin0) ** 2 - p0
    else:
        eff_out = np.broadcast_to(as_grid("effect", effect, low=-np.inf), n_arr.shape)
    nan = np.full(n_arr.shape, np.nan)
    params = {"baseline": p0, "ratio": r}
    return PowerResult(
        test=test,
        solved_for=unknown,
        effect=scalar_or_array(np.asarray(eff_out, dtype=float)),
        effect_size=scalar_or_array(np.asarray(h_out, dtype=float)),
        n=scalar_or_array(n_arr),
        n_required=scalar_or_array(np.ceil(n_arr - 1e-9)),
        k=scalar_or_array(nan),
        k_required=scalar_or_array(nan),
        power=scalar_or_array(np.asarray(p_out, dtype=float)),
        alpha=a,
        alternative=alt,
        parameters=params,
        provenance=Provenance(
            method="two-proportion z test (Cohen's h)",
            k=0,
            options={**params, "alpha": a, "alternative": alt, "solved_for": unknown},
            input_hash=input_hash(*[np.nan if v is None else v for v in (effect, n, power)]),
        ),
    )
