"""`diffcompare compare` and `diffcompare examples`."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, CSV_HELP, EXPR_HELP, FILE_HELP, JSON_HELP, VARS_HELP, app, load_function


@app.command()
def compare(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    backends: str = typer.Option("finite,symbolic,reverse,forward", "--backends",
                                 help="Comma-separated backends: finite, symbolic, reverse, forward, the "
                                 "peers (jax, torch, autograd, numdifftools, scipy, symengine; see `diffcompare "
                                 "backends`), or all (every installed one)."),
    scheme: str = typer.Option("central", "--scheme",
                               help="Finite-difference scheme: forward, backward, central, five-point, "
                               "complex, richardson, adaptive (steps chosen by the error estimate)."),
    step: float | None = typer.Option(None, "--step", help="Finite-difference step (default: from theory)."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds the exact reference and the symbolic backend may each take."),
    as_csv: bool = typer.Option(False, "--csv", help=CSV_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Every backend on one function at one point: value, derivative, error against a 50-digit reference, cost, time."""
    from diffcompare.analysis.compare import compare as run
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import compare as render
    from diffcompare.render import console, print_json

    if as_json and as_csv:
        raise DiffcompareError("choose one of --json and --csv")
    expression, point = load_function(expr, at, variables, file=file)
    names = [b.strip() for b in backends.split(",") if b.strip()]
    if not names:
        raise DiffcompareError("--backends is empty")
    finite_options = {"scheme": scheme} | ({"step": step} if step is not None else {})
    result = run(expression.function, point, name=expression.text, variables=expression.variables,
                 backends=names, options={"finite": finite_options}, timeout=timeout)
    if as_json:
        print_json(render.to_json(result))
    elif as_csv:
        import sys

        sys.stdout.write(render.to_csv(result))
    else:
        console().print(render.table(result))


@app.command()
def examples(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """The lecture's named functions, usable wherever an expression is (`diffcompare compare table3`)."""
    from diffcompare.examples import load_examples
    from diffcompare.render import console, print_json

    found = load_examples()
    if as_json:
        print_json(list(found.values()))
        return
    from diffcompare.render.layout import Table  # folds or stacks at 40 columns; never cuts an expression

    t = Table(title="examples")
    for col in ("name", "expression", "point", "from the lecture"):
        t.add_column(col)
    for e in found.values():
        t.add_row(e.name, e.expression, e.point, f"{e.source}: {e.description}")
    console().print(t)
