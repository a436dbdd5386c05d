"""Learning curves: parametric families, extrapolation with bands, and the value of more data."""

from __future__ import annotations

from consilience.curves.calibration import (
    BandCalibration,
    band_scores,
    calibrate_bands,
    default_calibration,
)
from consilience.curves.families import FAMILIES, FAMILY_NAMES, CurveFamily, get_family
from consilience.curves.fitting import (
    FamilyFit,
    FamilyFitBatch,
    fit_family,
    fit_family_batch,
    fit_replicates,
)
from consilience.curves.learning_curve import LearningCurve, choose_families, holdout_scores
from consilience.curves.options import CANDIDATE_COLUMNS, SCENARIOS, OptionsTable, value_of_options
from consilience.curves.result import CurveFit, IntervalEstimate
from consilience.curves.shape import FLAG_NAMES, shape_flags
from consilience.curves.value import DataValue, data_value

__all__ = [
    "CANDIDATE_COLUMNS",
    "FAMILIES",
    "FAMILY_NAMES",
    "FLAG_NAMES",
    "SCENARIOS",
    "BandCalibration",
    "CurveFamily",
    "CurveFit",
    "DataValue",
    "FamilyFit",
    "FamilyFitBatch",
    "IntervalEstimate",
    "LearningCurve",
    "OptionsTable",
    "band_scores",
    "calibrate_bands",
    "choose_families",
    "data_value",
    "default_calibration",
    "fit_family",
    "fit_family_batch",
    "fit_replicates",
    "get_family",
    "holdout_scores",
    "shape_flags",
    "value_of_options",
]
