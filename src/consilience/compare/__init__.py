"""ML comparisons from raw runs: per-task effects, pooled verdicts, ranks and bootstrap aggregates."""

from consilience.compare.aggregates import Aggregates, aggregate
from consilience.compare.comparison import Comparison, compare
from consilience.compare.examples import LCDB_DEFAULT_BASELINE, load_lcdb_example
from consilience.compare.metrics import DEFAULT_METRICS, MetricSpec, resolve_metric
from consilience.compare.multiple_testing import adjust_p_values
from consilience.compare.profiles import (
    PerformanceProfile,
    ProbabilityOfImprovement,
    performance_profile,
    probability_of_improvement,
)
from consilience.compare.ranking import Ranking, rank
from consilience.compare.ranks import RankTests, rank_tests
from consilience.compare.runs import RunsTable, validate_runs
from consilience.compare.task_effects import task_effects
from consilience.compare.verdict import VERDICTS, Verdict, sample_size_to_conclude, verdict

__all__ = [
    "DEFAULT_METRICS",
    "LCDB_DEFAULT_BASELINE",
    "VERDICTS",
    "Aggregates",
    "Comparison",
    "MetricSpec",
    "PerformanceProfile",
    "ProbabilityOfImprovement",
    "RankTests",
    "Ranking",
    "RunsTable",
    "Verdict",
    "adjust_p_values",
    "aggregate",
    "compare",
    "load_lcdb_example",
    "performance_profile",
    "probability_of_improvement",
    "rank",
    "rank_tests",
    "resolve_metric",
    "sample_size_to_conclude",
    "task_effects",
    "validate_runs",
    "verdict",
]
