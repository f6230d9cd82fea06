"""`diffcompare code`: the derivative as a program a student could have written by hand."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, EXPR_HELP, FILE_HELP, JSON_HELP, VARS_HELP, app, load_function


@app.command()
def code(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP + " With a point: run it, check it against grad."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    mode: str = typer.Option("reverse", "--mode", help="primal (f), forward (its tangent) or reverse (its adjoint)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The generated Python program for f, its tangent (forward mode) or its adjoint (reverse mode), one operation
    per line in the evaluation trace's names (v_-1 written v_m1, the adjoints vbar_i, the tangents vdot_i); what
    diffcompare.jit compiles. With --at it runs the program and checks its gradient against grad."""
    from diffcompare.analysis.code import generated_program
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import console, print_json
    from diffcompare.render import code as render

    m = mode.strip().lower()
    if m not in ("primal", "forward", "reverse"):
        raise DiffcompareError(f"--mode must be primal, forward or reverse, not {mode!r}")
    expression, point = load_function(expr, at, variables, need_point=False, file=file)
    result = generated_program(expression.function, expression.variables, expression.text, m, point)
    if as_json:
        print_json(render.to_json(result))
        return
    out = console()
    for part in render.show(result):
        out.print(part)
