"""The history of a living analysis: one row per stored snapshot, oldest first.

A locked protocol's pooled estimate is recomputed and stored whenever its runs change
(``consilience update``). Read in order, the snapshots form a cumulative meta-analysis over time:
each one pools every run that had arrived by then. :func:`history_cumulative` expresses them as a
:class:`~consilience.diagnostics.Cumulative` so that the cumulative forest plot draws how the
estimate and its interval settled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience._results import Provenance

if TYPE_CHECKING:
    from consilience.diagnostics.cumulative import Cumulative

__all__ = ["HISTORY_COLUMNS", "history_cumulative", "snapshot_history"]

HISTORY_COLUMNS = ("snapshot", "created_at", "k", "estimate", "se", "ci_low", "ci_high", "pi_low",
                   "pi_high", "i2", "verdict", "n_runs", "n_deviations", "input_hash")
"""Columns of :func:`snapshot_history`."""


def _comparison(result: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = result.get("comparison")
    return inner if isinstance(inner, Mapping) else result


def snapshot_history(snapshots: Sequence[Any]) -> pd.DataFrame:
    """The snapshots of one living analysis as a table, oldest first.

    Parameters
    ----------
    snapshots : sequence of SnapshotRecord
        ``Registry.snapshots(protocol)`` (any order).

    Returns
    -------
    DataFrame
        :data:`HISTORY_COLUMNS`: the snapshot id, when it was stored, the pooled comparison's
        ``k, estimate, se, ci_low, ci_high, pi_low, pi_high, i2, verdict``, the runs analysed,
        the number of deviations from the protocol and the first 12 characters of the runs'
        hash. Fields a snapshot lacks are missing.
    """
    rows = []
    for snap in sorted(snapshots, key=lambda s: (s.created_at, s.id)):
        payload = dict(snap.result)
        comp = _comparison(payload)
        deviations = payload.get("deviations")
        rows.append({
            "snapshot": snap.id, "created_at": snap.created_at, "k": comp.get("k"),
            "estimate": comp.get("estimate"), "se": comp.get("se"), "ci_low": comp.get("ci_low"),
            "ci_high": comp.get("ci_high"), "pi_low": comp.get("pi_low"),
            "pi_high": comp.get("pi_high"), "i2": comp.get("i2"), "verdict": comp.get("verdict"),
            "n_runs": payload.get("n_runs"),
            "n_deviations": len(deviations) if isinstance(deviations, list) else None,
            "input_hash": str(snap.input_hash)[:12],
        })
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    for col in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "i2"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    for col in ("k", "n_runs", "n_deviations"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame


def _floats(snaps: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    out = []
    for comp in snaps:
        value = comp.get(key)
        try:
            out.append(float(value) if value is not None else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.asarray(out, dtype=float)


def history_cumulative(snapshots: Sequence[Any], *, label: str = "living analysis"
                       ) -> Cumulative | None:
    """The snapshots as a cumulative meta-analysis over time, for the cumulative forest plot.

    Parameters
    ----------
    snapshots : sequence of SnapshotRecord
    label : str
        Named in the provenance.

    Returns
    -------
    Cumulative or None
        Row ``i`` is the ``i``-th snapshot, labelled with its date and the runs it pooled;
        ``k`` is the tasks of the newest. ``None`` when a snapshot lacks an estimate or its
        confidence interval.

    Notes
    -----
    ``h2`` is recovered from I² as :math:`H^2 = 1 / (1 - I^2/100)`.
    """
    from consilience.diagnostics.cumulative import Cumulative

    ordered = sorted(snapshots, key=lambda s: (s.created_at, s.id))
    comps = [_comparison(dict(s.result)) for s in ordered]
    if not comps:
        return None
    est, lo, hi = _floats(comps, "estimate"), _floats(comps, "ci_low"), _floats(comps, "ci_high")
    if not (np.isfinite(est).all() and np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    i2 = _floats(comps, "i2")
    with np.errstate(divide="ignore", invalid="ignore"):
        h2 = np.where(i2 < 100, 1.0 / (1.0 - i2 / 100.0), np.inf)
    labels = []
    for snap in ordered:
        n_runs = dict(snap.result).get("n_runs")
        runs = f", {int(n_runs):,} runs" if isinstance(n_runs, (int, float)) else ""
        labels.append(f"{snap.created_at:%Y-%m-%d}{runs}")
    k_values = _floats(comps, "k")
    k_last = int(k_values[-1]) if math.isfinite(k_values[-1]) else len(comps)
    last = comps[-1]
    provenance = Provenance(method=f"{label} (snapshots)", k=len(comps),
                            options={"snapshots": [s.id for s in ordered]},
                            input_hash=str(ordered[-1].input_hash)[:16])
    return Cumulative(
        study=tuple(labels), estimate=est, se=_floats(comps, "se"),
        statistic=_floats(comps, "statistic"), p_value=_floats(comps, "p_value"),
        df=_floats(comps, "df"), ci_low=lo, ci_high=hi, tau2=_floats(comps, "tau2"), i2=i2,
        h2=h2, q=_floats(comps, "q"), q_p_value=_floats(comps, "q_p_value"),
        method=str(last.get("method") or "REML"), test=str(last.get("test") or "knha"),
        level=float(last.get("level") or 0.95), k=k_last, provenance=provenance,
        position=np.arange(len(comps)), k_pooled=k_values,
    )
