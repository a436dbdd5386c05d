"""Non-inferiority margins and the per-metric plan of a trade-off analysis.

A margin is the largest worsening of a secondary metric that is still acceptable (``"+5%"``
slower, ``"0.002"`` accuracy). :func:`plan_metrics` decides, for every metric of
:func:`consilience.quality.tradeoffs`, its role, the direction in which it is better, the
effect measure (a log ratio of means for relative margins and positive costs, a mean
difference otherwise) and the bound its confidence interval must stay above.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from consilience._validation import check_choice
from consilience.compare.metrics import MetricSpec, resolve_metric
from consilience.errors import InputError

__all__ = ["COST_TOKENS", "Margin", "Measure", "MetricPlan", "parse_margin", "plan_metrics"]

Measure = Literal["MD", "SMD", "ROM"]

COST_TOKENS: tuple[str, ...] = (
    "time", "latency", "duration", "seconds", "memory", "flops", "params", "cost", "energy",
    "bytes",
)
"""Name parts that mark a cost metric (lower is better, continuous) when the metric is not one
of :data:`consilience.compare.DEFAULT_METRICS`: ``train_time_s``, ``peak_memory_gb``."""


@dataclass(frozen=True)
class Margin:
    """A non-inferiority margin: the largest worsening of a metric that is still acceptable.

    Attributes
    ----------
    text : str
        As given (``"+5%"``, ``"0.002"``).
    kind : {'relative', 'absolute'}
    size : float
        Magnitude: a fraction of the baseline's mean (relative) or metric units (absolute).
    """

    text: str
    kind: str
    size: float

    def bound(self, spec: MetricSpec) -> float:
        """The margin on the effect scale (<= 0; positive effects are better).

        Absolute: ``-size``. Relative, on the log-ratio scale: ``-log(1 + size)`` when lower is
        better (the candidate may be ``size`` slower), ``log(1 - size)`` when higher is better.
        """
        if self.kind == "absolute":
            return -self.size
        if spec.direction == "lower":
            return -math.log1p(self.size)
        return math.log1p(-self.size)


def parse_margin(value: str | float, *, metric: str, spec: MetricSpec) -> Margin:
    """Read ``"+5%"``, ``"5%"``, ``"-0.01"`` or ``0.01`` as a :class:`Margin` for ``metric``.

    A sign, when given, must point the way the metric gets worse (``+`` when lower is better,
    ``-`` when higher is better); an unsigned value is a magnitude.
    """
    text = str(value).strip()
    m = re.fullmatch(r"([+-]?)\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)", text)
    if isinstance(value, bool) or m is None:
        raise InputError(f"The margin for {metric!r} must be a number or a percentage such as "
                         f"'+5%' or '0.002'; got {value!r}.")
    sign, number, pct = m.groups()
    worse = "+" if spec.direction == "lower" else "-"
    if sign and sign != worse:
        raise InputError(
            f"The margin for {metric!r} ({value!r}) points the way the metric improves; "
            f"{metric} is better when {spec.direction}, so a worsening is written "
            f"'{worse}{number}{pct}' (or without a sign)."
        )
    size = float(number) / (100.0 if pct else 1.0)
    if not math.isfinite(size):
        raise InputError(f"The margin for {metric!r} must be finite; got {value!r}.")
    if pct and spec.direction == "higher" and size >= 1.0:
        raise InputError(f"A relative margin for {metric!r} (higher is better) must be below "
                         f"100%; got {value!r}.")
    return Margin(text=text, kind="relative" if pct else "absolute", size=size)


@dataclass(frozen=True)
class MetricPlan:
    """How one metric is compared: its role, direction, measure and margin."""

    metric: str
    role: str
    spec: MetricSpec
    measure: str
    margin: Margin | None
    bound: float

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "role": self.role, "direction": self.spec.direction,
                "kind": self.spec.kind, "measure": self.measure,
                "margin": None if self.margin is None else self.margin.text,
                "bound": self.bound}


def _spec(name: str, metric_specs: Mapping[str, MetricSpec] | None) -> MetricSpec:
    try:
        return resolve_metric(name, metric_specs)
    except InputError:
        tokens = [t for t in re.split(r"[_\-./ ]+", name.lower()) if t]
        if any(t in COST_TOKENS for t in tokens):
            return MetricSpec(direction="lower", kind="continuous")
        raise


def plan_metrics(
    metrics: Sequence[str],
    *,
    values: Mapping[str, np.ndarray],
    primary: str | None = None,
    margins: Mapping[str, str | float] | None = None,
    measures: Mapping[str, Measure] | None = None,
    metric_specs: Mapping[str, MetricSpec] | None = None,
) -> list[MetricPlan]:
    """Decide, per metric, its role, direction, effect measure and margin.

    The measure is ROM (log ratio of means) for a relative margin, MD for an absolute one;
    without a margin, ``measures[metric]`` if given, else ROM for a continuous metric whose
    values are all positive and MD otherwise. A metric without a margin gets bound 0: it must
    not be credibly worse at all.
    """
    names = [str(m) for m in metrics]
    if len(names) < 1 or len(set(names)) != len(names):
        raise InputError(f"metrics must name one or more distinct metrics; got {names}.")
    prim = primary if primary is not None else names[0]
    if prim not in names:
        raise InputError(f"primary metric {prim!r} is not one of metrics {names}.")
    margins = dict(margins or {})
    measures = dict(measures or {})
    for key, what in ((margins, "margins"), (measures, "measures")):
        extra = sorted(set(key) - set(names))
        if extra:
            raise InputError(f"{what} names metric(s) {extra} not in metrics {names}.")
    if prim in margins:
        raise InputError(f"the primary metric {prim!r} takes no margin: it must improve. Give "
                         "margins for the other metrics.")
    plans = []
    for name in names:
        spec = _spec(name, metric_specs)
        vals = np.asarray(values.get(name, np.zeros(0)), dtype=float)
        positive = vals.size > 0 and bool(np.all(vals[np.isfinite(vals)] > 0))
        margin = parse_margin(margins[name], metric=name, spec=spec) if name in margins else None
        want = {"relative": "ROM", "absolute": "MD"}.get(margin.kind) if margin else None
        given: str | None = measures.get(name)
        if given is not None:
            given = check_choice(f"measures[{name!r}]", given, ("MD", "SMD", "ROM"))
            if margin is not None and want is not None and given != want:
                raise InputError(f"measures[{name!r}] = {given!r} conflicts with its "
                                 f"{margin.kind} margin {margin.text!r}, read on the "
                                 f"{want} scale. Drop the measure or change the margin.")
        measure = want or given or ("ROM" if spec.kind == "continuous" and positive else "MD")
        if measure == "ROM" and not positive:
            raise InputError(f"metric {name!r} is compared as a log ratio of means (ROM) but has "
                             "values <= 0 (or none); give an absolute margin or measure MD.")
        bound = 0.0 if margin is None else margin.bound(spec)
        plans.append(MetricPlan(name, "primary" if name == prim else "secondary", spec,
                                measure, margin, bound))
    return plans
