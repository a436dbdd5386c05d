"""Views of consilience results: publication-grade plots, and the reports built from them.

The plot functions take a result and an optional matplotlib Axes and return the Axes; matplotlib
is imported only when something is drawn (``pip install 'consilience[plot]'``).
"""

from consilience.report.plots import (
    aggregates_plot,
    baseline_progress_plot,
    baujat_plot,
    critical_difference_plot,
    cumulative_plot,
    forest_plot,
    funnel_plot,
    learning_curve_plot,
    leave_one_out_plot,
    power_plot,
    profile_plot,
    subgroup_forest_plot,
)

__all__ = [
    "aggregates_plot",
    "baseline_progress_plot",
    "baujat_plot",
    "critical_difference_plot",
    "cumulative_plot",
    "forest_plot",
    "funnel_plot",
    "learning_curve_plot",
    "leave_one_out_plot",
    "power_plot",
    "profile_plot",
    "subgroup_forest_plot",
]
