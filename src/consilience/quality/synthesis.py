"""Quality-aware synthesis: does the conclusion survive without the studies at risk of bias?

Three views of the same studies, as systematic reviews report them:

* risk of bias as a moderator: one estimate per risk level (separate tau², the test for
  subgroup differences) and the meta-regression on the risk level (one common tau², its
  omnibus test);
* a sensitivity analysis restricted to the studies at low risk of bias, beside the full estimate;
* optionally, quality weights, always labelled as a sensitivity analysis: never the primary
  result, because the weights are a judgement, not data.

The inclusion flow (found, excluded with reasons, analysed) says which studies were there to
begin with (:class:`InclusionFlow`, :func:`inclusion_flow`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, require_columns
from consilience.errors import InputError
from consilience.pooling import MetaResult, SubgroupResult, meta_analyze, subgroup_analysis
from consilience.quality._pooling import Method, Test, check_pooling
from consilience.quality.checklist import JUDGEMENTS, check_judgement

__all__ = [
    "FLOW_COLUMNS",
    "SYNTHESIS_COLUMNS",
    "InclusionFlow",
    "QualitySynthesis",
    "inclusion_flow",
    "quality_synthesis",
]

SYNTHESIS_COLUMNS = (
    "analysis", "role", "risk", "k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high",
    "tau2", "i2", "p_value",
)
"""Columns of :attr:`QualitySynthesis.table`."""

FLOW_COLUMNS = ("step", "reason", "experiments", "studies", "runs")
"""Columns of :attr:`InclusionFlow.steps`."""


# -- inclusion flow -------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class InclusionFlow:
    """Which runs were found, which were excluded and why, and which were analysed.

    Attributes
    ----------
    protocol : str or None
        The locked protocol whose criteria were applied (None: the registry's defaults).
    metric : str
    steps : DataFrame
        Columns :data:`FLOW_COLUMNS`: the first row (``step="found"``) counts what was found,
        each ``excluded`` row what its reason removed (experiments and studies whose last runs
        it removed), the last row (``analysed``) what was analysed. A study is an (experiment,
        task) pair.
    """

    protocol: str | None
    metric: str
    steps: pd.DataFrame

    @property
    def found(self) -> dict[str, int]:
        row = self.steps.iloc[0]
        return {k: int(row[k]) for k in ("experiments", "studies", "runs")}

    @property
    def analysed(self) -> dict[str, int]:
        row = self.steps.iloc[-1]
        return {k: int(row[k]) for k in ("experiments", "studies", "runs")}

    @property
    def excluded(self) -> pd.DataFrame:
        """The ``excluded`` rows that removed anything."""
        ex = self.steps.loc[self.steps["step"] == "excluded"]
        return ex.loc[ex[["experiments", "studies", "runs"]].sum(axis=1) > 0].reset_index(
            drop=True)

    def __repr__(self) -> str:
        f, a = self.found, self.analysed
        return (f"<InclusionFlow {self.protocol or '(no protocol)'} {self.metric}: found "
                f"{f['runs']} runs, analysed {a['runs']} runs in {a['studies']} studies>")

    def __str__(self) -> str:
        f, a = self.found, self.analysed
        lines = [(f"found     {f['runs']} runs of {self.metric}: {f['experiments']} experiments, "
                 f"{f['studies']} studies (experiment x task)")]
        for row in self.excluded.itertuples(index=False):
            lines.append(f"excluded  {row.runs} runs, {row.studies} studies, {row.experiments} "
                         f"experiments: {row.reason}")
        lines.append(f"analysed  {a['runs']} runs: {a['experiments']} experiments, "
                     f"{a['studies']} studies")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.steps.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "metric": self.metric, "found": self.found,
                "excluded": json_safe(self.excluded), "analysed": self.analysed,
                "steps": json_safe(self.steps)}

    def summary(self) -> Summary:
        return Summary(title=f"Inclusion flow ({self.protocol or 'no protocol'})",
                       lines=[("metric", self.metric)], tables=[("steps", self.shown)])

    @property
    def shown(self) -> pd.DataFrame:
        """``steps`` without the exclusions that removed nothing."""
        keep = (self.steps["step"] != "excluded") | (
            self.steps[["experiments", "studies", "runs"]].sum(axis=1) > 0)
        return self.steps.loc[keep].reset_index(drop=True)


def inclusion_flow(
    runs: pd.DataFrame,
    criteria: Sequence[tuple[str, pd.Series]],
    *,
    metric: str,
    protocol: str | None = None,
    found: str = "found",
) -> InclusionFlow:
    """Apply inclusion criteria in order and count what each one removes.

    Parameters
    ----------
    runs : DataFrame
        Every run found, with columns ``experiment`` and ``task``.
    criteria : sequence of (reason, mask)
        Boolean Series aligned with ``runs`` (True: the run passes). A run is excluded by the
        first criterion it fails; later criteria see only the remaining runs.
    metric : str
    protocol : str, optional
    found : str
        The text of the first row's ``reason``.

    Returns
    -------
    InclusionFlow

    Validated against: hand-counted tables in ``tests/quality/test_synthesis.py``.
    """
    require_columns(runs, ["experiment", "task"], what="runs")

    def counts(frame: pd.DataFrame) -> tuple[int, int, int]:
        studies = frame[["experiment", "task"]].drop_duplicates()
        return int(frame["experiment"].nunique()), len(studies), len(frame)

    rows: list[tuple[Any, ...]] = [("found", found, *counts(runs))]
    remaining = runs
    for reason, mask in criteria:
        keep = mask.reindex(remaining.index).fillna(False).astype(bool)
        after = remaining.loc[keep]
        before_c, after_c = counts(remaining), counts(after)
        rows.append(("excluded", reason, *(b - a for b, a in zip(before_c, after_c))))
        remaining = after
    rows.append(("analysed", "runs analysed", *counts(remaining)))
    steps = pd.DataFrame(rows, columns=list(FLOW_COLUMNS))
    return InclusionFlow(protocol=protocol, metric=metric, steps=steps)


# -- synthesis ------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class QualitySynthesis:
    """Result of :func:`quality_synthesis`.

    Attributes
    ----------
    metric : str or None
    table : DataFrame
        Columns :data:`SYNTHESIS_COLUMNS`; rows ``all studies`` (role ``primary``), ``low risk of
        bias only`` (``sensitivity``), one ``subgroup: <level>`` per risk level present
        (``subgroup``) and, with quality weights, ``quality-weighted`` (``sensitivity``).
        Analyses that cannot be fitted keep their row with ``k`` and NaN elsewhere.
    counts : dict
        Studies per risk level (all four levels, zeros included).
    full, low_risk, weighted : MetaResult or None
    subgroups : SubgroupResult or None
        Separate fits per level and the test for subgroup differences (two or more levels with
        at least two studies each; a level with one study keeps its row, without numbers).
    metaregression : MetaResult or None
        Meta-regression on the risk level (reference: the lowest-risk level present).
    q_between, q_between_df, q_between_p_value : float, int, float or None
        The subgroup-differences test (from ``subgroups``).
    qm, qm_df, qm_p_value : float, int, float or None
        The meta-regression's omnibus test of the risk level.
    quality_weights : dict or None
    flow : InclusionFlow or None
    notes : tuple of str
        Plain-language statements of the comparison.
    method, test, level, provenance : how it was made.
    """

    metric: str | None
    table: pd.DataFrame
    counts: Mapping[str, int]
    full: MetaResult = field(repr=False)
    low_risk: MetaResult | None = field(repr=False)
    subgroups: SubgroupResult | None = field(repr=False)
    metaregression: MetaResult | None = field(repr=False)
    weighted: MetaResult | None = field(repr=False)
    quality_weights: Mapping[str, float] | None
    flow: InclusionFlow | None
    notes: tuple[str, ...]
    method: str
    test: str
    level: float
    provenance: Provenance = field(repr=False)

    @property
    def q_between(self) -> float | None:
        return None if self.subgroups is None else self.subgroups.q_between

    @property
    def q_between_df(self) -> int | None:
        return None if self.subgroups is None else self.subgroups.q_between_df

    @property
    def q_between_p_value(self) -> float | None:
        return None if self.subgroups is None else self.subgroups.q_between_p_value

    @property
    def qm(self) -> float | None:
        return None if self.metaregression is None else self.metaregression.qm

    @property
    def qm_df(self) -> int | None:
        return None if self.metaregression is None else self.metaregression.qm_df

    @property
    def qm_p_value(self) -> float | None:
        return None if self.metaregression is None else self.metaregression.qm_p_value

    def __repr__(self) -> str:
        low = self.low_risk
        tail = (f" low-risk-only k={low.k} estimate={low.estimate:.4g}" if low is not None
                else " low-risk-only: none")
        return (f"<QualitySynthesis k={self.full.k} estimate={self.full.estimate:.4g} "
                f"[{self.full.ci_low:.4g}, {self.full.ci_high:.4g}]{tail}>")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the table as records, the tests, counts, weights, flow and notes."""
        return {
            "metric": self.metric, "method": self.method, "test": self.test, "level": self.level,
            "analyses": json_safe(self.table), "counts": dict(self.counts),
            "q_between": json_safe(self.q_between), "q_between_df": self.q_between_df,
            "q_between_p_value": json_safe(self.q_between_p_value),
            "qm": json_safe(self.qm), "qm_df": self.qm_df, "qm_p_value": json_safe(self.qm_p_value),
            "quality_weights": None if self.quality_weights is None else dict(
                self.quality_weights),
            "flow": None if self.flow is None else self.flow.to_dict(),
            "notes": list(self.notes), "provenance": self.provenance.to_dict(),
        }

    def summary(self) -> Summary:
        lines: list[tuple[str, Any]] = [
            ("metric", self.metric or "-"),
            ("model", f"random effects ({self.method}), test={self.test}"),
            ("studies by risk", ", ".join(f"{k} {n}" for k, n in self.counts.items() if n)),
        ]
        if self.subgroups is not None:
            lines.append(("subgroup differences", (f"Q = {self.q_between:.4f}, df = "
                          f"{self.q_between_df}, p = {self.q_between_p_value:.4g}")))
        if self.metaregression is not None:
            dist = "F" if self.test == "knha" else "chi2"
            lines.append(("meta-regression on risk", (f"QM = {self.qm:.4f} ({dist}, df = "
                          f"{self.qm_df}), p = {self.qm_p_value:.4g}")))
        cols = ["analysis", "role", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high",
                "i2"]
        tables = [("analyses", self.table[cols])]
        if self.flow is not None:
            tables.append(("inclusion flow", self.flow.shown))
        return Summary(title="Quality-aware synthesis", lines=lines, tables=tables,
                       notes=list(self.notes))


def _row(analysis: str, role: str, risk: str, k: int, fit: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"analysis": analysis, "role": role, "risk": risk, "k": k}
    for key in SYNTHESIS_COLUMNS[4:]:
        if fit is None:
            row[key] = float("nan")
        else:
            row[key] = float(fit[key] if isinstance(fit, pd.Series) else getattr(fit, key))
    return row


def _conclusion(fit: MetaResult) -> str:
    if fit.ci_low > 0:
        return "a gain"
    if fit.ci_high < 0:
        return "a loss"
    return "no clear effect"


def _check_weights(weights: Mapping[str, float], present: Sequence[str]) -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"quality_weights must be a mapping {{judgement: weight}}; got "
                        f"{type(weights).__name__}.")
    out: dict[str, float] = {}
    for key, value in weights.items():
        level = check_judgement(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"quality_weights[{key!r}] must be a number in (0, 1]; got "
                            f"{value!r}.")
        w = float(value)
        if not (0.0 < w <= 1.0):
            raise InputError(f"quality_weights[{key!r}] must lie in (0, 1]; got {value!r}. A "
                             "weight of 0.5 halves a study's precision (doubles its variance).")
        out[level] = w
    missing = [lv for lv in present if lv not in out]
    if missing:
        raise InputError(f"quality_weights has no weight for risk level(s) {missing} present "
                         f"in the studies; give one per level, e.g. {{'low': 1, 'some concerns':"
                         " 0.5, 'high': 0.25, 'unknown': 0.5}.")
    return out


