"""The file drawer of an ML team: do the reported experiments overstate the effect of all experiments?"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, check_choice, check_level, describe_rows
from consilience.errors import DataDroppedWarning, InputError
from consilience.pooling.model import MetaAnalysis, Method, TestKind
from consilience.pooling.result import MetaResult
from consilience.pooling.tau2 import METHOD_ALIASES, METHODS

__all__ = ["FileDrawer", "file_drawer"]

_SCALARS = ("k", "k_reported", "k_unreported", "method", "test", "level", "estimate_all", "estimate_reported",
            "estimate_unreported", "inflation", "difference", "se", "statistic", "p_value", "df", "ci_low",
            "ci_high", "tau2")


@dataclass(frozen=True, repr=False, eq=False)
class FileDrawer:
    """Result of :func:`file_drawer`.

    Attributes
    ----------
    k, k_reported, k_unreported : experiments in all, reported, and left in the drawer.
    method, test, level : tau² estimator, inference and confidence level of every fit.
    estimate_all, estimate_reported, estimate_unreported : pooled effect of all experiments, of the
        reported ones only, and of the unreported ones only (separate fits).
    inflation : ``estimate_reported - estimate_all``: how much reading only the reported experiments
        overstates (positive) or understates the evidence (a point value; see ``difference`` for the test).
    difference, se, statistic, p_value, df, ci_low, ci_high : the contrast reported minus unreported from
        the mixed-effects meta-regression ``yi ~ reported`` (common tau²), its test (``df`` None for
        ``z``) and CI at ``level``. A CI excluding 0 says reported experiments differ systematically.
    tau2 : residual between-study variance of that meta-regression.
    all, reported, unreported, contrast : the four fits as :class:`MetaResult` objects.
    provenance : method, options, rows dropped, input hash.
    """

    k: int
    k_reported: int
    k_unreported: int
    method: str
    test: str
    level: float
    estimate_all: float
    estimate_reported: float
    estimate_unreported: float
    inflation: float
    difference: float
    se: float
    statistic: float
    p_value: float
    df: float | None
    ci_low: float
    ci_high: float
    tau2: float
    all: MetaResult = field(repr=False)
    reported: MetaResult = field(repr=False)
    unreported: MetaResult = field(repr=False)
    contrast: MetaResult = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<FileDrawer {self.method} k={self.k} reported={self.k_reported} inflation={self.inflation:.4g} "
                f"difference={self.difference:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] p={self.p_value:.4g}>")

    def to_frame(self) -> pd.DataFrame:
        """Rows ``all, reported, unreported, reported - unreported`` with ``set, k, estimate, se, statistic,
        p_value, ci_low, ci_high, tau2``."""
        rows = []
        for name, res in (("all", self.all), ("reported", self.reported), ("unreported", self.unreported)):
            rows.append({"set": name, "k": res.k, "estimate": res.estimate, "se": res.se, "statistic": res.statistic,
                         "p_value": res.p_value, "ci_low": res.ci_low, "ci_high": res.ci_high, "tau2": res.tau2})
        rows.append({"set": "reported - unreported", "k": self.k, "estimate": self.difference, "se": self.se,
                     "statistic": self.statistic, "p_value": self.p_value, "ci_low": self.ci_low,
                     "ci_high": self.ci_high, "tau2": self.tau2})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every scalar field, ``fits`` (the rows of :meth:`to_frame`) and provenance."""
        out: dict[str, Any] = {name: json_safe(getattr(self, name)) for name in _SCALARS}
        out["fits"] = json_safe(self.to_frame())
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        pct = round(self.level * 100)
        lines: list[tuple[str, Any]] = [
            ("model", f"{self.method}, test={self.test}"),
            ("experiments", f"{self.k} ({self.k_reported} reported, {self.k_unreported} unreported)"),
            ("estimate, all", self.estimate_all), ("estimate, reported only", self.estimate_reported),
            ("inflation (reported - all)", self.inflation),
            ("difference (reported - unreported)", self.difference),
            (f"{pct}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"), ("p_value", self.p_value),
        ]
        return Summary(title="File drawer: reported vs all experiments", lines=lines,
                       tables=[("fits", self.to_frame())], notes=tuple(self.provenance.warnings))


def _as_bool(reported: Any, n: int, labels: list[str]) -> np.ndarray:
    values = reported.to_numpy() if isinstance(reported, pd.Series) else np.asarray(reported, dtype=object)
    if values.ndim != 1 or values.size != n:
        raise InputError(f"'reported' must have one entry per experiment ({n}); got shape {values.shape}. "
                         f"Pass one True/False per experiment, aligned with yi and vi.")
    out = np.empty(n, dtype=float)
    for i, val in enumerate(values):
        if val is None or (isinstance(val, float) and np.isnan(val)) or val is pd.NA:
            out[i] = np.nan
        elif isinstance(val, (bool, np.bool_)) or (isinstance(val, (int, float, np.integer, np.floating))
                                                   and float(val) in (0.0, 1.0)):
            out[i] = float(val)
        else:
            raise InputError(
                f"'reported' must be True/False (or 1/0); got {val!r} at {describe_rows([i], labels)}. "
                f"Mark each experiment as reported (published, in the paper) or not."
            )
    return out


