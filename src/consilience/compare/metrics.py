"""Metric definitions: which direction is better and what kind of number a metric is.

A :class:`MetricSpec` is declared once per metric. Defaults cover the common names (accuracy,
f1, auc, loss, error, latency and their usual spellings); anything else is declared by the caller
(``metrics={"bleu": MetricSpec(direction="higher", kind="bounded")}``). Direction is applied
exactly once, when per-task effects are formed, so that a positive effect always means "the
candidate is better".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from consilience.errors import InputError

__all__ = ["DEFAULT_METRICS", "MetricSpec", "resolve_metric"]

Direction = Literal["higher", "lower"]
Kind = Literal["proportion", "continuous", "bounded"]


@dataclass(frozen=True)
class MetricSpec:
    """How to read one metric.

    Parameters
    ----------
    direction : {"higher", "lower"}
        Whether larger values are better ("higher": accuracy, AUC) or worse ("lower": loss,
        error rate, latency).
    kind : {"proportion", "continuous", "bounded"}
        ``"proportion"``: a fraction of test items in [0, 1] (accuracy, error rate); with
        ``n_eval`` it receives the binomial test-set variance p(1 - p) / n_eval.
        ``"bounded"``: a score on a bounded scale that is not a simple proportion (F1, AUC, BLEU).
        ``"continuous"``: anything else (loss, latency, reward).
    """

    direction: Direction = "higher"
    kind: Kind = "continuous"

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise InputError(
                f"The 'direction' parameter must be one of ['higher', 'lower']. Got {self.direction!r} instead."
            )
        if self.kind not in ("proportion", "continuous", "bounded"):
            raise InputError(
                "The 'kind' parameter must be one of ['proportion', 'continuous', 'bounded']. "
                f"Got {self.kind!r} instead."
            )

    @property
    def sign(self) -> float:
        """+1 when higher is better, -1 when lower is better."""
        return 1.0 if self.direction == "higher" else -1.0

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "kind": self.kind}


_HIGHER_PROPORTION = MetricSpec("higher", "proportion")
_HIGHER_BOUNDED = MetricSpec("higher", "bounded")
_LOWER_PROPORTION = MetricSpec("lower", "proportion")
_LOWER_CONTINUOUS = MetricSpec("lower", "continuous")

DEFAULT_METRICS: Mapping[str, MetricSpec] = {
    "accuracy": _HIGHER_PROPORTION,
    "acc": _HIGHER_PROPORTION,
    "top1": _HIGHER_PROPORTION,
    "top5": _HIGHER_PROPORTION,
    "balanced_accuracy": _HIGHER_BOUNDED,
    "f1": _HIGHER_BOUNDED,
    "precision": _HIGHER_BOUNDED,
    "recall": _HIGHER_BOUNDED,
    "auc": _HIGHER_BOUNDED,
    "roc_auc": _HIGHER_BOUNDED,
    "auroc": _HIGHER_BOUNDED,
    "map": _HIGHER_BOUNDED,
    "error": _LOWER_PROPORTION,
    "error_rate": _LOWER_PROPORTION,
    "loss": _LOWER_CONTINUOUS,
    "logloss": _LOWER_CONTINUOUS,
    "log_loss": _LOWER_CONTINUOUS,
    "nll": _LOWER_CONTINUOUS,
    "mse": _LOWER_CONTINUOUS,
    "rmse": _LOWER_CONTINUOUS,
    "mae": _LOWER_CONTINUOUS,
    "perplexity": _LOWER_CONTINUOUS,
    "latency": _LOWER_CONTINUOUS,
}

_PREFIXES = ("val", "valid", "validation", "test", "train", "eval", "dev")


def _default_for(name: str) -> MetricSpec | None:
    key = name.strip().lower()
    if key in DEFAULT_METRICS:
        return DEFAULT_METRICS[key]
    tokens = [t for t in re.split(r"[/\-. ]+|(?<=[a-z0-9])_(?=[a-z])", key) if t]
    # "val_accuracy", "test/loss", "eval-f1": drop split prefixes and retry.
    while tokens and tokens[0] in _PREFIXES:
        tokens = tokens[1:]
    if tokens:
        rest = "_".join(tokens)
        if rest in DEFAULT_METRICS:
            return DEFAULT_METRICS[rest]
        for token in (tokens[-1], tokens[0]):
            if token in DEFAULT_METRICS:
                return DEFAULT_METRICS[token]
    return None


def resolve_metric(name: str, metrics: Mapping[str, MetricSpec] | None = None) -> MetricSpec:
    """Return the :class:`MetricSpec` of ``name``: the caller's override first, then the defaults.

    Raises
    ------
    InputError
        When the metric is neither declared in ``metrics`` nor recognised by name.
    TypeError
        When an override is not a :class:`MetricSpec`.
    """
    if metrics is not None and name in metrics:
        spec = metrics[name]
        if not isinstance(spec, MetricSpec):
            raise TypeError(
                f"metrics[{name!r}] must be a MetricSpec, e.g. MetricSpec(direction='higher', kind='bounded'); "
                f"got {type(spec).__name__}."
            )
        return spec
    spec_or_none = _default_for(name)
    if spec_or_none is None:
        known = sorted({k for k in DEFAULT_METRICS})
        raise InputError(
            f"metric {name!r} has no known direction. Known names: {known}. Declare it, e.g. "
            f"metrics={{{name!r}: MetricSpec(direction='higher', kind='bounded')}} "
            f"(CLI: --direction higher)."
        )
    return spec_or_none
