"""Experiment design: power and sample size, sequential monitoring, meta-experiments, plans."""

from __future__ import annotations

from consilience.design.always_valid import ConfidenceSequence, confidence_sequence
from consilience.design.assignment import Assignment, assign_arms
from consilience.design.mcnemar import power_mcnemar
from consilience.design.meta import power_meta
from consilience.design.meta_experiment import (
    MetaExperimentResult,
    analyze_meta_experiment,
    power_meta_experiment,
)
from consilience.design.plan import DesignPlan, recommend_design
from consilience.design.proportions import power_proportions
from consilience.design.result import PowerResult
from consilience.design.sequential import (
    GroupSequentialDesign,
    spending_boundaries,
    spending_function,
)
from consilience.design.ttest import power_paired, power_ttest

__all__ = [
    "Assignment",
    "ConfidenceSequence",
    "DesignPlan",
    "GroupSequentialDesign",
    "MetaExperimentResult",
    "PowerResult",
    "analyze_meta_experiment",
    "assign_arms",
    "confidence_sequence",
    "power_mcnemar",
    "power_meta",
    "power_meta_experiment",
    "power_paired",
    "power_proportions",
    "power_ttest",
    "recommend_design",
    "spending_boundaries",
    "spending_function",
]
