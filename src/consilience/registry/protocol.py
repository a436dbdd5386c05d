"""Pre-registration protocols: what an analysis will do, written down before seeing results.

A protocol is a YAML file::

    name: warmup-2025q1
    description: Does LR warm-up help small transformers?
    primary_metric: accuracy
    secondary_metrics: [f1]
    direction: higher            # higher or lower is better
    inclusion:                   # which runs count; an absent list means "all"
      experiments: [warmup-linear, warmup-cosine]
      arms: [baseline, candidate]
      tasks: [sst2, mnli, qnli]
      run_statuses: [complete]
      experiment_statuses: [complete, accepted, rejected, neutral]
    model:
      method: REML               # tau² estimator
      test: knha                 # z or knha
      level: 0.95
    rope: [-0.005, 0.005]        # region of practical equivalence
    min_effect: 0.005
    stopping_rule:
      rule: fixed                # fixed, sequential or rope
      max_seeds: 5

Locking stores the file's text, its parsed form and the SHA-256 of its bytes. Any later analysis
under the protocol is compared with it field by field (:mod:`consilience.registry.deviations`).
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consilience._validation import check_choice, check_level
from consilience.errors import InputError
from consilience.registry._deps import require
from consilience.registry.models import EXPERIMENT_STATUSES, RUN_STATUSES

__all__ = [
    "METHODS",
    "STOPPING_RULES",
    "TESTS",
    "ProtocolRecord",
    "normalise_spec",
    "parse_protocol",
    "sha256_hex",
]

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
TESTS = ("z", "knha")
STOPPING_RULES = ("fixed", "sequential", "rope")
_TOP = (
    "name",
    "description",
    "primary_metric",
    "secondary_metrics",
    "direction",
    "inclusion",
    "model",
    "rope",
    "min_effect",
    "stopping_rule",
)
_INCLUSION = ("experiments", "arms", "tasks", "run_statuses", "experiment_statuses")
_MODEL = ("method", "test", "level")
_STOP_NUMBERS = (
    "max_seeds",
    "max_tasks",
    "max_runs",
    "max_cost_gpu_hours",
    "max_cost_usd",
    "looks",
    "alpha",
)
_STOP = ("rule", "description", *_STOP_NUMBERS)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ProtocolRecord:
    """A locked protocol as stored.

    Attributes
    ----------
    name : str
    sha256 : str
        SHA-256 of the file's bytes when locked.
    locked_at : datetime
    locked_by : str
    spec : dict
        The parsed, normalised protocol.
    content : str
        The file's text, exactly as locked.
    """

    name: str
    sha256: str
    locked_at: datetime
    locked_by: str
    spec: Mapping[str, Any]
    content: str

    def __repr__(self) -> str:
        return (
            f"<Protocol {self.name!r} sha256={self.sha256[:12]} locked {self.locked_at:%Y-%m-%d}>"
        )

    @property
    def intact(self) -> bool:
        """Whether the stored text still hashes to the locked SHA-256."""
        return sha256_hex(self.content.encode("utf-8")) == self.sha256

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "locked_at": self.locked_at.isoformat(),
            "locked_by": self.locked_by,
            "intact": self.intact,
            "spec": dict(self.spec),
            "content": self.content,
        }


def _fail(where: str, field: str, problem: str, value: Any, fix: str) -> InputError:
    return InputError(f"{where}: '{field}' {problem}; got {value!r}. {fix}")


def _unknown_keys(
    where: str, prefix: str, data: Mapping[str, Any], allowed: tuple[str, ...]
) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"{where}: unknown protocol field '{prefix}{key}'. {hint}"
                f"Allowed fields: {list(allowed)}."
            )


def _text_list(
    where: str, field: str, value: Any, choices: tuple[str, ...] | None = None
) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, (str, int, float)) else value
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(v, (str, int, float)) for v in items
    ):
        raise _fail(where, field, "must be a list of names", value, "Write it as [a, b, c].")
    out = sorted({str(v) for v in items})
    if choices is not None:
        out = sorted({check_choice(field, v, choices) for v in out})
    return out


def _number(where: str, field: str, value: Any, *, positive: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, field, "must be a finite number", value, "Write a plain number.")
    if positive and value <= 0:
        raise _fail(where, field, "must be > 0", value, "Give a magnitude, e.g. 0.01.")
    return float(value)


def normalise_spec(data: Mapping[str, Any], where: str, *, partial: bool) -> dict[str, Any]:
    """Validate a protocol mapping; with ``partial`` only the keys present are filled in."""
    _unknown_keys(where, "", data, _TOP)
    out: dict[str, Any] = {}

    def has(key: str) -> bool:
        return not partial or key in data

    if has("name"):
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(where, "name", "must be a non-empty text", name, "Name the protocol.")
        out["name"] = name.strip()
    if has("description"):
        desc = data.get("description")
        out["description"] = str(desc).strip() if desc is not None else None
    if has("primary_metric"):
        metric = data.get("primary_metric")
        if not isinstance(metric, str) or not metric.strip():
            raise _fail(
                where,
                "primary_metric",
                "is required text",
                metric,
                "Name the one metric the decision rests on, e.g. primary_metric: accuracy.",
            )
        out["primary_metric"] = metric.strip()
    if has("secondary_metrics"):
        out["secondary_metrics"] = (
            _text_list(where, "secondary_metrics", data.get("secondary_metrics")) or []
        )
    if has("direction"):
        out["direction"] = check_choice(
            "direction", data.get("direction") or "higher", ("higher", "lower")
        )
    if has("inclusion"):
        inc = data.get("inclusion") or {}
        if not isinstance(inc, Mapping):
            raise _fail(where, "inclusion", "must be a mapping", inc, "See the protocol example.")
        _unknown_keys(where, "inclusion.", inc, _INCLUSION)
        choices = {"run_statuses": RUN_STATUSES, "experiment_statuses": EXPERIMENT_STATUSES}
        keys = [k for k in _INCLUSION if not partial or k in inc]
        out["inclusion"] = {
            k: _text_list(where, f"inclusion.{k}", inc.get(k), choices.get(k)) for k in keys
        }
    if has("model"):
        model = data.get("model") or {}
        if not isinstance(model, Mapping):
            raise _fail(where, "model", "must be a mapping", model, "See the protocol example.")
        _unknown_keys(where, "model.", model, _MODEL)
        m: dict[str, Any] = {}
        if not partial or "method" in model:
            m["method"] = check_choice("method", model.get("method", "REML"), METHODS)
        if not partial or "test" in model:
            m["test"] = check_choice("test", model.get("test", "knha"), TESTS)
        if not partial or "level" in model:
            m["level"] = check_level(model.get("level", 0.95))
        out["model"] = m
    if has("rope"):
        rope = data.get("rope")
        if rope is not None:
            if (
                not isinstance(rope, (list, tuple))
                or len(rope) != 2
                or _number(where, "rope", rope[0], positive=False) is None
                or _number(where, "rope", rope[1], positive=False) is None
                or not float(rope[0]) < float(rope[1])
            ):
                raise _fail(
                    where,
                    "rope",
                    "must be [low, high] with low < high",
                    rope,
                    "Write e.g. rope: [-0.005, 0.005].",
                )
            rope = [float(rope[0]), float(rope[1])]
        out["rope"] = rope
    if has("min_effect"):
        out["min_effect"] = _number(where, "min_effect", data.get("min_effect"), positive=True)
    if has("stopping_rule"):
        out["stopping_rule"] = _stopping(where, data.get("stopping_rule"))
    return out


def _stopping(where: str, rule: Any) -> dict[str, Any] | None:
    if rule is None:
        return None
    if isinstance(rule, str):
        rule = {"rule": rule}
    if not isinstance(rule, Mapping):
        raise _fail(
            where,
            "stopping_rule",
            "must be a mapping",
            rule,
            "Write e.g. stopping_rule: {rule: fixed, max_seeds: 5}.",
        )
    _unknown_keys(where, "stopping_rule.", rule, _STOP)
    out: dict[str, Any] = {
        "rule": check_choice("stopping_rule.rule", rule.get("rule"), STOPPING_RULES)
    }
    if rule.get("description") is not None:
        out["description"] = str(rule["description"]).strip()
    for key in _STOP_NUMBERS:
        if rule.get(key) is not None:
            out[key] = _number(where, f"stopping_rule.{key}", rule[key], positive=True)
    return out


def parse_protocol(text: str, *, where: str, default_name: str | None = None) -> dict[str, Any]:
    """Parse and validate a protocol's YAML text into its normalised form.

    Parameters
    ----------
    text : str
        The YAML document.
    where : str
        The file name, for error messages.
    default_name : str, optional
        Used when the document has no ``name`` (the file's stem).

    Returns
    -------
    dict
        Every field present, defaults filled in (``direction: higher``, ``model: REML/knha/0.95``),
        lists sorted.
    """
    yaml = require("yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{where}: not valid YAML{at}: {problem}. Fix the file's syntax.") from exc
    if not isinstance(data, Mapping):
        raise InputError(
            f"{where}: a protocol must be a YAML mapping of fields; got "
            f"{type(data).__name__}. See the example in `consilience protocol lock --help`."
        )
    data = dict(data)
    if data.get("name") is None and default_name is not None:
        data["name"] = default_name
    return normalise_spec(data, where, partial=False)
