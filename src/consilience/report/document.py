"""The report: an executive summary, methods with provenance, tables and figures.

:func:`build_report` reads either a runs table (every candidate ranked against one baseline, as
:func:`consilience.rank`) or an experiment registry (the leaderboard of every experiment against
its own baseline, the living analyses of locked protocols and the chain of baselines) and returns
a frozen :class:`Report`. ``Report.to_html()`` writes one self-contained HTML file (inline CSS and
SVG, no scripts, no network); ``Report.to_markdown()`` the same text and tables for a pull
request, without the figures.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from consilience._results import Provenance, input_hash, json_safe, package_version
from consilience.errors import ConsilienceWarning, InputError
from consilience.report.figures import SvgFigure, svg_figure
from consilience.report.history import history_cumulative, snapshot_history
from consilience.report.narrative import ExecutiveSummary, describe, executive_summary
from consilience.report.tables import comparison_view, frame_cells

if TYPE_CHECKING:
    from consilience.compare.comparison import Comparison

__all__ = [
    "Report",
    "ReportSection",
    "ReportTable",
    "build_report",
    "forest_figure",
    "funnel_figure",
]

_COUNTS = ("rank", "k", "seeds_needed", "tasks_needed", "n_runs", "n_deviations")


@dataclass(frozen=True, eq=False)
class ReportTable:
    """A table of the report.

    Attributes
    ----------
    title : str
    frame : DataFrame
        The values, full precision; rounding happens when rendering.
    note : str or None
        Shown under the table.
    digits : int
        Decimals shown for floats.
    """

    title: str
    frame: pd.DataFrame = field(repr=False)
    note: str | None = None
    digits: int = 4

    def cells(self) -> tuple[list[str], list[list[str]]]:
        """Column names and rows as text (counts without decimals)."""
        return frame_cells(self.frame, digits=self.digits, integer_columns=_COUNTS)


@dataclass(frozen=True, eq=False)
class ReportSection:
    """A section: paragraphs, tables, figures and subsections, in that order.

    Attributes
    ----------
    key : str
        Anchor of the section in the HTML file (letters, digits and dashes only).
    title : str
    paragraphs : tuple of str
    tables : tuple of ReportTable
    figures : tuple of SvgFigure
    subsections : tuple of ReportSection
    collapsible : bool
        Render the subsections as collapsible blocks (the first one open).
    """

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    figures: tuple[SvgFigure, ...] = ()
    subsections: tuple[ReportSection, ...] = ()
    collapsible: bool = False


@dataclass(frozen=True, eq=False)
class Report:
    """A complete report, ready to render.

    Attributes
    ----------
    title : str
    summary : ExecutiveSummary
        The opening: headline, findings and next steps in plain language.
    methods : tuple of (str, str)
        How the numbers were made: package version, data source, metric, model, options,
        protocol hashes, input hash.
    sections : tuple of ReportSection
        Tables and figures after the methods.
    warnings : tuple of str
        Every warning raised while analysing (dropped rows, small samples), once each.
    generated_at : datetime
        When the report was built (UTC).
    provenance : Provenance
        Method (``report/runs`` or ``report/registry``), options, the hash of the runs analysed
        and the package version.
    """

    title: str
    summary: ExecutiveSummary
    methods: tuple[tuple[str, str], ...]
    sections: tuple[ReportSection, ...]
    warnings: tuple[str, ...]
    generated_at: datetime
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        figures = sum(1 for _ in self.figures())
        return (f"<Report {self.title!r} sections={len(self.sections)} figures={figures} "
                f"warnings={len(self.warnings)}>")

    def figures(self) -> Iterator[SvgFigure]:
        """Every figure, in document order."""
        def walk(sections: Sequence[ReportSection]) -> Iterator[SvgFigure]:
            for s in sections:
                yield from s.figures
                yield from walk(s.subsections)
        return walk(self.sections)

    def to_html(self) -> str:
        """One self-contained HTML document (see :func:`consilience.report.html.render_html`)."""
        from consilience.report.html import render_html

        return render_html(self)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown (see :func:`consilience.report.markdown.render_markdown`)."""
        from consilience.report.markdown import render_markdown

        return render_markdown(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: title, summary, methods, sections (tables as records, figures as SVG text),
        warnings, generation time and provenance."""
        def section(s: ReportSection) -> dict[str, Any]:
            return {"key": s.key, "title": s.title, "paragraphs": list(s.paragraphs),
                    "tables": [{"title": t.title, "note": t.note, "rows": json_safe(t.frame)}
                               for t in s.tables],
                    "figures": [f.to_dict() for f in s.figures],
                    "subsections": [section(x) for x in s.subsections]}
        return {"title": self.title, "summary": self.summary.to_dict(),
                "methods": [list(m) for m in self.methods],
                "sections": [section(s) for s in self.sections], "warnings": list(self.warnings),
                "generated_at": self.generated_at.isoformat(),
                "provenance": self.provenance.to_dict()}

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write HTML (``.html``, ``.htm``) or Markdown (``.md``, ``.markdown``) by the suffix."""
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix in (".html", ".htm"):
            text = self.to_html()
        elif suffix in (".md", ".markdown"):
            text = self.to_markdown()
        else:
            raise InputError(f"report file '{out.name}' must end in .html or .md (the format is "
                             f"chosen by the suffix); got {suffix or 'no suffix'!r}.")
        out.write_text(text, encoding="utf-8")
        return out


# -- figures ------------------------------------------------------------------------------------
def forest_figure(key: str, meta: Any, *, title: str = "Per-task effects (forest plot)",
                  effect_label: str = "Difference") -> SvgFigure:
    """The forest plot of a comparison's meta-analysis, tasks ordered by effect."""
    k = int(getattr(meta, "k", 1))
    height = 0.2 * (k + 7) + 0.6
    return svg_figure(key, title, "forest_plot", meta, width=7.0, height=height,
                      rect=(0.32, 0.45 / height, 0.38, 1 - 0.55 / height), order="estimate",
                      label_header="Task", effect_label=effect_label)


def funnel_figure(key: str, meta: Any, *, title: str = "Funnel plot") -> SvgFigure:
    """The contour-enhanced funnel plot of a comparison's meta-analysis."""
    return svg_figure(key, title, "funnel_plot", meta, width=5.6, height=3.6,
                      rect=(0.14, 0.16, 0.62, 0.78), xlabel="Difference (candidate - baseline)")


# -- helpers ------------------------------------------------------------------------------------
@contextmanager
def _collect(into: list[tuple[type[Warning], str]]) -> Iterator[None]:
    """Record our warnings raised inside, in order, without duplicates (others pass through)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConsilienceWarning)
        yield
    for w in caught:
        if not issubclass(w.category, ConsilienceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        item = (w.category, str(w.message))
        if item not in into:
            into.append(item)


def _fmt_level(level: float) -> str:
    value = level * 100 if level <= 1 else level
    return f"{value:g}%"


def _is_registry(source: Any) -> bool:
    return all(hasattr(source, a) for a in ("experiments", "runs", "lineage", "snapshots"))


def _figure_note(n: int, max_figures: int, figures: bool, what: str) -> tuple[str, ...]:
    if not figures or n <= max_figures:
        return ()
    text = (f"Forest and funnel plots are drawn for the first {max_figures} {what} in this "
            f"order (--max-figures).")
    return (text,)


def _finding_paragraphs(result: Any, **names: Any) -> tuple[str, ...]:
    return describe(result, **names).sentences()


# -- from runs ----------------------------------------------------------------------------------
def _report_from_runs(runs: Any, *, baseline: str | None, metric: str | None,
                      options: dict[str, Any], max_figures: int, figures: bool,
                      notes: list[tuple[type[Warning], str]]) -> tuple[ExecutiveSummary, list[tuple[str, str]],
                                                  list[ReportSection], str, dict[str, Any]]:
    from consilience.compare import compare, rank
    from consilience.compare.runs import read_runs

    if not baseline:
        raise InputError("a report from a runs table needs the baseline arm every candidate is "
                         "ranked against; pass baseline= (CLI: --baseline NAME).")
    frame = read_runs(runs)
    with _collect(notes):
        ranking = rank(frame, baseline=baseline, metric=metric, **options)
    table = ranking.table
    rows = [{**r, "metric": ranking.metric, "baseline": baseline,
             "threshold": options.get("threshold", 0.0), "level": ranking.level}
            for r in table.to_dict(orient="records")]
    summary = executive_summary(rows, metric=ranking.metric, baseline=baseline,
                                subject_column="arm")
    pct = _fmt_level(ranking.level)
    sections = [ReportSection(
        "ranking", f"Ranking against {baseline}",
        ((f"Every candidate compared with {baseline} on {ranking.metric} ({ranking.direction} is "
         f"better), most robust first. Robustness is the probability of beating {baseline} on a "
         f"new task; p_holm adjusts the p-values for the {len(table)} comparisons (Holm). "
         f"Intervals are {pct}."),),
        (ReportTable("Candidates, most robust first",
                     comparison_view(table, leading=("rank", "arm"), level=ranking.level)),),
    )]
    subsections = []
    for i, row in enumerate(rows):
        arm = str(row["arm"])
        paragraphs = _finding_paragraphs(row, subject=arm)
        figs: tuple[SvgFigure, ...] = ()
        if figures and i < max_figures and math.isfinite(float(row.get("estimate") or math.nan)):
            with _collect(notes):
                comparison = compare(frame, baseline=baseline, candidate=arm, metric=metric,
                                     **options)
            figs = (forest_figure(f"forest-{i}", comparison.meta),
                    funnel_figure(f"funnel-{i}", comparison.meta))
        subsections.append(ReportSection(f"candidate-{i}", arm, paragraphs, (), figs))
    sections.append(ReportSection("candidates", "Candidates",
                                  _figure_note(len(rows), max_figures, figures, "candidates"),
                                  (), (), tuple(subsections), collapsible=True))
    methods = [
        ("data", f"runs table, {len(frame)} rows, {frame['arm'].nunique()} arms"),
        ("baseline", baseline),
        ("metric", f"{ranking.metric} ({ranking.direction} is better)"),
        ("model", (f"random effects ({ranking.method}), test {ranking.test}, per-task effects "
                  f"pooled across tasks")),
        ("level", pct),
        ("threshold", f"{options.get('threshold', 0.0):g}"),
        ("rope", "none" if options.get("rope") is None else f"±{options['rope']:g}"),
        ("multiplicity", ("Holm (family-wise) and Benjamini-Hochberg (false discovery rate) over "
                         "the candidates")),
        ("input hash", ranking.provenance.input_hash),
    ]
    return summary, methods, sections, ranking.provenance.input_hash, {"baseline": baseline}


# -- from a registry ----------------------------------------------------------------------------
def metric_counts(registry: Any) -> dict[str, int]:
    """Number of complete runs of each metric in ``registry``, counted by the database."""
    from sqlalchemy import func, select

    from consilience.registry.models import Experiment, Run

    stmt = (select(Run.metric, func.count())
            .join(Experiment, Run.experiment_id == Experiment.id)
            .where(Run.status == "complete").group_by(Run.metric))
    with registry.engine.connect() as conn:
        return {str(metric): int(n) for metric, n in conn.execute(stmt)}


def default_metric(registry: Any) -> str | None:
    """The metric a registry is analysed on when none is named: the first locked protocol's
    primary metric, else the metric with the most complete runs (the first by name on a tie);
    None when there is neither."""
    protocols = registry.protocols()
    if len(protocols):
        first = registry.protocol(str(min(protocols["name"])))
        return str(first.spec["primary_metric"])
    counts = metric_counts(registry)
    if not counts:
        return None
    most = max(counts.values())
    return min(m for m, n in counts.items() if n == most)


def _default_metric(registry: Any) -> str:
    found = default_metric(registry)
    if found is None:
        raise InputError("the registry has no complete runs to report on yet. Import runs "
                         "first: consilience import csv RUNS.csv")
    return found


def history_figure(key: str, snapshots: Sequence[Any], *, title: str) -> SvgFigure:
    """The living analysis's estimate at each snapshot, as a cumulative forest plot."""
    cumul = history_cumulative(snapshots)
    if cumul is None:
        return SvgFigure(key, title, None, f"{title}: not drawn, a snapshot lacks its estimate.")
    height = 0.24 * (len(cumul.study) + 4) + 0.7
    return svg_figure(key, title, "cumulative_plot", cumul, width=7.0, height=height,
                      rect=(0.34, 0.5 / height, 0.36, 1 - 0.6 / height),
                      effect_label="Difference")


def progress_figure(key: str, lineage: Any, *, title: str = "Baseline progress") -> SvgFigure:
    """The chain of baselines over time: ``Registry.lineage().to_frame()`` drawn by the
    baseline-progress plot."""
    return svg_figure(key, title, "progress_plot", lineage, width=7.0, height=3.6,
                      rect=(0.1, 0.14, 0.62, 0.8))


def _report_from_registry(registry: Any, *, baseline: str | None, metric: str | None,
                          experiments: Sequence[str] | None, options: dict[str, Any],
                          max_figures: int, figures: bool,
                          notes: list[tuple[type[Warning], str]]) -> tuple[ExecutiveSummary, list[tuple[str, str]],
                                     list[ReportSection], str, dict[str, Any]]:
    from consilience.registry.analysis import compare_experiment, leaderboard, runs_hash

    metric_name = metric or _default_metric(registry)
    table = registry.experiments()
    base_of = dict(zip(table["name"], table["baseline"]))
    names = list(experiments) if experiments is not None else list(table["name"])
    unknown = [n for n in names if n not in base_of]
    if unknown:
        raise InputError(f"experiments {unknown} are not in the registry; registered: "
                         f"{sorted(base_of)}. Check the names.")
    if baseline is not None:
        if baseline not in base_of:
            raise InputError(f"baseline {baseline!r} is not an experiment of the registry; "
                             f"registered: {sorted(base_of)}.")
        names = [n for n in names if base_of[n] == baseline]
    min_effect = dict(zip(table["name"], table["min_effect"]))
    pooled = {k: v for k, v in options.items() if k != "threshold"}
    with _collect(notes):
        board = leaderboard(registry, metric=metric_name, experiments=names, **pooled)
    rows = []
    for r in board.to_dict(orient="records"):
        thr = min_effect.get(r["experiment"])
        rows.append({**r, "metric": metric_name, "level": options.get("level", 95),
                     "threshold": float(thr) if thr is not None and pd.notna(thr) else 0.0})
    summary = executive_summary(rows, metric=metric_name)
    pct = _fmt_level(float(options.get("level", 95)))
    sections = [ReportSection(
        "leaderboard", "Leaderboard",
        ((f"Every experiment with complete runs of {metric_name}, compared with its own baseline "
         f"and ordered by the probability of a gain on a new task. p_holm adjusts the p-values "
         f"over the {len(board)} experiments (Holm). Intervals are {pct}; each verdict uses the "
         f"experiment's smallest effect that matters (min_effect)."),),
        (ReportTable("Experiments against their baselines",
                     comparison_view(board, leading=("experiment", "baseline", "status"),
                                     level=float(options.get("level", 95)))),),
    )]
    subsections = []
    for i, row in enumerate(rows):
        name = str(row["experiment"])
        paragraphs = _finding_paragraphs(row)
        figs: tuple[SvgFigure, ...] = ()
        compared = row.get("error") is None or (isinstance(row.get("error"), float)
                                                and math.isnan(row["error"]))
        if compared and figures and i < max_figures:
            with _collect(notes):
                comparison: Comparison = compare_experiment(registry, name, metric=metric_name,
                                                            **pooled)
            figs = (forest_figure(f"forest-{i}", comparison.meta),
                    funnel_figure(f"funnel-{i}", comparison.meta))
        record = registry.experiment(name)
        if record.hypothesis or record.change:
            paragraphs = ((f"Change: {record.change or '—'}. Hypothesis: "
                          f"{record.hypothesis or '—'}."), *paragraphs)
        subsections.append(ReportSection(f"experiment-{i}", name, paragraphs, (), figs))
    sections.append(ReportSection("experiments", "Experiments",
                                  _figure_note(len(rows), max_figures, figures, "experiments"),
                                  (), (), tuple(subsections), collapsible=True))

    protocol_rows = []
    history_sections = []
    for j, pname in enumerate(sorted(registry.protocols()["name"])):
        proto = registry.protocol(str(pname))
        protocol_rows.append((f"protocol {proto.name}", (f"sha256 {proto.sha256}, locked "
                                                        f"{proto.locked_at:%Y-%m-%d} by "
                                                        f"{proto.locked_by}")))
        snapshots = registry.snapshots(str(pname))
        history = snapshot_history(snapshots)
        if history.empty:
            continue
        last = history.iloc[-1]
        text = (f"Protocol {proto.name} (primary metric {proto.spec['primary_metric']}) has "
                f"{len(history)} snapshot{'s' if len(history) != 1 else ''}; the latest, from "
                f"{last['created_at']:%Y-%m-%d}, reads {last['verdict']}.")
        figs = (history_figure(f"history-{j}", snapshots,
                               title=f"Living analysis: {proto.name}"),) if figures else ()
        shown = history.drop(columns=["se"])
        history_sections.append(ReportSection(
            f"protocol-{j}", f"Protocol {proto.name}", (text,),
            (ReportTable("Snapshots, oldest first", shown),), figs))
    if history_sections:
        sections.append(ReportSection(
            "living-analysis", "Living analysis",
            (("Each locked protocol's pooled estimate, recomputed whenever its runs changed "
             "(consilience update)."),), (), (), tuple(history_sections), collapsible=True))

    lineage = registry.lineage()
    log = lineage.to_frame()
    progress_text = (f"The current baseline is {lineage.current}; {len(lineage.steps)} "
                     f"experiment{'s have' if len(lineage.steps) != 1 else ' has'} served as "
                     f"baseline." if lineage.current else "No baseline yet.")
    sections.append(ReportSection(
        "progress", "Baseline progress", (progress_text,),
        (ReportTable("Experiments tried against each baseline",
                     log[["baseline", "experiment", "status", "change", "created_at"]]),),
        (progress_figure("progress", log),) if figures else ()))

    runs = registry.runs(names, metric=metric_name, status="complete")
    digest = runs_hash(runs)[:16]
    kind = "PostgreSQL" if getattr(registry, "path", None) is None else "SQLite"
    methods = [
        ("data", (f"{kind} experiment registry, {len(names)} experiments, {len(runs)} complete "
                 f"runs of {metric_name}")),
        ("metric", metric_name),
        ("model", (f"random effects ({options.get('method', 'REML')}), test "
                  f"{options.get('test', 'knha')}, per-task effects pooled across tasks; each "
                  f"experiment against its own baseline")),
        ("level", pct),
        ("threshold", "each experiment's min_effect (0 when unset)"),
        ("rope", "none" if options.get("rope") is None else f"±{options['rope']:g}"),
        ("multiplicity", "Holm and Benjamini-Hochberg over the experiments compared"),
        *protocol_rows,
        ("input hash", digest),
    ]
    return summary, methods, sections, digest, {"metric": metric_name}


def build_report(
    source: Any,
    *,
    baseline: str | None = None,
    metric: str | None = None,
    experiments: Sequence[str] | None = None,
    title: str | None = None,
    method: str = "REML",
    test: str = "knha",
    level: float = 95,
    threshold: float = 0.0,
    rope: float | None = None,
    max_figures: int = 6,
    figures: bool = True,
    generated_at: datetime | None = None,
) -> Report:
    """Build the report of a runs table or of an experiment registry.

    Parameters
    ----------
    source : DataFrame, path or Registry
        A tidy runs table (or a CSV/Parquet/JSON file of one): every arm but ``baseline`` is
        ranked against it, as :func:`consilience.rank`. Or a
        :class:`~consilience.registry.Registry`: every experiment against its own baseline
        (the leaderboard), the living analysis of each locked protocol, the chain of baselines.
    baseline : str, optional
        Runs: the reference arm (required). Registry: report only experiments measured
        against this one.
    metric : str, optional
        Metric to compare. Runs: may be omitted when the table holds one. Registry: default the
        first locked protocol's primary metric, else the most common metric of complete runs.
    experiments : sequence of str, optional
        Registry only: the experiments to report (default all with complete runs).
    title : str, optional
        Default "Evidence report: <metric>".
    method, test, level, rope :
        Pooling options, as :func:`consilience.compare`.
    threshold : float
        Runs only: smallest gain that counts. A registry uses each experiment's ``min_effect``.
    max_figures : int
        Forest and funnel plots are drawn for the first ``max_figures`` candidates in ranking
        order (a forest plot of many tasks takes seconds to draw).
    figures : bool
        Draw figures at all (needs matplotlib).
    generated_at : datetime, optional
        Time stamp shown in the report (default now, UTC).

    Returns
    -------
    Report
        With :meth:`Report.to_html` and :meth:`Report.to_markdown`.

    Warns
    -----
    ConsilienceWarning
        Every warning of the analyses (rows dropped, too few tasks), once each after the report
        is built; the same messages are listed in the report's methods.

    Examples
    --------
    >>> from consilience.report.document import build_report
    >>> runs = cs.load_lcdb_example()                                    # doctest: +SKIP
    >>> report = build_report(runs, baseline="LogisticRegression")       # doctest: +SKIP
    >>> Path("report.html").write_text(report.to_html())                 # doctest: +SKIP
    """
    if isinstance(max_figures, bool) or not isinstance(max_figures, int) or max_figures < 0:
        raise InputError(f"The 'max_figures' parameter must be an integer >= 0. Got "
                         f"{max_figures!r} instead.")
    if experiments is not None and isinstance(experiments, str):
        raise TypeError("The 'experiments' parameter must be a sequence of names, not one "
                        f"string; got {experiments!r}. Wrap it in a list.")
    options: dict[str, Any] = {"method": method, "test": test, "level": level,
                               "threshold": threshold, "rope": rope}
    notes: list[tuple[type[Warning], str]] = []
    if _is_registry(source):
        summary, methods, sections, digest, extra = _report_from_registry(
            source, baseline=baseline, metric=metric, experiments=experiments,
            options=options, max_figures=max_figures, figures=figures, notes=notes)
        kind = "registry"
    elif isinstance(source, (pd.DataFrame, str, os.PathLike)):
        if experiments is not None:
            raise InputError("'experiments' selects experiments of a registry; a runs table is "
                             "ranked by arm. Filter the table instead.")
        summary, methods, sections, digest, extra = _report_from_runs(
            source, baseline=baseline, metric=metric, options=options,
            max_figures=max_figures, figures=figures, notes=notes)
        kind = "runs"
    else:
        raise TypeError(f"build_report() takes a runs DataFrame, a path to a runs file or a "
                        f"Registry; got {type(source).__name__}.")
    when = generated_at or datetime.now(UTC)
    metric_name = extra.get("metric") or next(
        (v.split(" ")[0] for k, v in methods if k == "metric"), "")
    version = package_version()
    methods = [("consilience", version), ("generated", when.strftime("%Y-%m-%d %H:%M UTC")),
               *methods]
    messages = [text for _, text in notes]
    for fig in (f for s in sections for f in _all_figures(s)):
        if not fig.available and fig.note:
            messages.append(fig.note)
    provenance = Provenance(method=f"report/{kind}", k=len(summary.findings),
                            warnings=tuple(messages),
                            options={**json_safe(options), **extra, "max_figures": max_figures},
                            input_hash=digest or input_hash(""))
    report = Report(title=title or f"Evidence report: {metric_name}", summary=summary,
                    methods=tuple((k, str(v)) for k, v in methods), sections=tuple(sections),
                    warnings=tuple(messages), generated_at=when, provenance=provenance)
    for category, text in notes:
        warnings.warn(text, category, stacklevel=2)
    return report


def _all_figures(section: ReportSection) -> Iterator[SvgFigure]:
    yield from section.figures
    for sub in section.subsections:
        yield from _all_figures(sub)
