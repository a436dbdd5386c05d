"""How fields of a tracked run (MLflow, W&B) become columns of the runs table.

A mapping names, for each column, where the value lives: ``params.seed``, ``tags.arm``,
``metrics.n_eval`` (MLflow), ``config.task``, ``summary.n_eval`` (W&B), a bare attribute
(``experiment_name``, ``run_name``, ``name``, ``group``) or a literal written ``=value``
(``arm="=candidate"`` when every run of the store is the candidate arm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consilience.errors import InputError

__all__ = ["MAPPING_FLAGS", "MISSING", "RunMapping", "lookup_nested", "split_spec"]

MAPPING_FLAGS: dict[str, str] = {
    "experiment": "--experiment-from",
    "arm": "--arm-from",
    "task": "--task-from",
    "seed": "--seed-from",
    "n_eval": "--n-eval-from",
    "cost_gpu_hours": "--cost-gpu-hours-from",
    "cost_usd": "--cost-usd-from",
}
"""The command-line option that maps each column, named in error messages."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Returned by lookups when a run has no such field."""


@dataclass(frozen=True)
class RunMapping:
    """Where each runs-table column comes from in a tracked run.

    Parameters
    ----------
    experiment, arm, task : str
        Field specs of the registry experiment, the arm and the task (required on every run).
    seed : str or None
        Field spec of the seed; ``None`` when runs have no seed.
    metrics : tuple of str
        Metric keys to import, one row per run and metric. Empty: every metric found.
    n_eval, cost_gpu_hours, cost_usd : str or None
        Optional field specs.

    Examples
    --------
    >>> RunMapping(experiment="experiment_name", arm="params.arm", task="params.task",
    ...            seed="params.seed", metrics=("accuracy",))              # doctest: +SKIP
    """

    experiment: str
    arm: str
    task: str
    seed: str | None
    metrics: tuple[str, ...] = ()
    n_eval: str | None = None
    cost_gpu_hours: str | None = None
    cost_usd: str | None = None

    def __post_init__(self) -> None:
        for name in ("experiment", "arm", "task", "seed", "n_eval", "cost_gpu_hours", "cost_usd"):
            value = getattr(self, name)
            required = name in ("experiment", "arm", "task")
            if value is None and required:
                raise InputError(
                    f"The mapping needs a field for '{name}'; got None. Every run needs one: "
                    f"name the field that holds it (e.g. params.{name}, or {MAPPING_FLAGS[name]} "
                    "on the command line), or =VALUE for a constant."
                )
            if value is not None and (not isinstance(value, str) or not value.strip()):
                fix = "Pass the field's name" + ("." if required else ", or None if runs lack it.")
                raise InputError(
                    f"The mapping's '{name}' must be a field name such as "
                    f"params.{name}; got {value!r}. {fix}"
                )
        if isinstance(self.metrics, str) or not all(isinstance(m, str) and m for m in self.metrics):
            raise InputError(
                f"The mapping's 'metrics' must be a tuple of metric keys; got {self.metrics!r}. "
                "Write e.g. metrics=('accuracy',), or () for every metric logged."
            )

    def optional_fields(self) -> dict[str, str]:
        """The optional columns that are mapped: ``{column: spec}``."""
        fields = {
            "seed": self.seed,
            "n_eval": self.n_eval,
            "cost_gpu_hours": self.cost_gpu_hours,
            "cost_usd": self.cost_usd,
        }
        return {k: v for k, v in fields.items() if v is not None}


def split_spec(spec: str, namespaces: tuple[str, ...]) -> tuple[str | None, str]:
    """Split ``"params.seed"`` into ``("params", "seed")``; a bare name gives ``(None, name)``."""
    head, dot, rest = spec.partition(".")
    if dot and head in namespaces and rest:
        return head, rest
    return None, spec


def lookup_nested(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]``, else the dotted path through nested mappings (``optimizer.lr``)."""
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node
