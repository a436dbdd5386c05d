"""``consilience power ...``, ``consilience boundaries`` and ``consilience meta-experiment ...``.

Each power command solves for whichever of ``--n``, ``--power`` and ``--effect`` is left out.
Comma-separated values (``--n 3,5,10``) give a power curve.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import typer

from consilience.cli.app import (
    app,
    echo_json,
    handles_errors,
    read_table,
    show_result,
    split_list,
)
from consilience.design._common import check_alternative
from consilience.design.always_valid import confidence_sequence
from consilience.design.assignment import assign_arms
from consilience.design.mcnemar import power_mcnemar
from consilience.design.meta import power_meta
from consilience.design.meta_experiment import analyze_meta_experiment
from consilience.design.proportions import power_proportions
from consilience.design.sequential import spending_boundaries
from consilience.design.ttest import power_paired, power_ttest
from consilience.errors import InputError

power_app = typer.Typer(
    help="Power, sample size or minimum detectable effect (leave one of --n/--power/--effect out).",
    no_args_is_help=True,
)
meta_experiment_app = typer.Typer(
    help="Meta-experiments: hash-based assignment and analysis.", no_args_is_help=True
)
app.add_typer(power_app, name="power")
app.add_typer(meta_experiment_app, name="meta-experiment")

_EFFECT = typer.Option(
    None, "--effect", help="Effect (metric units); comma list for a curve. Omit to solve for it."
)
_N = typer.Option(None, "--n", help="Sample size; comma list for a curve. Omit to solve for it.")
_POWER = typer.Option(None, "--power", help="Target power, e.g. 0.8. Omit to compute it.")
_ALPHA = typer.Option(0.05, "--alpha", help="Type-I error rate.")
_SD = typer.Option(1.0, "--sd", help="Seed-to-seed standard deviation within an arm.")
_ALT = typer.Option(
    "two-sided", "--alternative", help="two-sided, larger (candidate better) or smaller."
)
_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
_DIFFS_ARG = typer.Argument(..., help="CSV/Parquet/JSON with one difference per row, in order.")
_IDS_ARG = typer.Argument(..., help="CSV/Parquet/JSON of experiment ids.")
_DATA_ARG = typer.Argument(..., help="CSV/Parquet/JSON, one row per experiment.")


def _grid(name: str, value: str | None) -> Any:
    """None, a float, or an array from a comma-separated list."""
    if value is None:
        return None
    parts = split_list(value)
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InputError(
            f"--{name} must be a number or comma-separated numbers; got {value!r}."
        ) from None
    if not nums:
        raise InputError(f"--{name} is empty; pass a number such as 0.5 or a list such as 3,5,10.")
    return nums[0] if len(nums) == 1 else np.asarray(nums)


def _solve(
    solver: Callable[..., Any],
    *grids: Any,
    alpha: float,
    alternative: str,
    as_json: bool,
    **options: Any,
) -> None:
    """Show ``solver(*grids, ...)``: a power result for the parsed grids (the one left None is
    solved for), with the alternative checked."""
    show_result(
        solver(*grids, alpha=alpha, alternative=check_alternative(alternative), **options),
        as_json,
    )


@power_app.command("ttest")
@handles_errors
def ttest_cmd(
    effect: str | None = _EFFECT,
    n: str | None = _N,
    power: str | None = _POWER,
    sd: float = _SD,
    ratio: float = typer.Option(
        1.0, "--ratio", help="Seeds in the second arm per seed in the first."
    ),
    alpha: float = _ALPHA,
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Two-sample t test over independent seeds (n = seeds per arm)."""
    _solve(power_ttest, _grid("effect", effect), _grid("n", n), _grid("power", power),
           sd=sd, ratio=ratio, alpha=alpha, alternative=alternative, as_json=as_json)


