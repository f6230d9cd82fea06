"""`diffcompare trace` and `diffcompare graph`: what the AD tape recorded, as the slides draw it."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, EXPR_HELP, FILE_HELP, JSON_HELP, VARS_HELP, app, load_function


@app.command()
def trace(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    mode: str = typer.Option("all", "--mode",
                             help="Columns: primal (Table 1), forward (Table 2), reverse (Table 3) or all."),
    wrt: str | None = typer.Option(None, "--wrt", help="Seed the tangents on this variable (default: the first)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The evaluation trace (the slides' Tables 1-3) read off the AD tape: one row per intermediate
    variable v_i with its operation, primal value, tangent and adjoint (as the sum of its contributions)."""
    from diffcompare.analysis.trace import evaluation_trace
    from diffcompare.render import console, print_json
    from diffcompare.render import trace as render

    expression, point = load_function(expr, at, variables, file=file)
    result = evaluation_trace(expression.function, point, expression.variables, expression.text,
                              mode=mode.strip().lower(), wrt=wrt.strip() if wrt else None)
    if as_json:
        print_json(render.to_json(result))
    else:
        console().print(render.table(result))


@app.command()
def graph(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP + " With a point: values and partials."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    wrt: str | None = typer.Option(None, "--wrt", help="Forward differentiation seeded on this variable."),
    dot: str | None = typer.Option(None, "--dot", help="Also write Graphviz DOT to this file ('-': stdout)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The computational (dependency) graph from the AD tape: a tree in the terminal, Graphviz DOT with
    --dot; with --at, each node's value and each edge's local partial derivative."""
    from pathlib import Path

    from diffcompare.analysis.graph import computational_graph
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import console, print_json
    from diffcompare.render import graph as render

    if dot is not None and dot != "-":
        parent = Path(dot).parent
        if not parent.exists():
            raise DiffcompareError(f"folder {str(parent)!r} does not exist")
        if Path(dot).is_dir():
            raise DiffcompareError(f"--dot {dot!r} is a folder; give a file name such as graph.dot")
    expression, point = load_function(expr, at, variables, need_point=False, file=file)
    result = computational_graph(expression.function, point, expression.variables, expression.text,
                                 wrt=wrt.strip() if wrt else None)
    if dot == "-":
        print(render.dot(result), end="")
        return
    if dot is not None:
        try:
            Path(dot).write_text(render.dot(result), encoding="utf-8")
        except OSError as exc:
            raise DiffcompareError(f"cannot write {dot!r}: {exc.strerror}") from None
    if as_json:
        print_json(render.to_json(result))
        return
    out = console()
    out.print(render.tree(result))
    if dot is not None:
        out.print(f"saved {dot} [dim](render with: dot -Tsvg {dot} -o graph.svg)[/dim]")


@app.command()
def reproduce(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> int:
    """Every worked number of the slides recomputed and checked to its printed precision; the slides'
    own arithmetic slips are named, with their size. Exit code 0 when every disagreement is a known,
    explained erratum of the slides; 1 when any is unexplained."""
    from diffcompare.analysis.reproduce import reproduce as run
    from diffcompare.render import console, print_json
    from diffcompare.render import reproduce as render

    result = run()
    if as_json:
        print_json(render.to_json(result))
    else:
        console().print(render.table(result))
    return 0 if result.ok else 1
