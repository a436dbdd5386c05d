"""Shared pieces of the power functions: argument checks and a vectorised root finder.

Every power function solves for the one quantity passed as ``None``. The root finder here works
on whole arrays at once (one bisection step updates every grid point), so a power curve over
thousands of sample sizes or effects costs one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from consilience._validation import check_choice
from consilience.errors import InputError

__all__ = [
    "Alternative",
    "FloatArray",
    "as_grid",
    "check_alternative",
    "check_positive",
    "check_probability",
    "normal_tail_power",
    "one_unknown",
    "scalar_or_array",
    "solve_design",
    "solve_increasing",
]

Alternative = Literal["two-sided", "larger", "smaller"]
FloatArray = NDArray[np.float64]

_ALTERNATIVES = ("two-sided", "larger", "smaller")


def check_alternative(value: Any) -> Alternative:
    """Return ``value`` if it is one of 'two-sided', 'larger', 'smaller'."""
    out = check_choice("alternative", value, _ALTERNATIVES)
    return out  # type: ignore[return-value]


def check_probability(name: str, value: Any, *, hint: str) -> float:
    """A scalar strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"The '{name}' parameter must be a number in (0, 1). Got {value!r} instead."
        )
    v = float(value)
    if not (0.0 < v < 1.0):
        raise InputError(
            f"The '{name}' parameter must lie strictly between 0 and 1. Got {value!r} instead. {hint}"
        )
    return v


