r"""Labelling budget or model change? A decision table in expected gain per dollar.

:func:`value_of_options` prices two kinds of option on one scale, the improvement in the score per
USD spent: buying labels (the gain read off the fitted learning curve, with its bootstrap
replicates) and candidate model changes (an effect with its confidence interval, as a pooled
estimate from :mod:`consilience.pooling` gives it). It reports which option wins in expectation,
under optimistic and pessimistic readings of each side, and how often each wins across the joint
uncertainty.

References
----------
Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0: An extensive learning
curves database for classification tasks. ECML PKDD 2022.
Viering, T., & Loog, M. (2022). The shape of learning curves: a review. IEEE TPAMI 45(6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, check_level, describe_rows, require_columns
from consilience.curves.result import CurveFit
from consilience.curves.value import _positive, first_crossing, improvement, size_grid
from consilience.errors import InputError

__all__ = ["CANDIDATE_COLUMNS", "SCENARIOS", "OptionsTable", "check_candidates", "value_of_options"]

CANDIDATE_COLUMNS: tuple[str, ...] = ("name", "effect", "ci_low", "ci_high", "cost_usd")
SCENARIOS: tuple[str, ...] = ("expected", "data_optimistic", "models_optimistic")
_COLUMNS = ("option", "kind", "cost_usd", "n_labels", "gain", "gain_ci_low", "gain_ci_high", "gain_per_usd",
            "gain_per_usd_ci_low", "gain_per_usd_ci_high", "p_best", "p_beats_labels",
            "break_even_label_cost", "rank")


@dataclass(frozen=True, eq=False)
class OptionsTable:
    """Decision table of labelling budgets and model changes.

    Attributes
    ----------
    table : DataFrame
        One row per option: ``option, kind`` (``data``/``model``), ``cost_usd``, ``n_labels``
        (extra labelled examples, NaN for models), ``gain, gain_ci_low, gain_ci_high``
        (improvement in score units), ``gain_per_usd`` and its interval, ``p_best`` (share of
        joint draws in which the option has the highest gain per USD), ``p_beats_labels``
        (models: share of draws in which it beats spending its cost on labels),
        ``break_even_label_cost`` (models: label price in USD at which the same money spent on
        labels buys the same expected gain; labels win below it), ``rank`` (1 = highest
        expected gain per USD).
    winners : mapping of str to str
        Option with the highest gain per USD under each scenario: ``expected`` (point
        estimates), ``data_optimistic`` (data gains at ``ci_high``, model effects at
        ``ci_low``), ``models_optimistic`` (the reverse).
    label_cost : float
        USD per labelled example.
    current_size : float
        Training-set size the gains start from.
    level : float
        Confidence level of the intervals.
    n_draws : int
        Joint Monte Carlo draws behind ``p_best`` and ``p_beats_labels``.
    provenance : Provenance
        Method, options, hash of the curve and the candidates.
    """

    table: pd.DataFrame
    winners: Mapping[str, str]
    label_cost: float
    current_size: float
    level: float
    n_draws: int
    provenance: Provenance

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"options": json_safe(self.table), "winners": dict(self.winners), "label_cost": self.label_cost,
                "current_size": self.current_size, "level": self.level, "n_draws": self.n_draws,
                "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        cols = ["option", "kind", "cost_usd", "gain", "gain_per_usd", "gain_per_usd_ci_low",
                "gain_per_usd_ci_high", "p_best", "break_even_label_cost"]
        lines: list[tuple[str, Any]] = [("label cost (USD)", self.label_cost), ("current size", self.current_size),
                                        ("level", self.level)]
        lines += [(f"winner ({k})", v) for k, v in self.winners.items()]
        notes = [("gains are improvements in the score (positive = better); model effects are assumed "
                  "to add to the curve at the current size")]
        return Summary("Labels or model changes: gain per USD", lines, [("Options", self.table[cols])], notes)

    def __repr__(self) -> str:
        return (f"<OptionsTable {len(self.table)} options, expected winner "
                f"{self.winners['expected']!r} at label cost {self.label_cost:g} USD>")


def check_candidates(frame: Any) -> pd.DataFrame:
    """Validate a candidates table (columns ``name, effect, ci_low, ci_high, cost_usd``) and return
    a clean copy; errors name the column, the rule, the rows and the fix."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'candidates' must be a pandas DataFrame with columns {list(CANDIDATE_COLUMNS)}; "
                        f"got {type(frame).__name__}.")
    require_columns(frame, CANDIDATE_COLUMNS, what="candidates")
    names = frame["name"]
    if names.isna().any() or names.astype(str).str.strip().eq("").any():
        bad = np.flatnonzero(names.isna().to_numpy() | names.astype(str).str.strip().eq("").to_numpy())
        raise InputError(f"candidates 'name' must be non-empty; missing at {describe_rows(bad)}. Name every option.")
    labels = names.astype(str).tolist()
    if len(set(labels)) != len(labels):
        dup = sorted({n for n in labels if labels.count(n) > 1})
        raise InputError(f"candidates 'name' must be unique; got duplicates {dup}. Rename them.")
    out = pd.DataFrame({"name": labels})
    for col in CANDIDATE_COLUMNS[1:]:
        v = as_float_vector(f"candidates '{col}'", frame[col], labels=labels)
        if np.isnan(v).any():
            bad = np.flatnonzero(np.isnan(v))
            raise InputError(f"candidates '{col}' must not be missing; got NaN at {describe_rows(bad, labels)}. "
                             f"Fill it in or drop the candidate.")
        out[col] = v
    bad = np.flatnonzero(out["cost_usd"].to_numpy() <= 0)
    if bad.size:
        raise InputError(f"candidates 'cost_usd' must be > 0; got {out['cost_usd'].iloc[bad[0]]:g} at "
                         f"{describe_rows(bad, labels)}. Give each change's cost in USD.")
    bad = np.flatnonzero(~((out["ci_low"] <= out["effect"]) & (out["effect"] <= out["ci_high"])).to_numpy())
    if bad.size:
        raise InputError(f"candidates need ci_low <= effect <= ci_high; broken at {describe_rows(bad, labels)}. "
                         f"Check the interval columns are not swapped.")
    return out


