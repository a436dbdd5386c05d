"""Always-valid inference for a running mean difference: a normal-mixture confidence sequence.

Unlike a fixed-sample interval, a confidence sequence covers the true mean at every look
simultaneously, so results may be checked after every seed or batch and the run stopped as soon
as the interval excludes zero, without inflating the false-positive rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector
from consilience.design._common import FloatArray, check_positive, check_probability
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["ConfidenceSequence", "confidence_sequence", "mixture_rho"]

_COLUMNS = ["n", "estimate", "ci_low", "ci_high", "e_value", "p_value", "recommend"]


def mixture_rho(v_opt: float, alpha: float) -> float:
    """Mixture precision that makes the two-sided boundary tightest at intrinsic time ``v_opt``.

    :math:`\\rho = v_{opt} / (2\\log(1/\\alpha) + \\log(1 + 2\\log(1/\\alpha)))`
    (Howard et al. 2021, two-sided normal mixture).

    Validated against: R confseq 0.0.4 ``normal_mixture_bound`` (through the boundary it sets).
    """
    la = 2.0 * np.log(1.0 / alpha)
    return float(v_opt / (la + np.log1p(la)))


@dataclass(frozen=True)
class ConfidenceSequence:
    """Running estimate, time-uniform interval and always-valid p-value at each look.

    Attributes
    ----------
    n : ndarray
        Observations seen at each reported look.
    estimate : ndarray
        Running mean difference.
    ci_low, ci_high : ndarray
        Confidence sequence at ``level``: covers the true mean at all looks at once.
    e_value : ndarray
        Mixture likelihood ratio against ``null`` (a nonnegative martingale under the null).
    p_value : ndarray
        Always-valid p-value ``min(1, 1 / max e_value so far)``.
    recommend : ndarray of str
        ``stop`` from the first look where ``p_value <= alpha`` (the interval excludes
        ``null``), ``continue`` before.
    level, alpha : float
        Coverage ``1 - alpha``.
    sd : float
        Assumed standard deviation of one difference.
    null : float
        Mean difference under the null hypothesis.
    rho : float
        Mixture precision (tuning set by ``optimize_at``).
    optimize_at : int
        Observation count at which the interval is tightest.
    provenance : Provenance
    """

    n: FloatArray
    estimate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    e_value: FloatArray
    p_value: FloatArray
    recommend: np.ndarray
    level: float
    alpha: float
    sd: float
    null: float
    rho: float
    optimize_at: int
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        if self.n.size == 0:
            return "<ConfidenceSequence empty>"
        return (
            f"<ConfidenceSequence n={int(self.n[-1])} estimate={self.estimate[-1]:.4g} "
            f"[{self.ci_low[-1]:.4g}, {self.ci_high[-1]:.4g}] p={self.p_value[-1]:.3g} "
            f"recommend={self.recommend[-1]}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per look: ``n, estimate, ci_low, ci_high, e_value, p_value, recommend``."""
        return pd.DataFrame(
            {
                "n": self.n.astype(int),
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "e_value": self.e_value,
                "p_value": self.p_value,
                "recommend": self.recommend,
            },
            columns=_COLUMNS,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "looks": json_safe(self.to_frame()),
            "level": self.level,
            "alpha": self.alpha,
            "sd": self.sd,
            "null": self.null,
            "rho": self.rho,
            "optimize_at": self.optimize_at,
            "provenance": self.provenance.to_dict() if self.provenance is not None else None,
        }

    def summary(self) -> Summary:
        last = self.to_frame().tail(1)
        lines: list[tuple[str, Any]] = [
            ("level", self.level),
            ("sd", self.sd),
            ("null", self.null),
            ("optimize_at", self.optimize_at),
        ]
        if not last.empty:
            lines += [(c, last.iloc[0][c]) for c in _COLUMNS]
        notes = list(self.provenance.warnings) if self.provenance is not None else []
        return Summary(
            title="Always-valid confidence sequence (normal mixture)", lines=lines, notes=notes
        )


