"""Plan the next comparison from pilot runs: how many seeds per task, how many tasks.

The pilot gives the three numbers power depends on: the seed-to-seed spread, how strongly the
two arms move together on a shared seed, and how much the true improvement varies across tasks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import check_choice, require_columns
from consilience.design._common import Alternative, FloatArray, check_alternative, check_probability
from consilience.design.meta import power_meta
from consilience.errors import DataDroppedWarning, InputError, SmallSampleWarning

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["DesignPlan", "pilot_components", "recommend_design"]

_CURVE_COLUMNS = ["k", "seeds", "runs", "power"]


@dataclass(frozen=True)
class DesignPlan:
    """Recommended seeds and tasks for detecting ``min_effect``, with the power surface as data.

    Attributes
    ----------
    baseline, candidate : str
        The arms compared (effect = candidate - baseline).
    min_effect : float
        Smallest mean improvement worth detecting, in metric units.
    target_power, alpha : float
    alternative, test : str
    sd : float
        Pooled seed-to-seed standard deviation within task and arm.
    rho : float
        Pooled within-task correlation of the arms on shared seeds (0 when seeds are not shared).
    tau2 : float
        DerSimonian-Laird between-task variance of the improvement.
    k_pilot : int
        Tasks in the pilot.
    seeds_pilot : float
        Median seeds per arm per task in the pilot.
    current_power : float
        Power of a design with the pilot's tasks and seeds.
    seeds_for_pilot_tasks : float
        Seeds per arm per task needed with the pilot's tasks (NaN if no number up to
        ``max_seeds`` suffices: then tasks must be added).
    k : int
        Recommended number of tasks.
    seeds : int
        Recommended seeds per arm per task.
    achieved_power : float
        Power of the recommended design.
    power_curve : DataFrame
        ``k, seeds, runs, power`` over the grid searched (runs = 2 k seeds).
    provenance : Provenance
    """

    baseline: str
    candidate: str
    min_effect: float
    target_power: float
    alpha: float
    alternative: str
    test: str
    sd: float
    rho: float
    tau2: float
    k_pilot: int
    seeds_pilot: float
    current_power: float
    seeds_for_pilot_tasks: float
    k: int
    seeds: int
    achieved_power: float
    power_curve: pd.DataFrame
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"<DesignPlan {self.candidate} vs {self.baseline} min_effect={self.min_effect:g} k={self.k} "
            f"seeds={self.seeds} power={self.achieved_power:.3f} (now {self.current_power:.3f})>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The power surface: ``k, seeds, runs, power``."""
        return self.power_curve.copy()

    def to_dict(self) -> dict[str, Any]:
        out = {
            name: json_safe(getattr(self, name))
            for name in self.__dataclass_fields__
            if name not in ("power_curve", "provenance")
        }
        out["power_curve"] = json_safe(self.power_curve)
        out["provenance"] = self.provenance.to_dict() if self.provenance is not None else None
        return out

    def summary(self) -> Summary:
        names = [
            "min_effect",
            "target_power",
            "alpha",
            "test",
            "sd",
            "rho",
            "tau2",
            "k_pilot",
            "seeds_pilot",
            "current_power",
            "seeds_for_pilot_tasks",
            "k",
            "seeds",
            "achieved_power",
        ]
        notes = list(self.provenance.warnings) if self.provenance is not None else []
        return Summary(
            title=f"Design plan: {self.candidate} vs {self.baseline}",
            lines=[(n, getattr(self, n)) for n in names],
            notes=notes,
        )

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Power against seeds per task, the recommended design marked; ``options`` are the keywords
        of :func:`consilience.report.plots.power_plot` (target)."""
        from consilience.report.plots import power_plot

        return power_plot(self, ax, **options)


def pilot_components(pilot: pd.DataFrame, *, baseline: str, candidate: str) -> dict[str, float]:
    """Estimate ``sd``, ``rho``, ``tau2``, ``k`` and median ``seeds`` from pilot runs.

    Columns ``task, arm, seed, value``; rows of other arms are ignored.

    Notes
    -----
    ``sd`` pools the within-(task, arm) variances with weights ``n - 1``. ``rho`` pools, over
    tasks, the covariance of the arms on seeds present in both, divided by the pooled variances.
    Task effects :math:`y_i = \\bar x_{c,i} - \\bar x_{b,i}` get variances
    :math:`v_i = \\sigma^2(1/n_{c,i} + 1/n_{b,i}) - 2\\rho\\sigma^2 m_i/(n_{c,i} n_{b,i})`
    (:math:`m_i` shared seeds), and :math:`\\tau^2` is the DerSimonian-Laird estimate from them.

    Validated against: seeded simulation with known ``sd``, ``rho`` and ``tau2``.
    """
    require_columns(pilot, ["task", "arm", "seed", "value"], what="pilot")
    data = pilot[pilot["arm"].astype(str).isin([baseline, candidate])].copy()
    data["arm"] = data["arm"].astype(str)
    data["value"] = pd.to_numeric(data["value"], errors="coerce")
    bad = int(data["value"].isna().sum())
    if bad:
        warnings.warn(
            f"{bad} pilot run(s) with a missing or non-numeric value omitted.",
            DataDroppedWarning,
            stacklevel=3,
        )
        data = data[data["value"].notna()]
    for arm in (baseline, candidate):
        if not (data["arm"] == arm).any():
            raise InputError(
                f"pilot has no runs for arm {arm!r}; arms present: "
                f"{sorted(pilot['arm'].astype(str).unique().tolist())}. Pass the right arm names."
            )
    cells = data.groupby(["task", "arm"])["value"].agg(["count", "var", "mean"])
    df_within = (cells["count"] - 1).clip(lower=0)
    if df_within.sum() < 1:
        raise InputError(
            "pilot has no task and arm with two or more seeds, so the seed variance cannot be "
            "estimated. Run at least two seeds per arm on some task."
        )
    sd2 = float((cells["var"].fillna(0.0) * df_within).sum() / df_within.sum())
    if sd2 <= 0:
        raise InputError(
            "pilot seeds show no variation at all (seed variance 0). Check that the runs differ by seed."
        )
    wide = data.pivot_table(index=["task", "seed"], columns="arm", values="value", aggfunc="mean")
    shared = (
        wide.dropna(subset=[baseline, candidate])
        if {baseline, candidate} <= set(wide.columns)
        else wide.iloc[0:0]
    )
    rho = 0.0
    if len(shared) > 0:
        centred = shared[[baseline, candidate]] - shared.groupby(level="task")[
            [baseline, candidate]
        ].transform("mean")
        m_task = shared.groupby(level="task").size()
        dof = float((m_task - 1).clip(lower=0).sum())
        vb, vc = float((centred[baseline] ** 2).sum()), float((centred[candidate] ** 2).sum())
        if dof >= 2 and vb > 0 and vc > 0:
            rho = float(
                np.clip(
                    (centred[baseline] * centred[candidate]).sum() / np.sqrt(vb * vc), -0.99, 0.99
                )
            )
    # One row per task (sorted), one column per arm; NaN where the arm has no runs on the task.
    counts, means = cells["count"].unstack("arm"), cells["mean"].unstack("arm")
    both = counts.index[(counts[baseline].notna() & counts[candidate].notna()).to_numpy()]
    if len(both) == 0:
        raise InputError(
            "no task has runs of both arms, so no improvement can be estimated. "
            "Run both arms on the same tasks."
        )
    n_b = counts.loc[both, baseline].to_numpy(dtype=float)
    n_c = counts.loc[both, candidate].to_numpy(dtype=float)
    m = shared.groupby(level="task").size().reindex(both, fill_value=0).to_numpy(dtype=float)
    y = (means.loc[both, candidate] - means.loc[both, baseline]).to_numpy(dtype=float)
    v = sd2 * (1 / n_b + 1 / n_c) - 2 * rho * sd2 * m / (n_b * n_c)
    k = len(both)
    tau2 = 0.0
    if k >= 2:
        w = 1 / v
        mu = np.sum(w * y) / np.sum(w)
        q = float(np.sum(w * (y - mu) ** 2))
        tau2 = max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    else:
        warnings.warn(
            "pilot has one task with both arms, so the between-task variance tau2 cannot be "
            "estimated and is set to 0. Pilot at least two tasks.",
            SmallSampleWarning,
            stacklevel=3,
        )
    seeds = float(np.median(np.concatenate([n_b, n_c])))
    return {
        "sd": float(np.sqrt(sd2)),
        "rho": rho,
        "tau2": float(tau2),
        "k": float(k),
        "seeds": seeds,
    }


def recommend_design(
    pilot: pd.DataFrame,
    *,
    baseline: str,
    candidate: str,
    min_effect: float,
    power: float = 0.8,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    test: Literal["z", "knha"] = "knha",
    max_seeds: int = 50,
    max_tasks: int | None = None,
) -> DesignPlan:
    """Recommend seeds per task and number of tasks from pilot per-seed results.

    Parameters
    ----------
    pilot : DataFrame
        Columns ``task, arm, seed, value`` (one row per run).
    baseline, candidate : str
        Arm labels; the effect is candidate - baseline.
    min_effect : float
        Smallest mean improvement worth detecting (metric units, sign of the alternative).
    power, alpha : float
        Target power and type-I error.
    alternative : {'two-sided', 'larger', 'smaller'}
    test : {'z', 'knha'}
        Pooled test, as in :func:`power_meta`.
    max_seeds : int
        Largest seeds per arm per task considered.
    max_tasks : int, optional
        Largest number of tasks considered (default ``max(4 k_pilot, 20)``).

    Returns
    -------
    DesignPlan
        Estimates (``sd``, ``rho``, ``tau2``), ``current_power``, ``seeds_for_pilot_tasks``,
        the recommended ``k`` and ``seeds`` with ``achieved_power``, and ``power_curve``.

    Notes
    -----
    The power surface is :func:`power_meta` over every (k, seeds) on the grid in one call.
    If the pilot's tasks reach the power with at most ``max_seeds`` seeds, that design is
    recommended (benchmarks are usually fixed); otherwise the design with the fewest runs
    ``2 k seeds`` that reaches it (ties: fewer tasks). Estimates from a small pilot are noisy;
    the plan is as good as ``sd`` and ``tau2``.

    Validated against: :func:`power_meta` (itself against statsmodels) and a seeded
    simulation recovering known ``sd``, ``rho`` and ``tau2``.
    """
    alt = check_alternative(alternative)
    tst = check_choice("test", test, ("z", "knha"))
    target = check_probability("power", power, hint="Pass e.g. power=0.8.")
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.05.")
    if (
        isinstance(min_effect, bool)
        or not isinstance(min_effect, (int, float, np.integer, np.floating))
        or not np.isfinite(min_effect)
        or min_effect == 0
    ):
        raise InputError(
            f"'min_effect' must be a non-zero number (metric units); got {min_effect!r}."
        )
    if not isinstance(pilot, pd.DataFrame):
        raise TypeError(f"'pilot' must be a pandas DataFrame; got {type(pilot).__name__}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        comp = pilot_components(pilot, baseline=str(baseline), candidate=str(candidate))
    notes = [str(w.message) for w in caught]
    for w in caught:
        warnings.warn(str(w.message), w.category, stacklevel=2)
    k_pilot = int(comp["k"])
    k_min = 2 if tst == "knha" else 1
    k_top = int(max_tasks) if max_tasks is not None else max(4 * k_pilot, 20)
    if isinstance(max_seeds, bool) or int(max_seeds) < 2 or k_top < max(k_min, k_pilot):
        raise InputError(
            f"'max_seeds' must be >= 2 and 'max_tasks' >= the pilot's {k_pilot} tasks; "
            f"got {max_seeds!r} and {max_tasks!r}."
        )
    ks, ss = np.meshgrid(
        np.arange(k_min, k_top + 1, dtype=float),
        np.arange(2, int(max_seeds) + 1, dtype=float),
        indexing="ij",
    )
    opts: dict[str, Any] = {
        "sd": comp["sd"],
        "tau2": comp["tau2"],
        "rho": comp["rho"],
        "alpha": a,
        "alternative": alt,
        "test": tst,
    }

    def surface_power(k: Any, seeds: Any) -> FloatArray:
        res = power_meta(
            float(min_effect),
            k,
            seeds,
            sd=comp["sd"],
            tau2=comp["tau2"],
            rho=comp["rho"],
            alpha=a,
            alternative=alt,
            test=cast(Literal["z", "knha"], tst),
        )
        return np.asarray(res.power, dtype=float)

    power_grid = surface_power(ks.ravel(), ss.ravel())
    curve = pd.DataFrame(
        {
            "k": ks.ravel().astype(int),
            "seeds": ss.ravel().astype(int),
            "runs": (2 * ks * ss).ravel().astype(int),
            "power": power_grid,
        },
        columns=_CURVE_COLUMNS,
    )
    k_now = max(k_pilot, k_min)
    current = float(surface_power(float(k_now), max(comp["seeds"], 1.0)))
    ok = curve[curve["power"] >= target]
    on_pilot = ok[ok["k"] == k_now]
    if not on_pilot.empty:
        best = on_pilot.sort_values("seeds").iloc[0]
        seeds_pilot_tasks = float(best["seeds"])
    elif not ok.empty:
        best = ok.sort_values(["runs", "k"]).iloc[0]
        seeds_pilot_tasks = float("nan")
    else:
        raise InputError(
            f"no design with up to {k_top} tasks and {max_seeds} seeds per task reaches power "
            f"{target:g} for min_effect {min_effect:g} (sd {comp['sd']:.3g}, tau2 {comp['tau2']:.3g}). "
            f"Raise max_tasks, or accept a larger min_effect."
        )
    return DesignPlan(
        baseline=str(baseline),
        candidate=str(candidate),
        min_effect=float(min_effect),
        target_power=target,
        alpha=a,
        alternative=alt,
        test=tst,
        sd=comp["sd"],
        rho=comp["rho"],
        tau2=comp["tau2"],
        k_pilot=k_pilot,
        seeds_pilot=comp["seeds"],
        current_power=current,
        seeds_for_pilot_tasks=seeds_pilot_tasks,
        k=int(best["k"]),
        seeds=int(best["seeds"]),
        achieved_power=float(best["power"]),
        power_curve=curve,
        provenance=Provenance(
            method="design from pilot (random-effects power)",
            k=k_pilot,
            warnings=tuple(notes),
            options={
                **opts,
                "min_effect": float(min_effect),
                "power": target,
                "max_seeds": int(max_seeds),
                "max_tasks": k_top,
            },
            input_hash=input_hash(pilot),
        ),
    )
