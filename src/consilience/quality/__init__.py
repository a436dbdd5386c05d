"""Evidence quality: risk of bias, quality-aware synthesis, trade-offs and scenarios.

The statistical core of the quality layer: numpy, scipy and pandas only. The registry stores
the checklists and feeds these functions (:mod:`consilience.registry.quality_store`,
:mod:`consilience.registry.flow`).
"""

from __future__ import annotations

from consilience.quality.checklist import (
    ITEM_QUESTIONS,
    ITEMS,
    JUDGEMENTS,
    OVERALL_RULE,
    ItemJudgement,
    RiskOfBias,
    check_item,
    check_judgement,
    overall_judgement,
    parse_answers,
)
from consilience.quality.scenarios import Scenario, predict_scenario
from consilience.quality.synthesis import (
    InclusionFlow,
    QualitySynthesis,
    inclusion_flow,
    quality_synthesis,
)
from consilience.quality.tradeoffs import (
    ComparisonPair,
    Margin,
    MetricPlan,
    Tradeoffs,
    parse_margin,
    tradeoffs,
    tradeoffs_by_pair,
)

__all__ = [
    "ITEMS",
    "ITEM_QUESTIONS",
    "JUDGEMENTS",
    "OVERALL_RULE",
    "ComparisonPair",
    "InclusionFlow",
    "ItemJudgement",
    "Margin",
    "MetricPlan",
    "QualitySynthesis",
    "RiskOfBias",
    "Scenario",
    "Tradeoffs",
    "check_item",
    "check_judgement",
    "inclusion_flow",
    "overall_judgement",
    "parse_answers",
    "parse_margin",
    "predict_scenario",
    "quality_synthesis",
    "tradeoffs",
    "tradeoffs_by_pair",
]
