"""consilience: evidence synthesis for machine-learning experiments.

The public API is re-exported here; each name lives in the module of its concept.
"""

from __future__ import annotations

__version__ = "0.1.0"

from consilience.errors import (
    ConsilienceError,
    ConsilienceWarning,
    ConvergenceError,
    ConvergenceWarning,
    DataDroppedWarning,
    InputError,
    SmallSampleWarning,
)
from consilience import data
from consilience.data import load_example
from consilience.effects import effect_sizes
from consilience.pooling import (
    MetaAnalysis,
    MetaResult,
    SubgroupResult,
    meta_analyze,
    meta_analyze_many,
    subgroup_analysis,
)

__all__ = [
    "__version__",
    "ConsilienceError",
    "ConsilienceWarning",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataDroppedWarning",
    "InputError",
    "SmallSampleWarning",
    "data",
    "load_example",
    "effect_sizes",
    "MetaAnalysis",
    "MetaResult",
    "meta_analyze",
    "meta_analyze_many",
    "subgroup_analysis",
    "SubgroupResult",
]
