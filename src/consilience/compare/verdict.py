"""The verdict: one documented rule from pooled intervals to a decision, and what would settle it.

Every comparison in consilience ends in one of five words, produced here and nowhere else.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from consilience.errors import InputError

__all__ = ["VERDICTS", "Verdict", "sample_size_to_conclude", "verdict"]

Verdict = Literal["robust improvement", "improvement, not general", "equivalent", "regression", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = (
    "robust improvement", "improvement, not general", "equivalent", "regression", "inconclusive",
)
MAX_SEEDS = 1000
MAX_TASKS = 100_000


def _check_margins(threshold: float, rope: float | None) -> None:
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"'threshold' must be a finite number >= 0 on the effect scale; got {threshold!r}. "
                         "Use 0 to call any reliable gain an improvement.")
    if rope is not None and not (math.isfinite(rope) and rope > 0):
        raise InputError(f"'rope' must be a positive half-width on the effect scale, or None; got {rope!r}. "
                         "E.g. rope=0.005 treats differences within ±0.5 points as negligible.")


def verdict(
    *,
    ci_low: float,
    ci_high: float,
    pi_low: float,
    pi_high: float,
    threshold: float = 0.0,
    rope: float | None = None,
) -> Verdict:
    r"""Decide what a pooled comparison shows.

    Parameters
    ----------
    ci_low, ci_high : float
        Confidence interval of the pooled effect (positive = candidate better).
    pi_low, pi_high : float
        Prediction interval for the effect on a new task.
    threshold : float, default 0
        Smallest gain worth calling an improvement (and, mirrored, a regression), on the
        effect scale.
    rope : float, optional
        Half-width of the region of practical equivalence; ``None`` disables ``equivalent``.

    Returns
    -------
    str
        The first rule that holds, in this order:

        1. ``"equivalent"``: ``rope`` given and :math:`-rope < CI_{low}` and
           :math:`CI_{high} < rope` (a declared ROPE says such differences do not matter, so
           it wins over a statistically clear but negligible gain);
        2. ``"robust improvement"``: :math:`CI_{low} > threshold` and
           :math:`PI_{low} > threshold` (better on average *and* expected better on a new task);
        3. ``"improvement, not general"``: :math:`CI_{low} > threshold` but the prediction
           interval reaches below it (or is undefined): better on average, not on every task;
        4. ``"regression"``: :math:`CI_{high} < -threshold`;
        5. ``"inconclusive"``: anything else.

    Notes
    -----
    The rule follows the two-interval reading of random-effects meta-analysis recommended by
    IntHout et al. (2016): the confidence interval answers "is the average effect positive?",
    the prediction interval "will it be positive on the next task?". The ROPE reading follows
    Kruschke (2018) and Benavoli et al. (2017).

    References
    ----------
    IntHout, J., Ioannidis, J. P. A., Rovers, M. M. and Goeman, J. J. (2016). Plea for routinely
    presenting prediction intervals in meta-analysis. BMJ Open, 6, e010247.
    Kruschke, J. K. (2018). Rejecting or accepting parameter values in Bayesian estimation.
    Advances in Methods and Practices in Psychological Science, 1(2), 270-280.
    Benavoli, A., Corani, G., Demšar, J. and Zaffalon, M. (2017). Time for a change: a tutorial
    for comparing multiple classifiers through Bayesian analysis. JMLR, 18(77), 1-36.

    Validated against: the truth table in ``tests/compare/test_verdict.py``.
    """
    _check_margins(threshold, rope)
    if rope is not None and ci_low > -rope and ci_high < rope:
        return "equivalent"
    if ci_low > threshold:
        if np.isfinite(pi_low) and pi_low > threshold:
            return "robust improvement"
        return "improvement, not general"
    if ci_high < -threshold:
        return "regression"
    return "inconclusive"


def _margin(estimate: float, threshold: float, rope: float | None) -> float | None:
    """How far the CI half-width must shrink for the observed estimate to give a conclusive verdict.

    The estimate can settle as an improvement (above ``threshold``), a regression (below
    ``-threshold``) or, with a ROPE, as equivalent (inside ``±rope``); the easiest of these wins.
    """
    margins = []
    if estimate > threshold:
        margins.append(estimate - threshold)
    if estimate < -threshold:
        margins.append(-threshold - estimate)
    if rope is not None and abs(estimate) < rope:
        margins.append(rope - abs(estimate))
    return max(margins) if margins else None


def sample_size_to_conclude(
    tasks: pd.DataFrame,
    *,
    estimate: float,
    se: float,
    tau2: float,
    test: Literal["z", "knha"],
    level: float,
    threshold: float = 0.0,
    rope: float | None = None,
) -> tuple[int | None, int | None]:
    r"""Seeds per task, or tasks, that would make an inconclusive comparison conclusive.

    Parameters
    ----------
    tasks : DataFrame
        Per-task table of :func:`~consilience.compare.task_effects.task_effects` (uses
        ``design, n_baseline, n_candidate, n_pairs, vi, seed_variance, test_variance``).
    estimate, se, tau2 : float
        Observed pooled estimate, its standard error and the between-task variance.
    test : {"z", "knha"}
        Normal or t (k - 1 degrees of freedom) critical values.
    level : float
        Confidence level as a fraction.
    threshold, rope : float
        As in :func:`verdict`.

    Returns
    -------
    (seeds_per_task, tasks) : tuple of int or None
        ``seeds_per_task``: smallest number of runs per arm on every task (same tasks) for which
        the interval, centred on the observed estimate, clears the boundary; ``tasks``: smallest
        number of tasks like the observed ones (same seeds). ``None`` when no number up to
        1,000 seeds or 100,000 tasks would do (for seeds: the between-task variance is a floor),
        or when the estimate sits where no interval can be conclusive (between ``-threshold`` and
        ``threshold`` and outside the ROPE).

    Notes
    -----
    "At the observed variance": with :math:`m` runs per arm, the seed part of each task's
    variance becomes :math:`v_{seed,i}\,h_i/m`, where :math:`h_i` is the number of pairs (paired)
    or :math:`2 n_B n_C/(n_B + n_C)` (unpaired; exact when the arms have equal run variance);
    the test-set part stays. The pooled SE is :math:`c\,(\sum_i 1/(v_i(m) + \hat\tau^2))^{-1/2}`
    with :math:`c` the ratio of the observed SE to the same formula at the observed data
    (1 for ``z``; the Knapp-Hartung scale factor for ``knha``). For :math:`K` tasks,
    :math:`SE_K = SE\sqrt{k/K}`. The smallest :math:`m` (or :math:`K`) with
    :math:`q \cdot SE < |\hat\mu - \text{boundary}|` is returned, :math:`q` the normal or
    :math:`t_{K-1}` quantile.

    Validated against: closed-form cases in ``tests/compare/test_verdict.py``.
    """
    margin = _margin(estimate, threshold, rope)
    k = len(tasks)
    if margin is None or k == 0 or not np.isfinite(se) or se <= 0:
        return None, None
    alpha = 1 - level
    tau2 = float(tau2) if np.isfinite(tau2) else 0.0

    vi = tasks["vi"].to_numpy(dtype=float)
    seed_var = tasks["seed_variance"].to_numpy(dtype=float)
    test_var = vi - seed_var
    n_b = tasks["n_baseline"].to_numpy(dtype=float)
    n_c = tasks["n_candidate"].to_numpy(dtype=float)
    h = np.where(tasks["design"].to_numpy() == "paired", tasks["n_pairs"].to_numpy(dtype=float),
                 2 * n_b * n_c / (n_b + n_c))
    scale = se * math.sqrt(np.sum(1.0 / (vi + tau2)))

    m = np.arange(2, MAX_SEEDS + 1, dtype=float)
    v_m = seed_var[None, :] * h[None, :] / m[:, None] + test_var[None, :]
    se_m = scale / np.sqrt(np.sum(1.0 / (v_m + tau2), axis=1))
    crit = stats.t.isf(alpha / 2, k - 1) if test == "knha" and k > 1 else stats.norm.isf(alpha / 2)
    ok = np.flatnonzero(crit * se_m < margin)
    seeds = int(m[ok[0]]) if ok.size else None

    kk = np.arange(k + 1, MAX_TASKS + 1, dtype=float)
    crit_k = stats.t.isf(alpha / 2, kk - 1) if test == "knha" else np.full(kk.shape, stats.norm.isf(alpha / 2))
    ok_k = np.flatnonzero(crit_k * se * np.sqrt(k / kk) < margin)
    n_tasks = int(kk[ok_k[0]]) if ok_k.size else None
    return seeds, n_tasks