def file_drawer(yi: Any, vi: Any, reported: Any, *, method: Method = "REML", test: TestKind = "z",
                level: float = 95, labels: Any = None) -> FileDrawer:
    """Compare the pooled effect of all experiments with that of the reported ones only.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances of every experiment run, reported or not.
    reported : array-like of bool
        True for experiments that were reported (in the paper, the dashboard, the PR), False for those
        left in the drawer. At least one of each, and k >= 3 (k >= 2 for ``method="EE"``).
    method, test, level : as in :func:`consilience.meta_analyze`, used for every fit.
    labels : array-like, optional
        Experiment labels for messages.

    Returns
    -------
    FileDrawer
        ``estimate_all, estimate_reported, estimate_unreported, inflation`` and the contrast
        ``difference, se, statistic, p_value, df, ci_low, ci_high`` (see the class).

    Notes
    -----
    Approach: a subgroup contrast by meta-regression. ``yi = b0 + b1 reported_i + u_i + e_i`` with a
    common ``tau²`` is fitted with ``method``; ``b1`` (reported minus unreported) with its standard error,
    test and CI is the evidence of selective reporting. The estimates of all, reported-only and
    unreported-only experiments are separate fits; ``inflation = estimate_reported - estimate_all`` is
    the bias a reader of the reported experiments alone incurs. The reported-only and all-experiments
    estimates share data, so their difference has no simple standard error; its sign and size follow
    the contrast. Experiments with a missing ``yi``, ``vi`` or ``reported`` are dropped with one
    :class:`~consilience.errors.DataDroppedWarning`.

    References
    ----------
    Rosenthal, R. (1979). The file drawer problem and tolerance for null results. Psychological
    Bulletin, 86(3), 638-641.
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3) (subgroup contrasts by meta-regression).

    Validated against: metafor 3.8-1 ``rma(yi, vi, mods = ~ reported)`` and ``rma(yi, vi, subset = ...)``.
    """
    method_c = check_choice("method", method, METHODS, aliases=METHOD_ALIASES)
    test_c = check_choice("test", test, ("z", "knha"))
    lv = check_level(level)
    n = len(np.atleast_1d(np.asarray(yi, dtype=object)))
    lab = [str(x) for x in (labels if labels is not None else range(n))]
    y = as_float_vector("yi", yi, labels=lab)
    v = as_float_vector("vi", vi, labels=lab)
    if y.size != v.size or len(lab) != y.size:
        raise InputError(f"'yi', 'vi' and 'labels' must have the same length; got {y.size}, {v.size} and {len(lab)}. "
                         f"Pass one variance (and one label) per experiment.")
    r = _as_bool(reported, y.size, lab)
    bad = np.isnan(y) | np.isnan(v) | np.isnan(r)
    notes: tuple[str, ...] = ()
    if bad.any():
        msg = (f"{int(bad.sum())} of {y.size} experiments dropped ({int(np.isnan(y).sum())} missing yi, "
               f"{int(np.isnan(v).sum())} missing vi, {int(np.isnan(r).sum())} missing reported): "
               f"{describe_rows(np.flatnonzero(bad), lab)}.")
        warnings.warn(msg, DataDroppedWarning, stacklevel=2)
        notes = (msg,)
    keep = ~bad
    y, v, r = y[keep], v[keep], r[keep].astype(bool)
    lab = [x for x, kk in zip(lab, keep) if kk]
    k, k_rep = y.size, int(r.sum())
    need = 2 if method_c == "EE" else 3
    if k_rep == 0 or k_rep == k or k < need:
        raise InputError(
            f"file_drawer needs reported and unreported experiments and k >= {need}; got k = {k} with "
            f"{k_rep} reported and {k - k_rep} unreported. Include the experiments left out of the report."
        )
    model = MetaAnalysis(method=method_c, test=test_c, level=lv)  # type: ignore[arg-type]
    lab_arr = np.array(lab, dtype=object)
    all_fit = model.fit(y, v, labels=lab)
    rep_fit = model.fit(y[r], v[r], labels=lab_arr[r])
    unr_fit = model.fit(y[~r], v[~r], labels=lab_arr[~r])
    contrast = model.fit(y, v, mods=pd.DataFrame({"reported": r.astype(float)}), labels=lab)
    c = contrast.coefficients[1]
    prov = Provenance(method=method_c, k=k, n_dropped=int(bad.sum()),
                      dropped_reason="missing yi, vi or reported" if bad.any() else None, warnings=notes,
                      options={"test": test_c, "level": lv, "diagnostic": "file_drawer",
                               "approach": "meta-regression on reported (common tau²)"},
                      input_hash=input_hash(y, v, r.astype(float)))
    return FileDrawer(
        k=k, k_reported=k_rep, k_unreported=k - k_rep, method=method_c, test=test_c, level=lv,
        estimate_all=all_fit.estimate, estimate_reported=rep_fit.estimate, estimate_unreported=unr_fit.estimate,
        inflation=rep_fit.estimate - all_fit.estimate, difference=c.estimate, se=c.se, statistic=c.statistic,
        p_value=c.p_value, df=contrast.df, ci_low=c.ci_low, ci_high=c.ci_high, tau2=contrast.tau2,
        all=all_fit, reported=rep_fit, unreported=unr_fit, contrast=contrast, provenance=prov,
    )
