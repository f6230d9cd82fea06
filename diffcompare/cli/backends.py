"""`diffcompare backends`: every backend, installed or not, its version and what it supports."""

from __future__ import annotations

import typer

from diffcompare.cli.app import JSON_HELP, app


@app.command("backends")
def backends(
    probe: bool = typer.Option(True, "--probe/--no-probe",
                               help="Differentiate three small functions with each installed backend to see what "
                                    "it supports. It imports every library: a few seconds without jax and torch, "
                                    "~20-70 s with them."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Every backend, ours and the peers (jax, torch, autograd, numdifftools, scipy, symengine), installed or not."""
    from diffcompare.analysis.catalog import survey
    from diffcompare.render import backends as render
    from diffcompare.render import console, print_json

    infos = survey(probe=probe)
    if as_json:
        print_json(render.to_json(infos))
    else:
        console().print(render.table(infos))
