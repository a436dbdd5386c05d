"""Plan and watch registered experiments: is each design powered for its smallest effect?

:func:`plan_experiment` estimates the variances of an experiment's comparison (from its own
pilot runs, else from its baseline experiment's runs, else from the registry's other
experiments: :mod:`consilience.registry.plan_variance`), computes the power of the planned design to detect the experiment's
``min_effect``, and recommends seeds per task, an evaluation-set size or more tasks.
:func:`apply_plan` writes the recommendation to the experiment; ``alerts`` lists the
experiments that need attention (:mod:`consilience.registry.alerts`): planned or running designs without enough power, and finished
comparisons whose verdict is inconclusive.

Planning model
--------------
Each task's estimated improvement has variance

.. math:: V(s, N) = 2\\sigma^2(1-\\rho)/s + c/N + \\tau^2

for ``s`` seeds per arm and an evaluation set of ``N`` examples: the seed-to-seed spread
:math:`\\sigma` and the correlation :math:`\\rho` of the arms on a shared seed
(:func:`consilience.design.plan.pilot_components`), the test-set sampling variance :math:`c/N`
and the between-task variance :math:`\\tau^2`. The test-set term is modelled for proportion
metrics (accuracy, error rate) when the experiment has a ``planned_n_eval``, as
:func:`consilience.compare` adds it to every task: :math:`c = p_B(1-p_B) + p_C(1-p_C)` (two
binomial proportions, ``binomial``), or, when the runs hold per-item correctness, the paired
McNemar variance :math:`c = \\mathrm{var}_0(c_{Ci} - c_{Bi})`, which is
:math:`\\psi - \\delta^2` for single runs with disagreement rate :math:`\\psi` (``items``). Power
is :func:`consilience.design.meta.power_meta` with the test-set term folded into the seeds,
:math:`s_{eff} = (1/s + c/(2\\sigma^2(1-\\rho)N))^{-1}`, which is exact because power depends on
the design only through :math:`V` and the number of tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience._validation import check_choice
from consilience.design._common import check_probability
from consilience.design.mcnemar import power_mcnemar
from consilience.design.meta import power_meta
from consilience.design.proportions import power_proportions
from consilience.errors import InputError
from consilience.registry.experiments import ExperimentRecord, get_experiment, record_of
from consilience.registry.models import utcnow
from consilience.registry.plan_variance import Components, Source, estimate, is_proportion

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["CURVE_COLUMNS", "ExperimentPlan", "apply_plan", "plan_experiment"]

PLANNABLE = ("planned", "running")
COMPARED = ("complete", "accepted", "rejected", "neutral")
CURVE_COLUMNS = ("lever", "k", "seeds", "n_eval", "runs", "power")
"""Columns of :attr:`ExperimentPlan.power_curve`."""

Lever = Literal["none", "seeds", "n_eval", "seeds_n_eval", "tasks"]


# -- the plan -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentPlan:
    """Power of an experiment's design for its ``min_effect``, and the design that reaches it.

    Attributes
    ----------
    experiment, status, metric : str
    min_effect : float
        Smallest mean improvement worth detecting (metric units).
    target_power, alpha : float
    test : {'knha', 'z'}
        Pooled test of :func:`consilience.design.meta.power_meta` (two-sided).
    source : {'pilot', 'baseline', 'registry'}
        Where the variances come from: the experiment's own complete runs, its baseline
        experiment's runs, or the medians over the registry's other experiments.
    source_experiments : tuple of str
    sd, rho, tau2 : float
        Seed-to-seed standard deviation, correlation of the arms on a shared seed, and
        between-task variance of the improvement.
    test_variance_source : {'binomial', 'items', 'none'}
        How the test-set variance is modelled ('none': not a proportion metric, or no
        ``planned_n_eval``).
    test_variance : float
        Test-set variance of one task's improvement with the planned evaluation set,
        :math:`c / N` (NaN when not modelled).
    discordance : float
        Share of examples where exactly one arm is right (per-item runs only; else NaN).
    eval_power : float
        Power of one task's evaluation set alone to detect ``min_effect``: McNemar's test with
        ``discordance`` (per-item runs) or the two-proportion z test (NaN when not modelled).
    current_k, current_seeds : int
        Tasks and seeds per arm per task of the design now: the tasks of the source runs, and
        ``planned_seeds`` (else the seeds run).
    current_n_eval : int or None
        ``planned_n_eval`` when the test-set variance is modelled.
    seeds_run : float
        Median seeds per arm per task already run (0 without own runs).
    current_power : float
        Power of the current design.
    min_detectable_effect : float
        Smallest effect the current design detects with ``target_power``.
    lever : {'none', 'seeds', 'n_eval', 'seeds_n_eval', 'tasks'}
        What the recommendation changes.
    k, seeds : int
        Recommended tasks and seeds per arm per task.
    n_eval : int or None
        Recommended evaluation-set size (None when not modelled).
    achieved_power : float
        Power of the recommended design.
    fix : str
        The recommendation in one sentence.
    power_curve : DataFrame
        :data:`CURVE_COLUMNS`: power against seeds (at the current tasks and evaluation set),
        against the evaluation-set size (at the current tasks and the recommended seeds) and
        against tasks (at the recommended seeds and evaluation set); ``lever`` says which.
    provenance : Provenance
        Options, the input hash of the source runs, and notes on the sources.
    """

    experiment: str
    status: str
    metric: str
    min_effect: float
    target_power: float
    alpha: float
    test: str
    source: Source
    source_experiments: tuple[str, ...]
    sd: float
    rho: float
    tau2: float
    test_variance_source: str
    test_variance: float
    discordance: float
    eval_power: float
    current_k: int
    current_seeds: int
    current_n_eval: int | None
    seeds_run: float
    current_power: float
    min_detectable_effect: float
    lever: Lever
    k: int
    seeds: int
    n_eval: int | None
    achieved_power: float
    fix: str
    power_curve: pd.DataFrame = field(repr=False, compare=False)
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        n_eval = f" n_eval={self.n_eval}" if self.n_eval is not None else ""
        return (
            f"<ExperimentPlan {self.experiment!r} power={self.current_power:.3f} -> "
            f"k={self.k} seeds={self.seeds}{n_eval} power={self.achieved_power:.3f}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The power curve (columns :data:`CURVE_COLUMNS`)."""
        return self.power_curve.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary; ``power_curve`` as a list of records."""
        out = {
            name: json_safe(getattr(self, name))
            for name in self.__dataclass_fields__
            if name not in ("power_curve", "provenance")
        }
        out["power_curve"] = json_safe(self.power_curve)
        out["provenance"] = self.provenance.to_dict() if self.provenance is not None else None
        return out

    def summary(self) -> Summary:
        """Current and recommended design, the variances and their source."""
        names = [
            "metric", "min_effect", "target_power", "alpha", "test", "source", "sd", "rho",
            "tau2", "test_variance_source", "test_variance", "eval_power", "current_k",
            "current_seeds", "current_n_eval", "seeds_run", "current_power",
            "min_detectable_effect", "lever", "k", "seeds", "n_eval", "achieved_power",
        ]
        lines = [(n, getattr(self, n)) for n in names]
        lines.insert(6, ("source_experiments", ", ".join(self.source_experiments)))
        notes = [self.fix]
        if self.provenance is not None:
            notes += list(self.provenance.warnings)
        return Summary(title=f"Plan: {self.experiment} ({self.status})", lines=lines, notes=notes)


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"'{name}' must be a whole number >= {low}; got {value!r}.")
    return int(value)


def _min_effect(record: ExperimentRecord, override: float | None) -> float:
    value = override if override is not None else record.min_effect
    if value is None:
        raise InputError(
            f"experiment '{record.name}' has no min_effect (the smallest improvement worth "
            "detecting), so its power cannot be computed. Register it with one, e.g. "
            f"`consilience experiment add {record.name} --min-effect 0.01`, or pass "
            "min_effect= (--min-effect) to plan it."
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(f"'min_effect' must be a positive number (metric units); got {value!r}.")
    return float(value)


def _count(n: float, word: str) -> str:
    return f"{n:,.0f} {word}{'' if n == 1 else 's'}"


def _design(k: int, seeds: int, n_eval: int | None) -> str:
    """A design in words: ``12 tasks x 5 seeds on 300 examples``."""
    out = f"{_count(k, 'task')} x {_count(seeds, 'seed')}"
    if n_eval is not None:
        out += f" on {_count(n_eval, 'example')}"
    return out


def plan_experiment(
    registry: Registry,
    name: str,
    *,
    target_power: float = 0.8,
    alpha: float = 0.05,
    metric: str = "accuracy",
    min_effect: float | None = None,
    test: Literal["knha", "z"] = "knha",
    max_seeds: int = 50,
    max_n_eval: int = 100_000,
) -> ExperimentPlan:
    """Power of a registered experiment's design for its ``min_effect``, and how to reach it.

    Parameters
    ----------
    registry : Registry
    name : str
        The experiment.
    target_power, alpha : float
        Power asked for and type-I error of the two-sided pooled test.
    metric : str
        The metric compared.
    min_effect : float, optional
        Smallest improvement worth detecting; default the experiment's ``min_effect``.
    test : {'knha', 'z'}
        Pooled test, as in :func:`consilience.compare`.
    max_seeds : int
        Most seeds per arm per task considered.
    max_n_eval : int
        Largest evaluation set considered.

    Returns
    -------
    ExperimentPlan
        Variances and their source, the current design's power, the recommended ``k``,
        ``seeds`` and ``n_eval`` with their power, the ``fix`` and the ``power_curve``.

    Raises
    ------
    InputError
        No ``min_effect``; no source of variances; invalid options.

    Notes
    -----
    The model is in the module docstring. The current design is the source runs' tasks,
    ``planned_seeds`` (else the seeds run) and ``planned_n_eval``. If its power reaches the
    target nothing changes. Otherwise, on the same tasks, every seeds count from the current
    one up to ``max_seeds`` is paired with the smallest evaluation set (not below the planned
    one, closed form from :math:`V` at the target) that reaches the target; the pair with the
    smallest growth of seeds x examples, ``(s / s_now) (N / N_now)`` (the predictions a task's
    evaluation costs), is recommended (ties: fewer seeds). When no pair up to ``max_seeds``
    and ``max_n_eval`` reaches it, tasks are added: the design with the fewest runs ``k s``
    over seeds from ``max(2, seeds run)`` to ``max_seeds`` at the planned evaluation set (the
    rule of :func:`consilience.design.recommend_design`).

    Validated against: :func:`consilience.design.meta.power_meta` with ``tau2 + c/N``
    (itself against statsmodels ``TTestPower``), :func:`consilience.design.power_mcnemar` and
    :func:`consilience.design.power_proportions` in ``tests/planning``.
    """
    target = check_probability("target_power", target_power, hint="Pass e.g. 0.8.")
    a = check_probability("alpha", alpha, hint="Pass e.g. 0.05.")
    if target <= a:
        raise InputError(f"'target_power' must exceed alpha = {a:g}; got {target:g}.")
    tst = check_choice("test", test, ("knha", "z"))
    pooled_test = cast(Literal["z", "knha"], tst)
    k_min = 2 if tst == "knha" else 1
    top_seeds = _check_int("max_seeds", max_seeds, 2)
    top_n = _check_int("max_n_eval", max_n_eval, 1)
    if not isinstance(metric, str) or not metric.strip():
        raise InputError(f"'metric' must be a metric name such as 'accuracy'; got {metric!r}.")
    record = registry.experiment(name)
    effect = _min_effect(record, min_effect)
    proportion = is_proportion(metric)
    est = estimate(registry, record, metric, proportion)
    comp = est.comp
    notes = list(est.notes)
    if record.planned_n_eval is not None and not proportion:
        notes.append(
            f"planned_n_eval ignored: metric {metric!r} is not a proportion, so it has no "
            "binomial test-set variance"
        )
    n_now = record.planned_n_eval if proportion else None
    modelled = n_now is not None and math.isfinite(comp.eval_var)
    c = comp.eval_var if modelled else 0.0
    k_now = max(comp.k, k_min)
    if record.planned_tasks is not None:
        k_now = max(int(record.planned_tasks), k_min)
        notes.append(f"{k_now} tasks as planned (the variance source has {comp.k})")
    elif k_now != comp.k:
        notes.append(f"the source has {comp.k} task; the {tst} test needs 2, so 2 are assumed")
    s_now = int(record.planned_seeds or max(1, math.ceil(comp.seeds)))
    seed_unit = 2.0 * comp.sd**2 * (1.0 - comp.rho)
    n_ref = float(n_now) if modelled and n_now is not None else math.inf

    def s_eff(seeds: Any, n_eval: Any) -> Any:
        seeds = np.asarray(seeds, dtype=float)
        return 1.0 / (1.0 / seeds + c / (seed_unit * np.asarray(n_eval, dtype=float)))

    def power(k: Any, seeds: Any, n_eval: Any = n_ref) -> Any:
        res = power_meta(effect, k, s_eff(seeds, n_eval), sd=comp.sd, tau2=comp.tau2,
                         rho=comp.rho, alpha=a, test=pooled_test)
        return np.asarray(res.power, dtype=float)

    current = float(power(float(k_now), float(s_now)))
    mde = float(
        power_meta(None, float(k_now), float(s_eff(float(s_now), n_ref)), target, sd=comp.sd,
                   tau2=comp.tau2, rho=comp.rho, alpha=a,
                   test=pooled_test).effect
    )
    lever: Lever = "none"
    k_rec, s_rec, n_rec = k_now, s_now, n_now
    if current < target:
        s_grid = np.arange(s_now, max(top_seeds, s_now) + 1, dtype=float)
        if modelled and n_now is not None:
            es_star = float(
                power_meta(None, float(k_now), 1.0, target, sd=1.0, alpha=a,
                           test=pooled_test).effect_size
            )
            budget = (effect / es_star) ** 2 - comp.tau2 - seed_unit / s_grid
            need = np.where(budget > 0, c / np.where(budget > 0, budget, 1.0), np.inf)
            n_grid = np.maximum(float(n_now), np.ceil(need - 1e-9))
            ok = (n_grid <= top_n) & (power(float(k_now), s_grid, n_grid) >= target)
            factor = (s_grid / s_now) * (n_grid / n_now)
        else:
            n_grid = np.full(s_grid.shape, n_ref)
            ok = power(float(k_now), s_grid) >= target
            factor = s_grid / s_now
        if ok.any():
            best = int(np.flatnonzero(ok)[np.argmin(factor[ok])])
            s_rec = int(s_grid[best])
            if modelled and n_now is not None:
                n_rec = int(n_grid[best])
            more_n = n_rec is not None and n_now is not None and n_rec > n_now
            lever = ("seeds_n_eval" if s_rec > s_now else "n_eval") if more_n else "seeds"
        else:
            low = max(2, math.ceil(est.seeds_run))
            seeds_k = np.arange(low, max(top_seeds, low) + 1, dtype=float)
            k_need = np.ceil(
                np.asarray(
                    power_meta(effect, None, s_eff(seeds_k, n_ref), target, sd=comp.sd,
                               tau2=comp.tau2, rho=comp.rho, alpha=a,
                               test=pooled_test).k,
                    dtype=float,
                )
                - 1e-9
            )
            order = np.lexsort((k_need, k_need * seeds_k))
            k_rec, s_rec, lever = int(k_need[order[0]]), int(seeds_k[order[0]]), "tasks"
    achieved = float(power(float(k_rec), float(s_rec), n_rec if modelled else n_ref))
    fix = _fix(lever, effect, target, current, mde, comp.tau2, k_now, s_now, n_now,
               est.seeds_run, k_rec, s_rec, n_rec, top_seeds)
    curve = _curve(power, k_now, s_now, n_now if modelled else None, k_rec, s_rec,
                   n_rec if modelled else None, top_seeds, k_min)
    eval_power = _eval_power(comp, effect, n_now, a, notes) if modelled else math.nan
    return ExperimentPlan(
        experiment=record.name,
        status=record.status,
        metric=metric,
        min_effect=effect,
        target_power=target,
        alpha=a,
        test=tst,
        source=est.source,
        source_experiments=est.experiments,
        sd=comp.sd,
        rho=comp.rho,
        tau2=comp.tau2,
        test_variance_source=comp.test_variance_source if modelled else "none",
        test_variance=c / n_ref if modelled else math.nan,
        discordance=comp.discordance,
        eval_power=eval_power,
        current_k=k_now,
        current_seeds=s_now,
        current_n_eval=n_now if modelled else None,
        seeds_run=est.seeds_run,
        current_power=current,
        min_detectable_effect=mde,
        lever=lever,
        k=k_rec,
        seeds=s_rec,
        n_eval=n_rec if modelled else None,
        achieved_power=achieved,
        fix=fix,
        power_curve=curve,
        provenance=Provenance(
            method=f"experiment plan (random-effects power, {tst})",
            k=comp.k,
            warnings=tuple(notes),
            options={
                "metric": metric, "min_effect": effect, "target_power": target, "alpha": a,
                "test": tst, "max_seeds": top_seeds, "max_n_eval": top_n,
            },
            input_hash=comp.digest,
        ),
    )


def _eval_power(
    comp: Components, effect: float, n_eval: int | None, alpha: float, notes: list[str]
) -> float:
    """Power of one task's evaluation set alone (McNemar with per-item runs, else two-sample)."""
    if n_eval is None:
        return math.nan
    try:
        if comp.test_variance_source == "items":
            return float(power_mcnemar(effect, float(n_eval), None,
                                       discordance=comp.discordance, alpha=alpha).power)
        return float(power_proportions(effect, float(n_eval), None, baseline=comp.p_baseline,
                                       alpha=alpha).power)
    except InputError as exc:
        notes.append(f"eval_power not computed: {exc}")
        return math.nan


