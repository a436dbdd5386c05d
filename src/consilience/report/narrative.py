"""Plain-language summaries of comparisons: what improved, how sure we are, where it does not
generalise, and what to do next.

Every sentence is computed from the fields of a result (a :class:`~consilience.compare.Comparison`,
its ``to_dict()``, a row of :func:`consilience.rank` or of the registry's leaderboard), so the
report, the dashboard and a pull-request comment say the same thing about the same numbers.
The reading follows the verdict rule of :func:`consilience.compare.verdict.verdict`: the confidence
interval answers "is the average effect real?", the prediction interval "will it hold on the next
task?" (IntHout et al., 2016).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "ExecutiveSummary",
    "Finding",
    "describe",
    "executive_summary",
    "heterogeneity_words",
]

_ORDER = ("robust improvement", "improvement, not general", "inconclusive", "equivalent",
          "regression")
_PLURAL = {
    "robust improvement": ("robust improvement", "robust improvements"),
    "improvement, not general": ("improvement that does not hold on every task",
                                 "improvements that do not hold on every task"),
    "inconclusive": ("inconclusive comparison", "inconclusive comparisons"),
    "equivalent": ("practical tie", "practical ties"),
    "regression": ("regression", "regressions"),
}


def _num(value: Any) -> float:
    """``value`` as a float; None, NA and text become NaN."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _count(value: Any) -> int | None:
    f = _num(value)
    return int(f) if math.isfinite(f) else None


def _is_points(metric: str | None, measure: str | None) -> bool:
    """Whether effects read as percentage points: a raw difference of a proportion metric."""
    if metric is None or (measure or "MD") != "MD":
        return False
    from consilience.compare.metrics import resolve_metric
    from consilience.errors import InputError

    try:
        spec = resolve_metric(metric)
    except InputError:
        return False
    return spec.kind == "proportion"


def _signed(value: float, points: bool) -> str:
    if not math.isfinite(value):
        return "n/a"
    if points:
        amount = value * 100
        return f"{amount:+.2g}" if 0 < abs(amount) < 0.1 else f"{amount:+.1f}"
    return f"{value:+.3g}"


def _magnitude(value: float, points: bool) -> str:
    """A non-negative amount with its unit ("7.1 points", "0.0213")."""
    if points:
        amount = abs(value) * 100
        text = f"{amount:.2g}" if 0 < amount < 0.1 else f"{amount:.1f}"
        return f"{text} percentage point{'' if text == '1.0' else 's'}"
    return f"{abs(value):.3g}"


def _pct(level: float) -> str:
    value = level * 100 if level <= 1 else level
    return f"{value:g}%"


