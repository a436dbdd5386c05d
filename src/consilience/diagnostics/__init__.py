"""Robustness diagnostics: publication bias (Egger, Begg, trim-and-fill, funnel data, file drawer) and
sensitivity (leave-one-out, influence, cumulative meta-analysis) of a meta-analysis."""

from consilience.diagnostics.begg import BeggTest, begg_test
from consilience.diagnostics.cumulative import Cumulative, cumulative
from consilience.diagnostics.egger import EggerTest, egger_test
from consilience.diagnostics.file_drawer import FileDrawer, file_drawer
from consilience.diagnostics.funnel import FunnelData, funnel_data
from consilience.diagnostics.influence import Influence, influence
from consilience.diagnostics.leave_one_out import LeaveOneOut, leave_one_out
from consilience.diagnostics.trimfill import TrimAndFill, trim_and_fill

__all__ = [
    "BeggTest",
    "Cumulative",
    "EggerTest",
    "FileDrawer",
    "FunnelData",
    "Influence",
    "LeaveOneOut",
    "TrimAndFill",
    "begg_test",
    "cumulative",
    "egger_test",
    "file_drawer",
    "funnel_data",
    "influence",
    "leave_one_out",
    "trim_and_fill",
]