def _fix(
    lever: Lever, effect: float, target: float, current: float,
    mde: float, tau2: float, k_now: int, s_now: int, n_now: int | None, seeds_run: float,
    k: int, s: int, n: int | None, top_seeds: int,
) -> str:
    design = _design(k_now, s_now, n_now)
    if lever == "none":
        return (
            f"No change needed: the design ({design}) has power {current:.2f} >= "
            f"{target:.2f} for a {effect:g} effect."
        )
    if seeds_run > 0 and s > seeds_run:
        seeds = f"run {_count(s - math.ceil(seeds_run), 'more seed')} per task ({s} in all)"
    else:
        seeds = f"plan {_count(s, 'seed')} per task instead of {s_now}"
    if lever == "seeds":
        return f"{seeds[0].upper()}{seeds[1:]} on the {_count(k_now, 'task')}."
    if lever in ("n_eval", "seeds_n_eval"):
        out = f"Raise the evaluation set to {_count(n or 0, 'example')} (planned {n_now:,})"
        return out + (f" and {seeds}." if lever == "seeds_n_eval" else ".")
    return (
        f"Run it on {_count(k, 'task')} ({k - k_now:,} more) with {_count(s, 'seed')} each, or "
        f"accept a min_effect of {mde:.3g}: no number of seeds up to {top_seeds} reaches power "
        f"{target:.2f} on the {_count(k_now, 'task')}, because the gain varies between tasks "
        f"(tau2 = {tau2:.3g})."
    )


