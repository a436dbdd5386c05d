"""Many groups at scale: group analyses as DataFrame-to-DataFrame functions, run locally or on Dask.

``batch(data, by=..., analysis="meta" | "compare", engine="local" | "dask")`` runs one analysis per
group; each analysis declares its output schema, so a distributed engine knows the result's columns
before computing it and both engines return identical frames.
"""

from consilience.scale.analyses import ANALYSES, GroupAnalysis
from consilience.scale.compare import COMPARE_SCHEMA, compare_per_group
from consilience.scale.engine import batch
from consilience.scale.meta import META_SCHEMA, meta_per_group
from consilience.scale.schema import OutputSchema

__all__ = [
    "ANALYSES",
    "COMPARE_SCHEMA",
    "META_SCHEMA",
    "GroupAnalysis",
    "OutputSchema",
    "batch",
    "compare_per_group",
    "meta_per_group",
]
