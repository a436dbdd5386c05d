"""Publication-grade plots of consilience results (matplotlib, imported only when drawing).

Each plot is two steps: a ``*_layout`` function computes what the plot shows as a frozen
dataclass of numbers and strings (rows, positions, labels, limits), and a ``*_plot`` function
draws it on the given Axes (a new figure only when ``ax`` is None) and returns the Axes.
"""

from consilience.report.plots._rows import ForestLayout
from consilience.report.plots.aggregates import IntervalLayout, aggregates_layout, aggregates_plot
from consilience.report.plots.baujat import BaujatLayout, baujat_layout, baujat_plot
from consilience.report.plots.critical_difference import (
    CriticalDifferenceLayout,
    critical_difference_layout,
    critical_difference_plot,
)
from consilience.report.plots.cumulative import cumulative_layout, cumulative_plot
from consilience.report.plots.forest import forest_layout, forest_plot
from consilience.report.plots.funnel import FunnelLayout, funnel_layout, funnel_plot
from consilience.report.plots.learning_curve import (
    CurveLayout,
    learning_curve_layout,
    learning_curve_plot,
)
from consilience.report.plots.leave_one_out import leave_one_out_layout, leave_one_out_plot
from consilience.report.plots.power import PowerLayout, power_layout, power_plot
from consilience.report.plots.profiles import ProfileLayout, profile_layout, profile_plot
from consilience.report.plots.progress import (
    ProgressLayout,
    baseline_progress_layout,
    baseline_progress_plot,
)
from consilience.report.plots.subgroups import subgroup_forest_layout, subgroup_forest_plot

__all__ = [
    "BaujatLayout",
    "CriticalDifferenceLayout",
    "CurveLayout",
    "ForestLayout",
    "FunnelLayout",
    "IntervalLayout",
    "PowerLayout",
    "ProfileLayout",
    "ProgressLayout",
    "aggregates_layout",
    "aggregates_plot",
    "baseline_progress_layout",
    "baseline_progress_plot",
    "baujat_layout",
    "baujat_plot",
    "critical_difference_layout",
    "critical_difference_plot",
    "cumulative_layout",
    "cumulative_plot",
    "forest_layout",
    "forest_plot",
    "funnel_layout",
    "funnel_plot",
    "learning_curve_layout",
    "learning_curve_plot",
    "leave_one_out_layout",
    "leave_one_out_plot",
    "power_layout",
    "power_plot",
    "profile_layout",
    "profile_plot",
    "subgroup_forest_layout",
    "subgroup_forest_plot",
]
