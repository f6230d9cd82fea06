"""`diffcompare error-vs-h`: the step-size trade-off of finite differences, measured."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, EXPR_HELP, FILE_HELP, JSON_HELP, VARS_HELP, app, load_function

DEFAULT_EXPR = "sin(x)"
DEFAULT_AT = "x=pi/3"


@app.command("error-vs-h")
def error_vs_h(
    expr: str | None = typer.Argument(None, help=EXPR_HELP + " Default: the lecture's sin(x) at pi/3."),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP + " Default: x=pi/3 for the default sin(x)."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    component: str | None = typer.Option(
        None, "--component",
        help="With several variables: the error of this partial derivative alone "
             "(default: the 2-norm of the gradient's error vector)."),
    h_min: float = typer.Option(1e-16, "--h-min", help="Smallest step."),
    h_max: float = typer.Option(1.0, "--h-max", help="Largest step."),
    points: int = typer.Option(60, "--points", help="Number of steps, evenly spaced in log10 h (3..10000)."),
    schemes: str = typer.Option("forward,backward,central,five-point,complex,richardson", "--schemes",
                                show_default=False,  # one long word: typer would cut it at 80 columns
                                help="Comma-separated schemes to draw (default: forward, backward, central, "
                                     "five-point, complex, richardson; adaptive on request)."),
    peers: str | None = typer.Option(
        None, "--peers",
        help="Finite-difference libraries whose own best estimate (error, calls of f) is listed under the "
             "schemes: numdifftools, scipy (default: those installed), or none."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Only the table, no terminal plot."),
    plot: str | None = typer.Option(None, "--plot",
                                    help="Also save a log-log figure (.png/.svg/.pdf, needs matplotlib)."),
    as_csv: bool = typer.Option(False, "--csv",
                                help="Print the curves as CSV: scheme, h, derivative, abs_error, rel_error."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds the exact reference and the symbolic line may each take."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Error of every finite-difference scheme against the step h: the V of truncation and round-off.

    For forward, backward, central, five-point, complex-step and Richardson differences at each h on
    a log grid: the error against a 50-digit reference; per scheme the measured best h, the robust
    optimum of a fitted error model, the theory's h*, and the fitted slopes of both arms. Reverse AD
    and symbolic differentiation, which have no step, are drawn as flat lines.
    """
    from diffcompare.analysis.error_vs_h import error_vs_h as run
    from diffcompare.analysis.error_vs_h import step_grid
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import console, print_json
    from diffcompare.render import error_vs_h as render

    if as_json and as_csv:
        raise DiffcompareError("choose one of --json and --csv")
    step_grid(h_min, h_max, points)  # bad ranges fail before the function is even parsed
    if plot is not None:
        from diffcompare.render.figures import check_plot_path, pyplot

        check_plot_path(plot)
        pyplot()  # a missing matplotlib is reported before the work, not after
    names = [s.strip() for s in schemes.split(",") if s.strip()]
    if not names:
        raise DiffcompareError("--schemes is empty")
    if expr is None and file is None:
        expr = DEFAULT_EXPR
    if at is None and expr == DEFAULT_EXPR:
        at = DEFAULT_AT
    peer_names = None if peers is None else [p.strip() for p in peers.split(",") if p.strip() and p.strip() != "none"]
    if peer_names:
        from diffcompare.backends import resolve

        resolve(peer_names, "--peers")  # a typo fails before the work
    expression, point = load_function(expr, at, variables, file=file)
    result = run(expression.function, point if len(point) > 1 else point[0], name=expression.text,
                 variables=expression.variables, component=component, h_min=h_min, h_max=h_max,
                 points=points, schemes=names, peers=peer_names, timeout=timeout)
    if plot is not None:
        render.save_plot(result, plot)
    if as_json:
        print_json(render.to_json(result))
    elif as_csv:
        import sys

        sys.stdout.write(render.to_csv(result))
    else:
        out = console()
        out.print(render.table(result))
        if not no_plot:
            out.print(render.plot_text(result, width=max(20, min(100, out.width - 12))), markup=False,
                      highlight=False)
        if plot is not None:
            out.print(f"saved {plot}")