def quality_synthesis(
    studies: pd.DataFrame,
    *,
    yi: str = "yi",
    vi: str = "vi",
    risk: str = "risk",
    labels: str | None = None,
    quality_weights: Mapping[str, float] | None = None,
    metric: str | None = None,
    flow: InclusionFlow | None = None,
    method: Method = "REML",
    test: Test = "knha",
    level: float = 95,
) -> QualitySynthesis:
    r"""Pool studies with and without those at risk of bias, and test whether risk matters.

    Parameters
    ----------
    studies : DataFrame
        One row per study with its effect, sampling variance and overall risk-of-bias
        judgement (``low``, ``some concerns``, ``high``, ``unknown``; missing reads as
        ``unknown``).
    yi, vi, risk : str
        Column names.
    labels : str, optional
        Column of study labels.
    quality_weights : mapping, optional
        ``{judgement: weight}`` with weights in (0, 1] for every level present: adds a
        quality-weighted sensitivity analysis.
    metric : str, optional
        Shown on the result.
    flow : InclusionFlow, optional
        Stored on the result.
    method, test, level :
        As in :func:`consilience.meta_analyze` (default REML with Knapp-Hartung).

    Returns
    -------
    QualitySynthesis
        ``table`` (:data:`SYNTHESIS_COLUMNS`), the fits, the subgroup-differences test
        (``q_between``...), the meta-regression test (``qm``...), ``counts``, ``notes``.

    Notes
    -----
    Subgroups are fitted separately (each level its own :math:`\tau^2`) and compared with the
    Wald-type test :math:`Q_b = \sum_g w_g(\hat\mu_g - \bar\mu_w)^2`,
    :math:`w_g = 1/SE_g^2`, on :math:`G - 1` df (:func:`consilience.subgroup_analysis`). The
    meta-regression :math:`y_i = \beta_0 + \sum_l \beta_l [risk_i = l] + u_i + e_i` shares one
    :math:`\tau^2`; its omnibus test is ``qm``. The quality-weighted analysis divides each
    study's variance by its weight, :math:`v_i^* = v_i / w_{risk_i}`, so a weight of 0.5 halves
    the study's precision; it is a sensitivity analysis, never the primary result.

    References
    ----------
    Higgins, J. P. T. et al. (eds.) (2023). Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4, sections 7.6 (risk of bias in the synthesis) and 10.11.

    Validated against: metafor 3.8-1 ``rma(yi, vi, subset=)``, ``rma(yi, vi, mods =
    ~ relevel(factor(risk), ref="low"))`` and ``rma(yi, vi / w)`` on the example registry's
    studies (``tests/reference/quality``).
    """
    if not isinstance(studies, pd.DataFrame):
        raise TypeError(f"studies must be a pandas DataFrame; got {type(studies).__name__}.")
    method_c, test_c = check_pooling(method, test)
    require_columns(studies, [yi, vi, risk] + ([labels] if labels else []), what="studies")
    if studies.empty:
        raise InputError("studies is empty: there is nothing to pool. Check the inclusion flow.")
    lab = (studies[labels].astype(str).tolist() if labels
           else [str(i) for i in studies.index])
    y = as_float_vector(yi, studies[yi], labels=lab)
    v = as_float_vector(vi, studies[vi], labels=lab)
    risk_values = np.array([check_judgement(r) if isinstance(r, str) else "unknown"
                            for r in studies[risk].tolist()], dtype=object)
    present = [lv for lv in JUDGEMENTS if (risk_values == lv).any()]
    counts = {lv: int((risk_values == lv).sum()) for lv in JUDGEMENTS}
    opts: dict[str, Any] = {"method": method_c, "test": test_c, "level": level}
    full = meta_analyze(y, v, labels=lab, **opts)
    rows = [_row("all studies", "primary", "all", full.k, full)]
    notes: list[str] = []
    low = risk_values == "low"
    low_fit = None
    if low.sum() >= 2:
        low_fit = meta_analyze(y[low], v[low], labels=[lb for lb, k in zip(lab, low) if k],
                               **opts)
    rows.append(_row("low risk of bias only", "sensitivity", "low", int(low.sum()), low_fit))
    pct = round(full.level * 100)
    notes.append(f"all {full.k} studies: {full.estimate:+.4g} ({pct}% CI [{full.ci_low:+.4g}, "
                 f"{full.ci_high:+.4g}])")
    if low_fit is None:
        notes.append(f"{int(low.sum())} stud{'y' if low.sum() == 1 else 'ies'} at low risk of "
                     "bias: too few for a sensitivity analysis (2 needed); assess the "
                     "checklists (consilience quality assess)")
    else:
        before, after = _conclusion(full), _conclusion(low_fit)
        verdict = (f"the conclusion ({before}) holds without the studies at risk of bias"
                   if before == after else f"the conclusion changes from {before} to {after}")
        notes.append(f"{low_fit.k} studies at low risk of bias only: {low_fit.estimate:+.4g} "
                     f"({pct}% CI [{low_fit.ci_low:+.4g}, {low_fit.ci_high:+.4g}]); {verdict}")
    subgroups = metareg = None
    fitted = [lv for lv in present if counts[lv] >= 2]
    if len(fitted) >= 2:
        keep = np.isin(risk_values, fitted)
        subgroups = subgroup_analysis(y[keep], v[keep], risk_values[keep], **opts)
        table = subgroups.table.set_index("subgroup")
        notes.append(f"test for subgroup differences: Q = {subgroups.q_between:.3f}, df = "
                     f"{subgroups.q_between_df}, p = {subgroups.q_between_p_value:.3g}")
    if len(present) >= 2:
        for lv in present:
            fit = table.loc[lv] if subgroups is not None and lv in fitted else None
            rows.append(_row(f"subgroup: {lv}", "subgroup", lv, counts[lv], fit))
        single = [lv for lv in present if lv not in fitted]
        if single:
            notes.append(f"risk level(s) {single} with a single study: no subgroup estimate, "
                         "left out of the test for subgroup differences")
        if full.k > len(present):
            mods = pd.DataFrame({"risk": pd.Categorical(risk_values, categories=present)})
            metareg = meta_analyze(y, v, mods=mods, labels=lab, **opts)
    weighted = None
    weights = None
    if quality_weights is not None:
        weights = _check_weights(quality_weights, present)
        w = np.array([weights[r] for r in risk_values])
        weighted = meta_analyze(y, v / w, labels=lab, **opts)
        rows.append(_row("quality-weighted", "sensitivity", "all", weighted.k, weighted))
        notes.append("quality-weighted (sensitivity analysis only): variances divided by "
                     + ", ".join(f"{k} {v_:g}" for k, v_ in weights.items()))
    table_out = pd.DataFrame(rows, columns=list(SYNTHESIS_COLUMNS))
    provenance = Provenance(
        method=f"quality_synthesis/{method_c}/{test_c}", k=full.k,
        warnings=tuple(full.provenance.warnings),
        options={"method": method_c, "test": test_c, "level": full.level, "metric": metric,
                 "quality_weights": weights},
        input_hash=input_hash(y, v, ",".join(risk_values.tolist())),
    )
    return QualitySynthesis(
        metric=metric, table=table_out, counts=counts, full=full, low_risk=low_fit,
        subgroups=subgroups, metaregression=metareg, weighted=weighted, quality_weights=weights,
        flow=flow, notes=tuple(notes), method=method_c, test=test_c, level=full.level,
        provenance=provenance,
    )
