"""Leave-one-out meta-analysis: the pooled result with each study omitted in turn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from consilience.diagnostics._common import RefitTable, check_result, make_provenance, refit_columns
from consilience.diagnostics._refit import refit

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["LeaveOneOut", "leave_one_out"]


@dataclass(frozen=True, repr=False, eq=False)
class LeaveOneOut(RefitTable):
    """Result of :func:`leave_one_out`: row ``i`` is the model refitted without study ``i``.

    Attributes
    ----------
    study : label of the omitted study, in the order of the fit's studies.
    estimate, se, statistic, p_value, df, ci_low, ci_high : pooled effect without that study, its test
        (``df`` NaN for ``z``) and confidence interval at ``level``.
    tau2, i2, h2, q, q_p_value : heterogeneity without that study (``tau2`` is 0 for ``EE``).
    method, test, level, k : the model refitted; ``k`` studies in the full fit (each refit has k - 1).
    provenance : method, options and input hash of the full fit; refits that failed are counted.
    """

    _title: ClassVar[str] = "Leave-one-out"

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Leave-one-out forest plot; ``options`` are the keywords of
        :func:`consilience.report.plots.leave_one_out_plot` (full, exponentiate, xlim, refline,
        effect_label, xlabel, digits, i2)."""
        from consilience.report.plots import leave_one_out_plot

        return leave_one_out_plot(self, ax, **options)


def leave_one_out(result: Any) -> LeaveOneOut:
    """Refit the meta-analysis k times, leaving out one study each time, in one batched fit.

    Parameters
    ----------
    result : MetaResult
        An intercept-only fit from :func:`consilience.meta_analyze` with k >= 2; its ``method``,
        ``test`` and ``level`` are used for every refit.

    Returns
    -------
    LeaveOneOut
        One row per omitted study (in the fit's study order) with ``study, estimate, se, statistic,
        p_value, df, ci_low, ci_high, tau2, i2, h2, q, q_p_value``.

    Notes
    -----
    All k refits are rows of one batch with study ``i`` masked out of row ``i``; the batched kernel
    fits each row exactly as a separate ``rma()`` call would. With k = 2 each refit holds one study
    and, as in metafor, is fitted with tau² = 0 and a z test. A refit whose tau² estimator fails to
    converge is reported as NaN (metafor leaves such rows NA).

    References
    ----------
    Viechtbauer, W. & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods, 1(2), 112-125.

    Validated against: metafor 3.8-1 ``leave1out(rma(yi, vi, method=..., test=...))``.
    """
    res = check_result(result, "leave_one_out", min_k=2, intercept_only=True)
    k = res.k
    mask = 1.0 - np.eye(k)
    fits = refit(res.yi, res.vi, np.ones((k, 1)), mask, res.method, res.test, res.level)
    notes: tuple[str, ...] = ()
    if fits.n_failed:
        notes = (f"{fits.n_failed} of {k} leave-one-out refits failed (tau² did not converge); their rows are NaN.",)
    return LeaveOneOut(study=res.labels, **refit_columns(fits), method=res.method, test=res.test, level=res.level,
                       k=k, provenance=make_provenance(res, {"diagnostic": "leave_one_out"}, notes))