def confidence_sequence(
    differences: Any,
    *,
    sd: float,
    optimize_at: int,
    alpha: float = 0.05,
    null: float = 0.0,
    looks: Any = None,
) -> ConfidenceSequence:
    """Two-sided normal-mixture confidence sequence and mixture SPRT for a mean difference.

    Parameters
    ----------
    differences : sequence of float
        Paired differences (candidate - baseline), one per seed or batch, in arrival order.
        Missing values are dropped with a :class:`DataDroppedWarning`.
    sd : float
        Standard deviation of one difference, fixed before looking (from a pilot). The
        guarantee holds for sd-sub-Gaussian differences; an estimate from the same data voids it.
    optimize_at : int
        Number of observations at which the interval should be tightest (the planned size).
    alpha : float
        The sequence covers the mean at all looks with probability at least ``1 - alpha``.
    null : float
        Mean difference under the null hypothesis tested by the e-value and p-value.
    looks : sequence of int, optional
        Observation counts to report (default: every observation).

    Returns
    -------
    ConfidenceSequence
        Per look ``n, estimate, ci_low, ci_high, e_value, p_value, recommend``; and ``level``,
        ``alpha``, ``sd``, ``null``, ``rho``, ``optimize_at``, ``provenance``.

    Notes
    -----
    With :math:`S_t = \\sum_{i \\le t} (x_i - \\mu)` and intrinsic time :math:`V_t = t\\sigma^2`,
    mixing :math:`\\exp(\\lambda S_t - \\lambda^2 V_t/2)` over :math:`\\lambda \\sim N(0, 1/\\rho)`
    gives the nonnegative martingale
    :math:`M_t = \\sqrt{\\rho/(V_t+\\rho)}\\,\\exp\\{S_t^2/(2(V_t+\\rho))\\}`. Ville's inequality
    :math:`P(\\exists t: M_t \\ge 1/\\alpha) \\le \\alpha` yields the sequence
    :math:`\\bar x_t \\pm \\sqrt{(V_t+\\rho)\\log((V_t+\\rho)/(\\rho\\alpha^2))}/t`; ``e_value`` is
    :math:`M_t` at :math:`\\mu` = ``null``. :math:`\\rho` is :func:`mixture_rho` at
    :math:`V = \\sigma^2` ``optimize_at``.

    References
    ----------
    Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm.
    *Ann. Math. Statist.* 41(5), 1397-1409.
    Howard, S. R., Ramdas, A., McAuliffe, J. & Sekhon, J. (2021). Time-uniform, nonparametric,
    nonasymptotic confidence sequences. *Ann. Statist.* 49(2), 1055-1080.

    Validated against: R confseq 0.0.4 ``normal_mixture_bound(v, alpha, v_opt, alpha,
    is_one_sided = FALSE)`` and ``normal_log_mixture``; type-I error under optional stopping by
    simulation.
    """
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    s = check_positive(
        "sd", sd, hint="Pass the standard deviation of one difference, from a pilot."
    )
    if (
        isinstance(optimize_at, bool)
        or not isinstance(optimize_at, (int, np.integer))
        or optimize_at < 1
    ):
        raise InputError(
            f"The 'optimize_at' parameter must be a positive whole number of observations. "
            f"Got {optimize_at!r} instead. Pass the planned number of seeds or batches."
        )
    if (
        isinstance(null, bool)
        or not isinstance(null, (int, float, np.integer, np.floating))
        or not np.isfinite(null)
    ):
        raise InputError(f"The 'null' parameter must be a finite number. Got {null!r} instead.")
    x = as_float_vector("differences", differences)
    warnings_out: list[str] = []
    missing = int(np.isnan(x).sum())
    if missing:
        import warnings

        msg = f"{missing} missing difference(s) omitted from the confidence sequence."
        warnings.warn(msg, DataDroppedWarning, stacklevel=2)
        warnings_out.append(msg)
        x = x[~np.isnan(x)]
    t = np.arange(1, x.size + 1, dtype=float)
    if looks is None:
        idx = np.arange(x.size)
    else:
        lk = as_float_vector("looks", looks)
        if (
            np.any(lk != np.round(lk))
            or np.any(lk < 1)
            or np.any(lk > x.size)
            or np.any(np.diff(lk) <= 0)
        ):
            raise InputError(
                f"'looks' must be increasing whole observation counts between 1 and {x.size}; "
                f"got {lk.tolist()}. Pass e.g. 5,10,20."
            )
        idx = lk.astype(int) - 1
    rho = mixture_rho(s**2 * float(optimize_at), a)
    v = t * s**2
    total = np.cumsum(x)
    mean = total / t
    radius = np.sqrt((v + rho) * np.log((v + rho) / (rho * a**2))) / t
    dev = total - t * float(null)
    log_e = 0.5 * np.log(rho / (v + rho)) + dev**2 / (2.0 * (v + rho))
    p_val = np.minimum(1.0, np.exp(-np.maximum.accumulate(log_e))) if x.size else np.zeros(0)
    crossed = np.cumsum(p_val <= a) > 0
    return ConfidenceSequence(
        n=t[idx],
        estimate=mean[idx],
        ci_low=(mean - radius)[idx],
        ci_high=(mean + radius)[idx],
        e_value=np.exp(log_e)[idx],
        p_value=p_val[idx],
        recommend=np.where(crossed, "stop", "continue")[idx],
        level=1.0 - a,
        alpha=a,
        sd=s,
        null=float(null),
        rho=rho,
        optimize_at=int(optimize_at),
        provenance=Provenance(
            method="normal-mixture confidence sequence",
            k=int(x.size),
            n_dropped=missing,
            dropped_reason="missing difference" if missing else None,
            warnings=tuple(warnings_out),
            options={"alpha": a, "sd": s, "optimize_at": int(optimize_at), "null": float(null)},
            input_hash=input_hash(x),
        ),
    )
