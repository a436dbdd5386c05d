"""Pooling: fixed and random effects, meta-regression, subgroups, batches of analyses."""

from consilience.pooling.batch import meta_analyze_many
from consilience.pooling.bayes import BayesianMetaAnalysis, BayesResult, bayes_meta_analyze
from consilience.pooling.bayes_priors import parse_tau_prior
from consilience.pooling.model import MetaAnalysis, meta_analyze
from consilience.pooling.multilevel import (
    MultilevelMetaAnalysis,
    MultilevelResult,
    multilevel_meta_analyze,
)
from consilience.pooling.result import Coefficient, MetaResult
from consilience.pooling.subgroups import SubgroupResult, subgroup_analysis

__all__ = [
    "BayesResult",
    "BayesianMetaAnalysis",
    "Coefficient",
    "MetaAnalysis",
    "MetaResult",
    "MultilevelMetaAnalysis",
    "MultilevelResult",
    "SubgroupResult",
    "bayes_meta_analyze",
    "meta_analyze",
    "meta_analyze_many",
    "multilevel_meta_analyze",
    "parse_tau_prior",
    "subgroup_analysis",
]