def value_of_options(
    curve_fit: CurveFit,
    label_cost: float,
    candidates: pd.DataFrame,
    *,
    budgets: Sequence[float] | None = None,
    candidates_level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 0,
) -> OptionsTable:
    r"""Expected gain per dollar of labelling budgets and candidate model changes.

    Parameters
    ----------
    curve_fit : CurveFit
        The learning curve of the current model.
    label_cost : float
        USD per labelled example.
    candidates : DataFrame
        Columns ``name, effect, ci_low, ci_high, cost_usd``: each model change's improvement in
        the curve's score units (positive = better, whatever the metric's direction), its
        confidence interval and its cost in USD.
    budgets : sequence of float, optional
        Labelling budgets in USD; default the distinct candidate costs, so every model change has
        a labelling option of the same price.
    candidates_level : float
        Confidence level of the candidates' intervals (0.95 or 95).
    n_draws : int
        Joint Monte Carlo draws (curve replicates resampled, model effects drawn) behind
        ``p_best`` and ``p_beats_labels``.
    seed : int
        Seed of the ``numpy.random.Generator`` for the model-effect draws.

    Returns
    -------
    OptionsTable
        See its attributes.

    Notes
    -----
    A budget :math:`B` buys :math:`\lfloor B / c \rfloor` labels; its gain is
    :math:`g(n_0 + \lfloor B/c \rfloor) = \hat e(n_0) - \hat e(n_0 + \lfloor B/c \rfloor)` on the
    fitted curve, drawn per bootstrap replicate. A model change's gain is drawn from
    :math:`N(\mathrm{effect}, \mathrm{se}^2)` with
    :math:`\mathrm{se} = (\mathrm{ci\_high} - \mathrm{ci\_low}) / (2 z_{(1+\ell)/2})`, assumed
    additive to the curve and independent of it. Data gains take their interval from the
    bootstrap percentiles, model gains :math:`\mathrm{effect} \pm z_{(1+\ell)/2}\,\mathrm{se}` at
    the curve's level :math:`\ell`. The break-even label price of a change with
    effect :math:`\delta` and cost :math:`C` is :math:`C / (n^* - n_0)` with
    :math:`g(n^*) = \delta`: 0 when the curve never gains :math:`\delta` (labels never match
    it), ``inf`` when :math:`\delta \le 0`.

    Validated against: closed forms on a power-law curve, and a simulation check of
    ``p_best`` (``tests/curves/test_options.py``).
    """
    cost = _positive("label_cost", label_cost)
    if cost is None:
        raise TypeError("The 'label_cost' parameter is required: USD per labelled example.")
    cand = check_candidates(candidates)
    z = float(norm.ppf(0.5 + check_level(candidates_level) / 2))
    if budgets is None:
        budget_list = sorted(set(cand["cost_usd"].tolist()))
    else:
        budget_list = [b for b in (_positive("budgets", float(v)) for v in budgets) if b is not None]
    if not budget_list:
        raise InputError("value_of_options needs at least one labelling budget: pass budgets=[...] in USD "
                         "or at least one candidate (whose cost becomes a budget).")
    n0, level = curve_fit.current_size, curve_fit.level
    n_labels = np.floor(np.asarray(budget_list) / cost)
    data_point = improvement(curve_fit, n0 + n_labels, draws=False)[0]
    cand_labels = np.floor(cand["cost_usd"].to_numpy() / cost)
    same_budget_point = improvement(curve_fit, n0 + cand_labels, draws=False)[0]
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    if curve_fit.n_boot_ok:
        data_boot = improvement(curve_fit, n0 + n_labels, draws=True)
        data_lo, data_hi = np.quantile(data_boot, [alpha, 1 - alpha], axis=0)
        idx = rng.integers(0, data_boot.shape[0], size=n_draws)
        data_draws = data_boot[idx]
        same_budget = improvement(curve_fit, n0 + cand_labels, draws=True)[idx]
    else:
        data_lo = data_hi = data_point
        data_draws = np.tile(data_point, (n_draws, 1))
        same_budget = np.tile(same_budget_point, (n_draws, 1))
    effect = cand["effect"].to_numpy()
    se = (cand["ci_high"].to_numpy() - cand["ci_low"].to_numpy()) / (2 * z)
    z_level = float(norm.ppf(1 - alpha))
    model_draws = rng.normal(effect, se, size=(n_draws, len(cand)))
    costs = np.concatenate([budget_list, cand["cost_usd"].to_numpy()])
    gains = np.concatenate([data_draws, model_draws], axis=1)
    best = np.argmax(gains / costs, axis=1)
    p_best = np.bincount(best, minlength=costs.size) / n_draws
    g_lo = np.concatenate([data_lo, effect - z_level * se])
    g_hi = np.concatenate([data_hi, effect + z_level * se])
    point = np.concatenate([data_point, cand["effect"].to_numpy()])
    kinds = ["data"] * len(budget_list) + ["model"] * len(cand)
    names = [f"labels: +{int(n):d} examples (USD {b:g})" for n, b in zip(n_labels, budget_list)] + cand["name"].tolist()
    grid = size_grid(n0 * (1 + 1e-9), 1000.0 * n0 + cand_labels.max(initial=0.0))
    gain_curve = improvement(curve_fit, grid, draws=False)
    target = cand["effect"].to_numpy()
    n_star = first_crossing(np.tile(gain_curve, (target.size, 1)), grid, target, above=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        break_even = np.where(target <= 0, np.inf, np.where(np.isfinite(n_star), cand["cost_usd"].to_numpy()
                                                            / np.maximum(n_star - n0, 1e-12), 0.0))
    table = pd.DataFrame({
        "option": names, "kind": kinds, "cost_usd": costs,
        "n_labels": np.concatenate([n_labels, np.full(len(cand), np.nan)]),
        "gain": point, "gain_ci_low": g_lo, "gain_ci_high": g_hi,
        "gain_per_usd": point / costs, "gain_per_usd_ci_low": g_lo / costs, "gain_per_usd_ci_high": g_hi / costs,
        "p_best": p_best,
        "p_beats_labels": np.concatenate([np.full(len(budget_list), np.nan),
                                          np.mean(model_draws > same_budget, axis=0)]),
        "break_even_label_cost": np.concatenate([np.full(len(budget_list), np.nan), break_even]),
    })
    table["rank"] = table["gain_per_usd"].rank(ascending=False, method="min").astype(int)
    is_data = np.array(kinds) == "data"
    scenarios = {
        "expected": point,
        "data_optimistic": np.where(is_data, g_hi, g_lo),
        "models_optimistic": np.where(is_data, g_lo, g_hi),
    }
    winners = {k: names[int(np.argmax(v / costs))] for k, v in scenarios.items()}
    provenance = Provenance(
        method="value of options (learning curve)", k=len(names),
        options={"label_cost": cost, "budgets": budget_list, "candidates_level": candidates_level,
                 "n_draws": n_draws, "seed": seed},
        input_hash=input_hash(curve_fit.provenance.input_hash, cand),
    )
    return OptionsTable(table[list(_COLUMNS)], winners, cost, n0, level, n_draws, provenance)