def _probability(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def heterogeneity_words(i2: float) -> str:
    """How much results vary between tasks, from I² (percent), in Cochrane's bands.

    Returns ``"little"`` (< 25%), ``"moderately"`` (25-50%), ``"substantially"`` (50-75%),
    ``"a lot"`` (>= 75%) or ``"an unknown amount"`` when I² is missing.
    """
    if not math.isfinite(i2):
        return "an unknown amount"
    if i2 < 25:
        return "little"
    if i2 < 50:
        return "moderately"
    if i2 < 75:
        return "substantially"
    return "a lot"


@dataclass(frozen=True)
class Finding:
    """What one comparison shows, in four sentences.

    Attributes
    ----------
    subject : str
        The candidate (experiment or arm).
    baseline : str or None
        What it was compared with.
    verdict : str
        One of :data:`consilience.compare.verdict.VERDICTS`, or ``"not compared"``.
    what : str
        What changed: direction and size of the average effect with its confidence interval.
    certainty : str
        How sure we are that the average effect is real.
    generality : str
        Whether it holds on a new task (prediction interval, I², probability of a gain).
    next_step : str
        What to do: ship, run more seeds, add tasks, or stop.
    """

    subject: str
    baseline: str | None
    verdict: str
    what: str
    certainty: str
    generality: str
    next_step: str

    def sentences(self) -> tuple[str, ...]:
        """The non-empty sentences in reading order."""
        return tuple(s for s in (self.what, self.certainty, self.generality, self.next_step) if s)

    def __str__(self) -> str:
        return " ".join(self.sentences())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the attributes above and ``text`` (all sentences joined)."""
        return {"subject": self.subject, "baseline": self.baseline, "verdict": self.verdict,
                "what": self.what, "certainty": self.certainty, "generality": self.generality,
                "next_step": self.next_step, "text": str(self)}


def _fields(result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping):
        return dict(result)
    if hasattr(result, "to_dict"):
        out = dict(result.to_dict())
        out.pop("tasks", None)
        return out
    raise TypeError(f"describe() takes a Comparison, its to_dict() or a result row (mapping); "
                    f"got {type(result).__name__}.")


def describe(
    result: Any,
    *,
    subject: str | None = None,
    baseline: str | None = None,
    metric: str | None = None,
    level: float | None = None,
    threshold: float | None = None,
) -> Finding:
    """Four plain-language sentences about one comparison.

    Parameters
    ----------
    result : Comparison or mapping
        A :class:`~consilience.compare.Comparison`, its ``to_dict()``, or a row of a ranking or
        leaderboard with the fields ``k, estimate, ci_low, ci_high, pi_low, pi_high, i2,
        p_value, prob_better, verdict, seeds_needed, tasks_needed``. Missing fields read as
        unknown. A row with an ``error`` and no verdict says it could not be compared.
    subject, baseline, metric : str, optional
        Names used in the sentences; default the result's ``candidate``/``experiment``/``arm``,
        ``baseline`` and ``metric`` fields.
    level : float, optional
        Confidence level (fraction or percent); default the result's ``level``, else 0.95.
    threshold : float, optional
        Smallest gain that counts; default the result's ``threshold``, else 0.

    Returns
    -------
    Finding
        ``what``, ``certainty``, ``generality`` and ``next_step``.

    Notes
    -----
    Proportion metrics compared as raw differences (accuracy, error rate) are written in
    percentage points; other effects with three significant digits, positive meaning the
    candidate is better whatever the metric's direction. I² is worded with the Cochrane
    handbook's bands (< 25% little, 25-50% moderate, 50-75% substantial, >= 75% considerable).

    References
    ----------
    IntHout, J., Ioannidis, J. P. A., Rovers, M. M. and Goeman, J. J. (2016). Plea for routinely
    presenting prediction intervals in meta-analysis. BMJ Open, 6, e010247.

    Validated against: the sentence table in ``tests/report_html/test_narrative.py``.
    """
    f = _fields(result)
    name = str(subject or f.get("experiment") or f.get("candidate") or f.get("arm") or "the candidate")
    base = baseline if baseline is not None else f.get("baseline")
    base_text = str(base) if base else "the baseline"
    metric_name = metric or f.get("metric")
    metric_text = str(metric_name) if metric_name else "the metric"
    points = _is_points(metric_name, f.get("measure"))
    lv = level if level is not None else (_num(f.get("level")) if f.get("level") is not None else 0.95)
    pct = _pct(lv)
    thr = threshold if threshold is not None else _num(f.get("threshold"))
    thr = thr if math.isfinite(thr) else 0.0
    rope = _num(f.get("rope"))
    verdict = f.get("verdict")
    error = f.get("error")
    if not verdict or (error and not math.isfinite(_num(f.get("estimate")))):
        reason = f": {error}" if error else ""
        return Finding(name, base, "not compared", f"{name} could not be compared with {base_text}"
                       f"{reason}.", "", "", "Next: fix the runs so that both arms share tasks, "
                       "then compare again.")
    verdict = str(verdict)
    k = _count(f.get("k"))
    est, lo, hi = _num(f.get("estimate")), _num(f.get("ci_low")), _num(f.get("ci_high"))
    pi_lo, pi_hi = _num(f.get("pi_low")), _num(f.get("pi_high"))
    i2, prob = _num(f.get("i2")), _num(f.get("prob_better"))
    tasks = f"{k} task{'' if k == 1 else 's'}" if k is not None else "the tasks"
    interval = f"{pct} CI {_signed(lo, points)} to {_signed(hi, points)}"
    unit = " points" if points else ""

    if not math.isfinite(est):
        what = f"{name} has no pooled estimate against {base_text} on {metric_text}."
    elif est > 0:
        what = (f"{name} improves {metric_text} over {base_text} by {_magnitude(est, points)} on "
                f"average across {tasks} ({interval}{unit}).")
    elif est < 0:
        what = (f"{name} does worse than {base_text} on {metric_text}, by "
                f"{_magnitude(est, points)} on average across {tasks} ({interval}{unit}).")
    else:
        what = f"{name} and {base_text} score the same on {metric_text} on average ({interval}{unit})."

    bound = f"a gain of {_magnitude(thr, points)}" if thr > 0 else "zero"
    p_text = _probability(_num(f.get("p_value")))
    if verdict in ("robust improvement", "improvement, not general"):
        certainty = (f"We are confident the average gain is real: the whole {pct} confidence "
                     f"interval lies above {bound} ({p_text}).")
    elif verdict == "regression":
        below = f"a loss of {_magnitude(thr, points)}" if thr > 0 else "zero"
        certainty = (f"We are confident it is worse on average: the whole {pct} confidence "
                     f"interval lies below {below} ({p_text}).")
    elif verdict == "equivalent":
        half = _magnitude(rope, points) if math.isfinite(rope) else "the declared margin"
        certainty = (f"The difference is negligible: the {pct} confidence interval lies within "
                     f"±{half}, the region of practical equivalence.")
    elif thr > 0:
        certainty = (f"We cannot tell yet whether it matters: the {pct} confidence interval "
                     f"({_signed(lo, points)} to {_signed(hi, points)}{unit}) reaches into "
                     f"±{_magnitude(thr, points)}, the range of changes too small to matter.")
    else:
        certainty = (f"We cannot tell yet whether it helps: the {pct} confidence interval runs "
                     f"from {_signed(lo, points)} to {_signed(hi, points)}{unit} and includes "
                     f"zero.")

    spread = heterogeneity_words(i2)
    if not math.isfinite(i2):
        i2_text = "I² unknown"
    else:
        i2_text = f"I² = {i2:.1f}%" if 99.5 <= i2 < 100 else f"I² = {i2:.0f}%"
    chance = (f"; the chance it beats {base_text} on a new task is {prob * 100:.0f}%"
              if math.isfinite(prob) else "")
    pi_text = f"between {_signed(pi_lo, points)} and {_signed(pi_hi, points)}{unit}"
    if not (math.isfinite(pi_lo) and math.isfinite(pi_hi)):
        generality = (f"With {tasks} there is no prediction interval, so we cannot say how it "
                      f"will do on a new task.")
    elif pi_lo > 0:
        generality = (f"It generalises: on a new task the effect is expected {pi_text} "
                      f"({pct} prediction interval, above zero); results vary {spread} between "
                      f"tasks ({i2_text}).")
    elif pi_hi < 0:
        generality = (f"It is expected to be worse on a new task too: {pi_text} "
                      f"({pct} prediction interval, below zero).")
    else:
        lead = ("It does not hold on every task" if not est < 0
                else "It is not worse on every task")
        generality = (f"{lead}: on a new task the effect is expected {pi_text} ({pct} "
                      f"prediction interval), which crosses zero{chance}. Results vary {spread} "
                      f"between tasks ({i2_text}).")

    seeds, more_tasks = _count(f.get("seeds_needed")), _count(f.get("tasks_needed"))
    if verdict == "robust improvement":
        next_step = f"Next: ship it; {name} can become the new baseline."
    elif verdict == "improvement, not general":
        next_step = ("Next: ship it only where it helps. Look at the tasks where it loses in the "
                     "per-task table, and record moderators to find where it fails, before "
                     "making it the default.")
    elif verdict == "regression":
        next_step = "Next: do not ship it; close the experiment as rejected."
    elif verdict == "equivalent":
        next_step = ("Next: keep whichever is simpler or cheaper; more runs will not change the "
                     "answer.")
    elif seeds is not None and more_tasks is not None:
        next_step = (f"Next: run more seeds ({seeds} per arm on every task) or collect more data "
                     f"(about {more_tasks} tasks like these) to settle it.")
    elif seeds is not None:
        next_step = f"Next: run more seeds ({seeds} per arm on every task) to settle it."
    elif more_tasks is not None:
        next_step = (f"Next: more seeds will not settle it, because the tasks disagree; collect "
                     f"more data: about {more_tasks} tasks like these would.")
    else:
        near = "the smallest gain that matters" if thr > 0 else "zero"
        next_step = ("Next: stop here. Neither more seeds nor more tasks within reach would "
                     f"settle it; the effect is too close to {near}, so treat it as no "
                     "meaningful difference.")
    return Finding(name, base, verdict, what, certainty, generality, next_step)


@dataclass(frozen=True)
class ExecutiveSummary:
    """The opening of a report: a headline, one finding per comparison and the next steps.

    Attributes
    ----------
    headline : str
        How many comparisons reached each verdict, and the best candidate.
    findings : tuple of Finding
        Improvements first (most robust first), then inconclusive, ties and regressions.
    next_steps : tuple of str
        One line per comparison that needs an action ("random-forest: ship it ...").
    """

    headline: str
    findings: tuple[Finding, ...]
    next_steps: tuple[str, ...]

    def sentences(self) -> tuple[str, ...]:
        """The headline, then the sentences of the first finding."""
        first = self.findings[0].sentences() if self.findings else ()
        return (self.headline, *first)

    def __str__(self) -> str:
        lines = [self.headline, ""]
        lines += [str(f) for f in self.findings]
        if self.next_steps:
            lines += ["", "Next steps:"] + [f"- {s}" for s in self.next_steps]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``headline``, ``findings`` (each :meth:`Finding.to_dict`), ``next_steps``."""
        return {"headline": self.headline, "findings": [f.to_dict() for f in self.findings],
                "next_steps": list(self.next_steps)}


def _rows(results: Any) -> list[dict[str, Any]]:
    if isinstance(results, pd.DataFrame):
        return [{str(k): v for k, v in r.items()} for r in results.to_dict(orient="records")]
    if isinstance(results, Mapping):
        return [{**_fields(v), "experiment": k} for k, v in results.items()]
    if isinstance(results, Iterable):
        return [_fields(r) for r in results]
    raise TypeError(f"executive_summary() takes a DataFrame or a sequence of results; got "
                    f"{type(results).__name__}.")


def _sort_key(finding: Finding, row: Mapping[str, Any]) -> tuple[int, float]:
    rank = _ORDER.index(finding.verdict) if finding.verdict in _ORDER else len(_ORDER)
    prob = _num(row.get("prob_better"))
    return rank, -(prob if math.isfinite(prob) else -1.0)


def executive_summary(
    results: Any,
    *,
    metric: str | None = None,
    baseline: str | None = None,
    level: float | None = None,
    subject_column: str | None = None,
) -> ExecutiveSummary:
    """The executive summary of several comparisons.

    Parameters
    ----------
    results : DataFrame, sequence of results or mapping of name to result
        Rows of a ranking (``arm``) or leaderboard (``experiment``), Comparisons, or their
        ``to_dict()``; see :func:`describe` for the fields read.
    metric : str, optional
        Metric named in the sentences (default: each row's ``metric``).
    baseline : str, optional
        The common baseline (rankings); leaderboard rows carry their own.
    level : float, optional
        Confidence level (default: each row's ``level``, else 0.95).
    subject_column : str, optional
        Column naming the candidate (default ``experiment``, ``arm`` or ``candidate``).

    Returns
    -------
    ExecutiveSummary
        Findings ordered improvements first (most robust first), then inconclusive, ties,
        regressions and rows that could not be compared.
    """
    rows = _rows(results)
    pairs: list[tuple[Finding, dict[str, Any]]] = []
    for row in rows:
        subject = str(row[subject_column]) if subject_column else None
        pairs.append((describe(row, subject=subject, baseline=baseline, metric=metric,
                               level=level), row))
    pairs.sort(key=lambda p: _sort_key(*p))
    findings = tuple(p[0] for p in pairs)
    metric_text = metric or next((str(r["metric"]) for r in rows if r.get("metric")), None)
    on = f" on {metric_text}" if metric_text else ""
    if not findings:
        return ExecutiveSummary(f"Nothing was compared{on}: no candidate has complete runs yet.",
                                (), ())
    counts = {v: sum(f.verdict == v for f in findings) for v in (*_ORDER, "not compared")}
    parts = []
    for v in _ORDER:
        n = counts[v]
        if n:
            one, many = _PLURAL[v]
            parts.append(f"{n} {one if n == 1 else many}")
    if counts["not compared"]:
        n = counts["not compared"]
        parts.append(f"{n} that could not be compared")
    noun = "candidate" if len(findings) == 1 else "candidates"
    against = f" against {baseline}" if baseline else ""
    headline = f"{len(findings)} {noun} compared{against}{on}: {_join(parts)}."
    best = findings[0]
    if best.verdict in ("robust improvement", "improvement, not general"):
        headline += f" The strongest is {best.subject}."
    else:
        headline += " None is a clear improvement yet."
    steps = tuple(f"{f.subject}: {f.next_step.removeprefix('Next: ')}" for f in findings)
    return ExecutiveSummary(headline, findings, steps)


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
