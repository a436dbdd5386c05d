"""``consilience demo``: the main job on bundled example data, with the embedded defaults."""

from __future__ import annotations

import typer

from consilience.cli.app import app, echo_json, handles_errors


@app.command("demo")
@handles_errors
def demo(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Random-effects meta-analysis of the bundled BCG vaccine trials, with forest-plot numbers."""
    from consilience.data import load_example
    from consilience.effects import effect_sizes
    from consilience.pooling import meta_analyze

    trials = load_example("bcg")
    dat = effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=trials)
    res = meta_analyze("yi", "vi", data=dat, labels="trial", method="REML", test="knha")
    if as_json:
        echo_json(res.to_dict())
        return
    typer.echo("BCG vaccine trials (Colditz et al. 1994): log risk ratio of tuberculosis, vaccinated vs control")
    typer.echo("")
    typer.echo(str(res.summary()))
    typer.echo("")
    typer.echo("Forest-plot numbers (log risk ratio; weight in percent)")
    typer.echo(res.studies().to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    from math import exp as rr
    typer.echo("")
    typer.echo(f"Pooled risk ratio {rr(res.estimate):.3f} [{rr(res.ci_low):.3f}, {rr(res.ci_high):.3f}]; "
               f"a new trial's true risk ratio is expected in [{rr(res.pi_low):.3f}, {rr(res.pi_high):.3f}].")
