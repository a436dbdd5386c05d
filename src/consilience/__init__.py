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
from consilience.compare import (
    Aggregates,
    Comparison,
    MetricSpec,
    Ranking,
    RankTests,
    aggregate,
    compare,
    load_lcdb_example,
    rank,
    rank_tests,
    task_effects,
)
from consilience.data import load_example
from consilience.effects import effect_sizes
from consilience.pooling import (
    MetaAnalysis,
    MetaResult,
    SubgroupResult,
    bayes_meta_analyze,
    meta_analyze,
    meta_analyze_many,
    multilevel_meta_analyze,
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
    "compare",
    "rank",
    "aggregate",
    "task_effects",
    "rank_tests",
    "load_lcdb_example",
    "MetricSpec",
    "Comparison",
    "Ranking",
    "Aggregates",
    "RankTests",
    "load_example",
    "effect_sizes",
    "MetaAnalysis",
    "MetaResult",
    "meta_analyze",
    "meta_analyze_many",
    "subgroup_analysis",
    "SubgroupResult",
    "multilevel_meta_analyze",
    "bayes_meta_analyze",
]
