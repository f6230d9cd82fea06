"""`diffcompare swell`: expression swell of symbolic differentiation on the logistic map."""

from __future__ import annotations

from typing import Optional

import typer

from diffcompare.cli.app import JSON_HELP, app


@app.command()
def swell(
    n: int = typer.Option(5, "--n", help="Steps of the logistic map: rows k = 1..n (1 to 1000)."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds allowed to each sympy cell (diff, count_ops, expand, cse)."),
    formulas: Optional[bool] = typer.Option(None, "--formulas/--no-formulas",
                                            help="Print the lecture's table of formulas (default: on for n <= 4)."),
    plot: Optional[str] = typer.Option(None, "--plot",
                                       help="Save sizes against n (log scale) to FILE.png or FILE.svg."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the rows as CSV instead of the tables."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Expression swell: the textbook derivative as a tree and as a DAG, sympy's diff, expand, cse and the AD tape.

    l_1 = x, l_(k+1) = 4 l_k (1 - l_k). Sizes count nodes (leaves included); ops count operations.
    """
    from diffcompare.analysis.swell import swell as run
    from diffcompare.analysis.swell import check_arguments, steps
    from diffcompare.render import console, print_json
    from diffcompare.render import swell as render
    from diffcompare.render.figures import check_plot_path

    check_arguments(n, timeout)
    path = check_plot_path(plot) if plot else None
    if path is not None:
        render.pyplot_or_error()
    quiet = as_json or as_csv
    if quiet:
        result = run(n, timeout=timeout, formulas=formulas)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console(stderr=True), transient=True) as bar:
            task = bar.add_task("swell", total=steps(n))
            result = run(n, timeout=timeout, formulas=formulas,
                         progress=lambda description, step: bar.update(task, completed=step,
                                                                       description=description))
    if path is not None:
        render.plot(result, path)
    if as_json:
        print_json(render.to_json(result))
        return
    if as_csv:
        typer.echo(render.to_csv(result), nl=False)
        return
    out = console()
    if result.formulas:
        out.print(render.formulas_table(result))
    out.print(render.sizes_table(result))
    out.print(render.sympy_table(result))
    if path is not None:
        out.print(f"saved {path}")
