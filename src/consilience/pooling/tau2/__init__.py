"""tau² estimators, one module each; ``ESTIMATORS`` maps method codes to their hook."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from consilience.pooling.tau2 import (
    dersimonian_laird,
    equal_effects,
    hedges,
    hunter_schmidt,
    likelihood,
    paule_mandel,
    sidik_jonkman,
)
from consilience.pooling.tau2._base import Batch, Tau2Fit

__all__ = ["ESTIMATORS", "METHODS", "METHOD_ALIASES", "Tau2Fit"]

ESTIMATORS: dict[str, Callable[[Batch], Tau2Fit]] = {
    "EE": equal_effects.estimate,
    "DL": dersimonian_laird.estimate,
    "HE": hedges.estimate,
    "HS": hunter_schmidt.estimate,
    "SJ": sidik_jonkman.estimate,
    "ML": partial(likelihood.estimate, kind="ML"),
    "REML": partial(likelihood.estimate, kind="REML"),
    "EB": partial(likelihood.estimate, kind="EB"),
    "PM": paule_mandel.estimate,
}
METHODS = tuple(ESTIMATORS)
METHOD_ALIASES = {"FE": "EE", "CE": "EE"}
