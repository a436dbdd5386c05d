"""Deterministic arm assignment for meta-experiments: a hash, not a random generator.

The arm of an experiment depends only on the salt and the experiment's id, so it is the same on
every machine, in every run and in every language that has SHA-256; nobody can re-roll it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience.errors import InputError

__all__ = ["Assignment", "assign_arms", "hash_bucket"]

_HEX_DIGITS = 13  # 52 bits: the bucket is an exact double in every language


def hash_bucket(experiment: str, *, salt: str) -> float:
    """Uniform number in [0, 1) from ``SHA-256(salt + ":" + experiment)``.

    The first 13 hex digits of the UTF-8 digest, read as an integer, divided by 16**13.

    Validated against: R digest 0.6 ``digest(key, "sha256", serialize = FALSE)``.
    """
    digest = hashlib.sha256(f"{salt}:{experiment}".encode()).hexdigest()
    return int(digest[:_HEX_DIGITS], 16) / float(16**_HEX_DIGITS)


@dataclass(frozen=True)
class Assignment:
    """Arms assigned to experiments.

    Attributes
    ----------
    experiment : tuple of str
        Experiment ids, in input order.
    arm : tuple of str
        Assigned arm per experiment.
    bucket : ndarray
        The hash bucket in [0, 1) that chose the arm.
    salt : str
        The salt (changing it re-randomises every experiment).
    arms : tuple of str
        Arm labels in the order their shares are laid out on [0, 1).
    weights : tuple of float
        Arm shares (sum to 1).
    counts : dict
        Experiments per arm.
    provenance : Provenance
    """

    experiment: tuple[str, ...]
    arm: tuple[str, ...]
    bucket: np.ndarray
    salt: str
    arms: tuple[str, ...]
    weights: tuple[float, ...]
    counts: dict[str, int]
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        c = ", ".join(f"{a}={n}" for a, n in self.counts.items())
        return f"<Assignment n={len(self.experiment)} salt={self.salt!r} {c}>"

    def to_frame(self) -> pd.DataFrame:
        """Columns ``experiment, arm, bucket``."""
        return pd.DataFrame(
            {"experiment": list(self.experiment), "arm": list(self.arm), "bucket": self.bucket}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignments": json_safe(self.to_frame()),
            "salt": self.salt,
            "arms": list(self.arms),
            "weights": list(self.weights),
            "counts": dict(self.counts),
            "provenance": self.provenance.to_dict() if self.provenance is not None else None,
        }

    def summary(self) -> Summary:
        counts = pd.DataFrame(
            {
                "arm": list(self.arms),
                "weight": list(self.weights),
                "n": [self.counts[a] for a in self.arms],
            }
        )
        return Summary(
            title="Meta-experiment assignment (SHA-256)",
            lines=[("salt", self.salt), ("experiments", len(self.experiment))],
            tables=[("arms", counts)],
        )


def assign_arms(
    experiments: Any,
    *,
    salt: str,
    arms: Sequence[str] = ("control", "treatment"),
    weights: Sequence[float] | None = None,
) -> Assignment:
    """Assign each experiment id to an arm by hashing it with a salt.

    Parameters
    ----------
    experiments : sequence
        Experiment ids (converted with ``str``).
    salt : str
        A non-empty label of this meta-experiment; the same salt and id give the same arm.
    arms : sequence of str
        Arm labels, at least two, distinct.
    weights : sequence of float, optional
        Arm shares (positive; normalised to sum to 1). Default: equal.

    Returns
    -------
    Assignment
        ``experiment``, ``arm``, ``bucket``, ``salt``, ``arms``, ``weights``, ``counts``,
        ``provenance``.

    Notes
    -----
    ``bucket = int(sha256(salt + ":" + id)[:13 hex digits], 16) / 16**13``; the arm is the first
    whose cumulative share exceeds the bucket. The separator keeps ``("ab", "c")`` and
    ``("a", "bc")`` apart.

    Validated against: R digest 0.6 ``digest(paste0(salt, ":", id), "sha256", serialize = FALSE)``.
    """
    if not isinstance(salt, str) or not salt:
        raise InputError(
            f"'salt' must be a non-empty string naming this meta-experiment; got {salt!r}. "
            f"Pass e.g. salt='protocol-2024'."
        )
    if isinstance(arms, str) or len(arms) < 2 or len(set(arms)) != len(arms):
        raise InputError(
            f"'arms' must be at least two distinct labels; got {arms!r}. Pass e.g. arms=('control', 'treatment')."
        )
    labels = tuple(str(a) for a in arms)
    if weights is None:
        w = np.full(len(labels), 1.0 / len(labels))
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(labels),) or np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise InputError(
                f"'weights' must be {len(labels)} positive numbers, one per arm; got {list(weights)!r}."
            )
        w = w / w.sum()
    if isinstance(experiments, (str, bytes)):
        raise InputError(
            f"'experiments' must be a sequence of ids, not one string ({experiments!r}). Pass a list."
        )
    ids = [
        str(e)
        for e in (
            experiments.tolist()
            if isinstance(experiments, (pd.Series, np.ndarray))
            else experiments
        )
    ]
    missing = [i for i, e in enumerate(ids) if e in ("", "nan", "None", "<NA>")]
    if missing:
        raise InputError(
            f"experiment ids must be non-empty; got {ids[missing[0]]!r} at row {missing[0]}. Remove rows without an id."
        )
    bucket = np.array([hash_bucket(e, salt=salt) for e in ids], dtype=float)
    edges = np.cumsum(w)
    edges[-1] = 1.0
    idx = np.searchsorted(edges, bucket, side="right")
    arm = tuple(labels[i] for i in idx)
    counts = {a: int(np.sum(idx == j)) for j, a in enumerate(labels)}
    return Assignment(
        experiment=tuple(ids),
        arm=arm,
        bucket=bucket,
        salt=salt,
        arms=labels,
        weights=tuple(float(x) for x in w),
        counts=counts,
        provenance=Provenance(
            method="SHA-256 hash assignment",
            k=len(ids),
            options={"salt": salt, "arms": list(labels), "weights": w.tolist()},
            input_hash=input_hash(salt, "\x1f".join(ids)),
        ),
    )
