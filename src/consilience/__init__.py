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
from consilience.design import (
    power_mcnemar,
    power_meta,
    power_paired,
    power_proportions,
    power_ttest,
    recommend_design,
    spending_boundaries,
)
from consilience.diagnostics import (
    begg_test,
    cumulative,
    egger_test,
    file_drawer,
    funnel_data,
    influence,
    leave_one_out,
    trim_and_fill,
)
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
from consilience.quality import RiskOfBias, predict_scenario, quality_synthesis, tradeoffs

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
    "egger_test",
    "begg_test",
    "trim_and_fill",
    "funnel_data",
    "file_drawer",
    "leave_one_out",
    "influence",
    "cumulative",
    "power_ttest",
    "power_paired",
    "power_proportions",
    "power_mcnemar",
    "power_meta",
    "recommend_design",
    "spending_boundaries",
    "RiskOfBias",
    "quality_synthesis",
    "tradeoffs",
    "predict_scenario",
]
