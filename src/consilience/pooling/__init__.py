"""Pooling: fixed and random effects, meta-regression, subgroups, batches of analyses."""

from consilience.pooling.model import MetaAnalysis, meta_analyze
from consilience.pooling.result import Coefficient, MetaResult

__all__ = ["MetaAnalysis", "meta_analyze", "MetaResult", "Coefficient"]
