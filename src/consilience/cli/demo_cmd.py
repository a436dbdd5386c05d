"""``consilience demo``: the main job on bundled example data, with the embedded defaults.

The default example is the one an ML team asks every day: which learners beat the baseline
robustly across data sets? It ranks 19 scikit-learn learners against logistic regression on real
runs from the Learning Curve Database (LCDB: 248 OpenML data sets, 5 seeds that fix the
train/test split), with verdicts and the per-task table of the most robust candidate.
``--dataset bcg`` runs the classic meta-analysis of the BCG vaccine trials instead.
"""

from __future__ import annotations

import warnings
from math import exp

import typer

from consilience.cli.app import app, echo_json, format_frame, handles_errors
from consilience.errors import DataDroppedWarning, InputError


def _lcdb(as_json: bool, top_tasks: int) -> None:
    from consilience.compare import LCDB_DEFAULT_BASELINE, compare, load_lcdb_example, rank

    runs = load_lcdb_example()
    with warnings.catch_warnings():
        # Learners that timed out on a data set have no runs there; those tasks are left out of
        # that learner's comparison, and each result's provenance counts them.
        warnings.simplefilter("ignore", DataDroppedWarning)
        ranking = rank(runs, baseline=LCDB_DEFAULT_BASELINE, rope=0.005)
        best = str(ranking.table["arm"].iloc[0])
        detail = compare(runs, baseline=LCDB_DEFAULT_BASELINE, candidate=best, rope=0.005)
    if as_json:
        echo_json({"ranking": ranking.to_dict(), "best": detail.to_dict()})
        return
    table = ranking.table
    typer.echo(
        f"LCDB: {runs['arm'].nunique()} scikit-learn learners on {runs['task'].nunique()} OpenML "
        f"data sets, {runs['seed'].nunique()} seeds each (test accuracy)."
    )
    typer.echo(
        f"Which learners beat {LCDB_DEFAULT_BASELINE} robustly? Per data set: paired mean "
        "difference over seeds plus test-set variance; pooled by random effects (REML, "
        "Knapp-Hartung); equivalence region +-0.005."
    )
    typer.echo("")
    cols = ["rank", "arm", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2",
            "p_holm", "prob_better", "verdict"]
    typer.echo(format_frame(table[cols]))
    typer.echo("")
    counts = table["verdict"].value_counts()
    typer.echo("Verdicts: " + "; ".join(f"{v}: {n}" for v, n in counts.items()) + ".")
    robust = list(table.loc[table["verdict"] == "robust improvement", "arm"])
    general = list(table.loc[table["verdict"] == "improvement, not general", "arm"])
    if robust:
        typer.echo(f"Robust improvements (CI and prediction interval above 0): {', '.join(robust)}.")
    else:
        typer.echo("No learner is a robust improvement: none has a prediction interval for a new "
                   "data set that stays above 0.")
    if general:
        typer.echo(f"Better on average but not on every kind of data set: {', '.join(general)}.")
    typer.echo("")
    typer.echo(
        f"Most robust candidate: {best}, +{detail.estimate:.4f} accuracy "
        f"[{detail.ci_low:+.4f}, {detail.ci_high:+.4f}]; on a new data set the gain is expected "
        f"in [{detail.pi_low:+.4f}, {detail.pi_high:+.4f}] (P(better) = {detail.prob_better:.2f})."
    )
    tasks = detail.tasks.sort_values("yi")
    shown = ["task", "design", "n_baseline", "n_candidate", "yi", "ci_low", "ci_high"]
    typer.echo(f"Per-task effects of {best} (the {top_tasks} worst and best of {len(tasks)}):")
    typer.echo(format_frame(tasks[shown].head(top_tasks)))
    typer.echo("...")
    typer.echo(format_frame(tasks[shown].tail(top_tasks)))
    typer.echo("")
    typer.echo("Next: consilience compare RUNS --baseline A --candidate B on your own runs table; "
               "consilience init --example && consilience serve for the dashboard.")


def _bcg(as_json: bool) -> None:
    from consilience.data import load_example
    from consilience.effects import effect_sizes
    from consilience.pooling import meta_analyze

    trials = load_example("bcg")
    dat = effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=trials)
    res = meta_analyze("yi", "vi", data=dat, labels="trial", method="REML", test="knha")
    if as_json:
        echo_json(res.to_dict())
        return
    typer.echo("BCG vaccine trials (Colditz et al. 1994): log risk ratio of tuberculosis, "
               "vaccinated vs control")
    typer.echo("")
    typer.echo(str(res.summary()))
    typer.echo("")
    typer.echo("Forest-plot numbers (log risk ratio; weight in percent)")
    typer.echo(format_frame(res.studies()))
    typer.echo("")
    typer.echo(f"Pooled risk ratio {exp(res.estimate):.3f} [{exp(res.ci_low):.3f}, "
               f"{exp(res.ci_high):.3f}]; a new trial's true risk ratio is expected in "
               f"[{exp(res.pi_low):.3f}, {exp(res.pi_high):.3f}].")


@app.command("demo")
@handles_errors
def demo(
    dataset: str = typer.Option("lcdb", "--dataset", help="lcdb (learners vs a baseline over "
                                "OpenML data sets) or bcg (the BCG vaccine trials)."),
    top_tasks: int = typer.Option(5, "--top-tasks", help="Rows shown at each end of the per-task table."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run the main job on bundled data: which learners beat logistic regression robustly."""
    if dataset == "lcdb":
        _lcdb(as_json, top_tasks)
    elif dataset == "bcg":
        _bcg(as_json)
    else:
        raise InputError(f"--dataset must be 'lcdb' or 'bcg'; got {dataset!r}.")