def check_positive(name: str, value: Any, *, allow_zero: bool = False, hint: str = "") -> float:
    """A finite scalar > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"The '{name}' parameter must be a number. Got {value!r} instead.")
    v = float(value)
    ok = np.isfinite(v) and (v >= 0.0 if allow_zero else v > 0.0)
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise InputError(
            f"The '{name}' parameter must be finite and {rule}. Got {value!r} instead. {hint}".rstrip()
        )
    return v


def one_unknown(values: Mapping[str, Any]) -> str:
    """Name of the single entry that is ``None``; refuse zero or several."""
    missing = [k for k, v in values.items() if v is None]
    if len(missing) != 1:
        names = ", ".join(values)
        got = "none of them" if not missing else ", ".join(missing)
        raise InputError(
            f"Exactly one of {names} must be left out (None): it is the quantity solved for; "
            f"got {got} left out. Pass values for all but the one you want computed."
        )
    return missing[0]


def as_grid(
    name: str,
    value: Any,
    *,
    low: float,
    high: float = np.inf,
    low_open: bool = True,
    high_open: bool = True,
    hint: str = "",
) -> FloatArray:
    """Convert a scalar or array-like to a float array and check every entry lies in the range."""
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"'{name}' must be a number or an array of numbers. Got {value!r} instead.")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"'{name}' must be a number or an array of numbers. Got {value!r} instead."
        ) from exc
    bad_low = arr <= low if low_open else arr < low
    bad_high = arr >= high if high_open else arr > high
    bad = ~np.isfinite(arr) | bad_low | bad_high
    if np.any(bad):
        first = arr.ravel()[np.flatnonzero(bad.ravel())[0]]
        lo_b = "(" if low_open else "["
        hi_b = ")" if high_open else "]"
        raise InputError(
            f"'{name}' must lie in {lo_b}{low}, {high}{hi_b}; got {first!r}"
            f"{' (one of ' + str(arr.size) + ' values)' if arr.size > 1 else ''}. {hint}".rstrip()
        )
    return arr


def scalar_or_array(arr: FloatArray) -> float | FloatArray:
    """A 0-d result becomes a Python float; arrays stay arrays."""
    if arr.ndim == 0:
        return float(arr)
    return arr


def normal_tail_power(lam: FloatArray, alpha: float, alternative: Alternative) -> FloatArray:
    """Power of a z test whose statistic is N(lam, 1) under the alternative.

    Two-sided power counts both rejection tails, as statsmodels' ``normal_power`` does.
    """
    from scipy import stats

    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2.0)
        return np.asarray(stats.norm.sf(crit - lam) + stats.norm.cdf(-crit - lam), dtype=float)
    crit = stats.norm.isf(alpha)
    if alternative == "larger":
        return np.asarray(stats.norm.sf(crit - lam), dtype=float)
    return np.asarray(stats.norm.cdf(-crit - lam), dtype=float)


def solve_increasing(
    func: Callable[[FloatArray], FloatArray],
    target: FloatArray,
    *,
    low: float,
    high: float,
    log_scale: bool,
    what: str,
    hint: str,
    cap: float | None = None,
    iterations: int = 64,
) -> FloatArray:
    """Solve ``func(x) = target`` elementwise for ``x`` in ``[low, high]``, ``func`` increasing.

    ``func`` maps an array of ``x`` (same shape as ``target``) to values. Bisection runs on all
    grid points at once; 64 halvings take a bracket of width 1e3 below 1e-16 (on a log scale,
    a relative precision near machine epsilon). With ``cap``, the upper end grows fourfold per
    point until it reaches the target or ``cap``. Points where ``func(low) >= target`` return
    ``low``; points where ``func(cap or high) < target`` raise :class:`InputError`.
    """
    target = np.asarray(target, dtype=float)

    def to_x(v: float | FloatArray) -> FloatArray:
        return np.asarray(np.log(v) if log_scale else v, dtype=float)

    def f(x: FloatArray) -> FloatArray:
        return np.asarray(func(np.exp(x) if log_scale else x), dtype=float)

    top = high if cap is None else cap
    hi_v = np.full(target.shape, high, dtype=float)
    f_hi = f(to_x(hi_v))
    while cap is not None:
        grow = ~(f_hi >= target) & (hi_v < cap)
        if not np.any(grow):
            break
        hi_v = np.where(grow, np.minimum(hi_v * 4.0, cap), hi_v)
        f_hi = np.where(grow, f(to_x(hi_v)), f_hi)
    unreachable = ~(f_hi >= target)
    if np.any(unreachable):
        idx = np.flatnonzero(unreachable.ravel())[0]
        raise InputError(
            f"cannot reach power {target.ravel()[idx]:.4g}: even {what} = {top:.4g} gives power "
            f"{f_hi.ravel()[idx]:.4g}. {hint}"
        )
    lo0 = np.full(target.shape, to_x(low), dtype=float)
    lo, hi = lo0, to_x(hi_v)
    done_low = f(lo0) >= target
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        ok = f(mid) >= target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    x = np.where(done_low, lo0, 0.5 * (lo + hi))
    return np.exp(x) if log_scale else x


def solve_design(
    unknown: str,
    power_fn: Callable[[FloatArray, FloatArray], FloatArray],
    *,
    effect_size: FloatArray | None,
    n: FloatArray | None,
    power: FloatArray | None,
    alpha: float,
    alternative: Alternative,
    n_low: float,
    n_what: str = "n",
    n_cap: float = 1e9,
    effect_cap: float = 1e6,
    n_hint: str = "",
    effect_hint: str = "No effect reaches this power with these sample sizes; add samples.",
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fill in the one missing quantity of ``power = power_fn(effect_size, n)``.

    Returns broadcast arrays ``(effect_size, n, power)``. Solving for the effect returns its
    magnitude with the sign of the alternative (negative for 'smaller', positive otherwise).
    """
    given = [a for a in (effect_size, n, power) if a is not None]
    shaped = np.broadcast_arrays(*given)
    it = iter(shaped)
    es = next(it) if effect_size is not None else None
    nn = next(it) if n is not None else None
    pw = next(it) if power is not None else None
    if unknown == "power":
        assert es is not None and nn is not None
        return es, nn, np.asarray(power_fn(es, nn), dtype=float)
    assert pw is not None
    if np.any(pw <= alpha):
        raise InputError(
            f"'power' must exceed alpha = {alpha:g} (a test rejects with probability alpha even "
            f"with no effect); got {pw.ravel()[np.argmin(pw.ravel())]:g}. Ask for e.g. power=0.8."
        )
    if unknown == "n":
        assert es is not None
        wrong = es == 0
        if alternative == "larger":
            wrong = es <= 0
        elif alternative == "smaller":
            wrong = es >= 0
        if np.any(wrong):
            bad = es.ravel()[np.flatnonzero(wrong.ravel())[0]]
            raise InputError(
                f"cannot solve for {n_what}: the effect {bad:g} is zero or points away from the "
                f"alternative '{alternative}', so no sample size reaches the power asked for. "
                f"Pass a non-zero effect with the sign of the alternative (positive for 'larger')."
            )
        es_b = es

        def f_n(x: FloatArray) -> FloatArray:
            return power_fn(es_b, x)

        n_out = solve_increasing(
            f_n,
            pw,
            low=n_low,
            high=max(64.0, 4 * n_low),
            log_scale=True,
            what=n_what,
            hint=n_hint,
            cap=n_cap,
        )
        return es, n_out, pw
    assert nn is not None
    sign = -1.0 if alternative == "smaller" else 1.0
    nn_b = nn

    def f_e(m: FloatArray) -> FloatArray:
        return power_fn(sign * m, nn_b)

    mag = solve_increasing(
        f_e,
        pw,
        low=0.0,
        high=min(1.0, effect_cap),
        log_scale=False,
        what="the effect size",
        hint=effect_hint,
        cap=effect_cap,
    )
    return sign * mag, nn, pw