@power_app.command("paired")
@handles_errors
def paired_cmd(
    effect: str | None = _EFFECT,
    n: str | None = _N,
    power: str | None = _POWER,
    sd: float = _SD,
    rho: float = typer.Option(0.0, "--rho", help="Correlation of the arms on a shared seed."),
    alpha: float = _ALPHA,
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Paired t test over shared seeds (n = seed pairs)."""
    _solve(power_paired, _grid("effect", effect), _grid("n", n), _grid("power", power),
           sd=sd, rho=rho, alpha=alpha, alternative=alternative, as_json=as_json)


@power_app.command("proportions")
@handles_errors
def proportions_cmd(
    effect: str | None = _EFFECT,
    n: str | None = _N,
    power: str | None = _POWER,
    baseline: float = typer.Option(..., "--baseline", help="Baseline accuracy, e.g. 0.82."),
    ratio: float = typer.Option(
        1.0, "--ratio", help="Candidate test-set size per baseline example."
    ),
    alpha: float = _ALPHA,
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Two accuracies on independent test sets (n = examples per test set)."""
    _solve(power_proportions, _grid("effect", effect), _grid("n", n), _grid("power", power),
           baseline=baseline, ratio=ratio, alpha=alpha, alternative=alternative,
           as_json=as_json)


@power_app.command("mcnemar")
@handles_errors
def mcnemar_cmd(
    effect: str | None = _EFFECT,
    n: str | None = _N,
    power: str | None = _POWER,
    discordance: float | None = typer.Option(
        None, "--discordance", help="Share of examples where exactly one model is right."
    ),
    p01: float | None = typer.Option(None, "--p01", help="Share only the candidate gets right."),
    p10: float | None = typer.Option(None, "--p10", help="Share only the baseline gets right."),
    method: str = typer.Option("connor", "--method", help="connor (normal) or exact (binomial)."),
    alpha: float = _ALPHA,
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Two models on one shared test set (n = test examples); give --discordance or --p01/--p10."""
    eff = _grid("effect", effect)
    if (p01 is None) != (p10 is None):
        raise InputError("pass both --p01 and --p10 (or neither, with --discordance).")
    if p01 is not None and p10 is not None:
        if discordance is not None or eff is not None:
            raise InputError("--p01/--p10 already fix --discordance and --effect; leave those out.")
        discordance, eff = p01 + p10, p01 - p10
    if discordance is None:
        raise InputError(
            "pass --discordance (share of examples where exactly one model is right) or --p01 and --p10."
        )
    _solve(power_mcnemar, eff, _grid("n", n), _grid("power", power), discordance=discordance,
           method=cast(Literal["connor", "exact"], method), alpha=alpha,
           alternative=alternative, as_json=as_json)


@power_app.command("meta")
@handles_errors
def meta_cmd(
    effect: str | None = _EFFECT,
    k: str | None = typer.Option(None, "--k", help="Number of tasks; omit to solve for it."),
    n: str | None = typer.Option(None, "--n", help="Seeds per arm per task; omit to solve for it."),
    power: str | None = _POWER,
    sd: float = typer.Option(
        ..., "--sd", help="Seed-to-seed standard deviation within task and arm."
    ),
    tau2: float = typer.Option(0.0, "--tau2", help="Between-task variance of the improvement."),
    rho: float = typer.Option(0.0, "--rho", help="Correlation of the arms on a shared seed."),
    test: str = typer.Option("knha", "--test", help="knha (t, k-1 df) or z."),
    alpha: float = _ALPHA,
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Random-effects meta-analysis over tasks (leave one of --effect/--k/--n/--power out)."""
    _solve(power_meta, _grid("effect", effect), _grid("k", k), _grid("n", n),
           _grid("power", power), sd=sd, tau2=tau2, rho=rho,
           test=cast(Literal["z", "knha"], test), alpha=alpha, alternative=alternative,
           as_json=as_json)


@app.command("boundaries")
@handles_errors
def boundaries_cmd(
    looks: str = typer.Option(..., "--looks", help="Information fractions, e.g. 0.5,0.75,1."),
    alpha: float = typer.Option(
        0.025, "--alpha", help="Total type-I error (one-sided by default)."
    ),
    spending: str = typer.Option("obf", "--spending", help="obf (O'Brien-Fleming-type) or pocock."),
    sided: int = typer.Option(1, "--sided", help="1 or 2."),
    as_json: bool = _JSON,
) -> None:
    """Group-sequential efficacy boundaries by Lan-DeMets alpha spending."""
    fractions = _grid("looks", looks)
    show_result(
        spending_boundaries(
            np.atleast_1d(fractions),
            alpha=alpha,
            spending=cast(Literal["obf", "pocock"], spending),
            sided=cast(Literal[1, 2], sided),
        ),
        as_json,
    )


@app.command("confidence-sequence")
@handles_errors
def confseq_cmd(
    data: Path = _DIFFS_ARG,
    column: str = typer.Option("difference", "--column", help="Column of differences."),
    sd: float = typer.Option(
        ..., "--sd", help="Standard deviation of one difference (from a pilot)."
    ),
    optimize_at: int = typer.Option(..., "--optimize-at", help="Planned number of observations."),
    alpha: float = typer.Option(0.05, "--alpha"),
    as_json: bool = _JSON,
) -> None:
    """Always-valid confidence sequence with a stop/continue recommendation per look."""
    frame = read_table(data, what="differences")
    if column not in frame.columns:
        raise InputError(
            f"differences file has no column {column!r}; columns: {list(map(str, frame.columns))}. "
            f"Pass --column."
        )
    result = confidence_sequence(frame[column], sd=sd, optimize_at=optimize_at, alpha=alpha)
    if as_json:
        echo_json(result.to_dict())
    else:
        typer.echo(result.to_frame().to_string(index=False))


@meta_experiment_app.command("assign")
@handles_errors
def assign_cmd(
    ids: Path = _IDS_ARG,
    salt: str = typer.Option(..., "--salt", help="Label of this meta-experiment."),
    id_col: str = typer.Option("experiment", "--id-col", help="Column of experiment ids."),
    arms: str = typer.Option("control,treatment", "--arms", help="Comma-separated arm labels."),
    weights: str | None = typer.Option(None, "--weights", help="Comma-separated arm shares."),
    as_json: bool = _JSON,
) -> None:
    """Assign experiments to arms by SHA-256 of salt and id (stable across runs and machines)."""
    frame = read_table(ids, what="ids")
    if id_col not in frame.columns:
        if frame.shape[1] != 1:
            raise InputError(
                f"ids file has no column {id_col!r}; columns: {list(map(str, frame.columns))}. Pass --id-col."
            )
        id_col = str(frame.columns[0])
    w = _grid("weights", weights)
    result = assign_arms(
        frame[id_col].astype(str),
        salt=salt,
        arms=split_list(arms),
        weights=None if w is None else np.atleast_1d(w).tolist(),
    )
    if as_json:
        echo_json(result.to_dict())
    else:
        typer.echo(result.to_frame().to_csv(index=False).rstrip("\n"))


@meta_experiment_app.command("analyze")
@handles_errors
def analyze_cmd(
    data: Path = _DATA_ARG,
    arm_col: str = typer.Option("arm", "--arm-col"),
    outcome_col: str = typer.Option("outcome", "--outcome-col"),
    control: str | None = typer.Option(None, "--control"),
    treatment: str | None = typer.Option(None, "--treatment"),
    level: float = typer.Option(0.95, "--level"),
    alternative: str = _ALT,
    as_json: bool = _JSON,
) -> None:
    """Risk difference, z tests and Fisher's exact test between the two arms."""
    frame = read_table(data, what="meta-experiment data")
    show_result(
        analyze_meta_experiment(
            frame,
            arm_col=arm_col,
            outcome_col=outcome_col,
            control=control,
            treatment=treatment,
            level=level,
            alternative=check_alternative(alternative),
        ),
        as_json,
    )
