"""The one hook every tau² estimator implements: ``estimate(batch) -> Tau2Fit``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from consilience.pooling._linalg import Batch

__all__ = ["Batch", "Tau2Fit", "clip_tau2"]


@dataclass(frozen=True)
class Tau2Fit:
    """Estimated between-study variance for each analysis in a batch.

    Attributes
    ----------
    tau2 : (m,) estimates, truncated at 0.
    se_tau2 : (m,) standard errors as metafor computes them (NaN where undefined).
    converged : (m,) False where an iterative estimator failed.
    iterations : (m,) iterations used (0 for closed forms).
    boundary_reset : (m,) True where ML/REML fell back to tau² = 0 by metafor's ll0 check.
    message : why an estimator failed, for the error raised by single fits.
    """

    tau2: np.ndarray
    se_tau2: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    boundary_reset: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    message: str = ""

    @classmethod
    def closed_form(cls, tau2: np.ndarray, se_tau2: np.ndarray) -> Tau2Fit:
        m = tau2.shape[0]
        return cls(tau2=tau2, se_tau2=se_tau2, converged=np.ones(m, bool), iterations=np.zeros(m, int),
                   boundary_reset=np.zeros(m, bool))


def clip_tau2(tau2: np.ndarray) -> np.ndarray:
    """metafor's final ``tau2 <- max(tau2.min, tau2)`` with tau2.min = 0."""
    return np.maximum(tau2, 0.0)


def df_resid(batch: Batch) -> np.ndarray:
    return (batch.k - batch.p).astype(float)