def _curve(
    power: Any, k_now: int, s_now: int, n_now: int | None, k: int, s: int, n: int | None,
    top_seeds: int, k_min: int,
) -> pd.DataFrame:
    """Power against seeds, evaluation-set size and tasks, one vectorised call each."""
    parts: list[tuple[str, Any, Any, Any]] = []
    seeds = np.arange(1, max(top_seeds, s_now, s) + 1, dtype=float)
    parts.append(("seeds", np.full(seeds.shape, float(k_now)), seeds,
                  np.full(seeds.shape, np.nan if n_now is None else float(n_now))))
    if n_now is not None and n is not None:
        top = max(4 * n_now, int(1.5 * n))
        sizes = np.unique(np.round(np.geomspace(max(1, n_now // 4), top, 40)))
        parts.append(("n_eval", np.full(sizes.shape, float(k_now)),
                      np.full(sizes.shape, float(s)), sizes))
    tasks = np.unique(np.round(np.linspace(k_min, max(2 * k_now, math.ceil(1.25 * k)), 60)))
    parts.append(("tasks", tasks, np.full(tasks.shape, float(s)),
                  np.full(tasks.shape, np.nan if n is None else float(n))))
    frames = []
    for lever, kk, ss, nn in parts:  # three curves, each one call over its grid
        pw = power(kk, ss, np.where(np.isnan(nn), np.inf, nn))
        frames.append(pd.DataFrame({
            "lever": lever, "k": kk.astype(int), "seeds": ss.astype(int),
            "n_eval": pd.Series(nn).astype("Int64"),
            "runs": (2 * kk * ss).astype(int), "power": pw,
        }, columns=list(CURVE_COLUMNS)))
    return pd.concat(frames, ignore_index=True)


# -- applying a plan ----------------------------------------------------------------------------
def apply_plan(
    registry: Registry,
    name: str,
    *,
    actor: str | None = None,
    target_power: float = 0.8,
    alpha: float = 0.05,
    metric: str = "accuracy",
    max_seeds: int = 50,
    max_n_eval: int = 100_000,
) -> tuple[ExperimentRecord, ExperimentPlan]:
    """Write a plan's recommended seeds, evaluation size and tasks to the experiment.

    Parameters
    ----------
    registry : Registry
    name : str
        A ``planned`` or ``running`` experiment.
    actor : str, optional
        Recorded in the audit log; default the registry's actor.
    target_power, alpha, metric, max_seeds, max_n_eval
        As in :func:`plan_experiment` (the experiment's own ``min_effect`` is used).

    Returns
    -------
    (ExperimentRecord, ExperimentPlan)
        The experiment after the change and the plan applied.

    Raises
    ------
    InputError
        The experiment is finished (complete, accepted, rejected, neutral, failed), or it cannot
        be planned (see :func:`plan_experiment`).

    Notes
    -----
    The change and an audit entry ``plan.apply`` (actor, time, old and new values, the plan's
    numbers) are written in one transaction. A plan that needs more tasks sets
    ``planned_tasks``; later plans and alerts use the planned tasks instead of the pilot's.
    """
    _check_plannable(registry.experiment(name))
    plan = plan_experiment(registry, name, target_power=target_power, alpha=alpha, metric=metric,
                           max_seeds=max_seeds, max_n_eval=max_n_eval)
    with registry._write() as session:
        exp = get_experiment(session, name)
        _check_plannable(record_of(session, exp))
        old = {"planned_seeds": exp.planned_seeds, "planned_n_eval": exp.planned_n_eval,
               "planned_tasks": exp.planned_tasks}
        exp.planned_seeds = plan.seeds
        if plan.n_eval is not None:
            exp.planned_n_eval = plan.n_eval
        if plan.lever == "tasks" or exp.planned_tasks is not None:
            exp.planned_tasks = plan.k
        new = {"planned_seeds": exp.planned_seeds, "planned_n_eval": exp.planned_n_eval,
               "planned_tasks": exp.planned_tasks}
        if new != old:
            exp.updated_at = utcnow()
        summary = plan.to_dict()
        details = {
            "from": old,
            "to": new,
            "plan": {key: summary[key] for key in (
                "metric", "min_effect", "target_power", "alpha", "source", "source_experiments",
                "current_power", "lever", "k", "seeds", "n_eval", "achieved_power", "fix")},
        }
        registry._audit(session, "plan.apply", name, details, actor=actor)
        session.flush()
        record = record_of(session, exp)
    return record, plan


def _check_plannable(record: ExperimentRecord) -> None:
    if record.status not in PLANNABLE:
        raise InputError(
            f"experiment '{record.name}' is {record.status}: its design is settled, so a plan "
            "cannot be applied to it. Apply plans to planned or running experiments; to follow "
            f"it up, register a new one with `consilience experiment add NAME --baseline "
            f"{record.baseline or record.name}`."
        )
