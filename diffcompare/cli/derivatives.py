"""`diffcompare derivatives`, `diffcompare backprop` and `diffcompare plot`."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, CSV_HELP, EXPR_HELP, FILE_HELP, JSON_HELP, VARS_HELP, app, load_function


def _backends(text: str) -> list[str]:
    from diffcompare.errors import DiffcompareError

    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names:
        raise DiffcompareError("--backends is empty")
    return names


@app.command()
def derivatives(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    order: int | None = typer.Option(None, "--order",
                                     help="Highest order, 1..10 (default 3; 1 with --scheme complex); several "
                                          "variables: 1 or 2 (the Hessian, default; 1 with a scheme that has no "
                                          "Hessian)."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    backends: str = typer.Option("reverse,forward,symbolic,finite", "--backends",
                                 help="Comma-separated backends, peers included (see `diffcompare backends`), "
                                      "or all (every installed one)."),
    scheme: str = typer.Option("central", "--scheme",
                               help="Finite-difference scheme. Orders 1..10: forward, backward, central, "
                                    "five-point, richardson, adaptive. Order 1 only: complex (the complex step). "
                                    "Hessian: central, richardson."),
    step: float | None = typer.Option(None, "--step", help="Finite-difference step (default: from theory, per order)."),
    timeout: float = typer.Option(10.0, "--timeout",
                                  help="Seconds the exact references, and the symbolic backend per order, may take."),
    as_csv: bool = typer.Option(False, "--csv", help=CSV_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Derivatives of order 1..k by nested AD, sympy and finite differences, each against a 50-digit reference.

    Finite differences lose digits with every order; AD and sympy do not. With several
    variables, --order 2 gives the Hessian.
    """
    from diffcompare.analysis.derivatives import derivatives as run
    from diffcompare.render import console, print_json
    from diffcompare.render import derivatives as render

    if as_json and as_csv:
        from diffcompare.errors import DiffcompareError

        raise DiffcompareError("choose one of --json and --csv")
    expression, point = load_function(expr, at, variables, file=file)
    finite = {"scheme": scheme} | ({"step": step} if step is not None else {})
    limited = None
    if order is None:  # the default asks no more than the scheme can give, and says so
        from diffcompare.analysis.derivatives import HESSIAN_SCHEMES

        usual = 3 if len(point) == 1 else 2
        finite_asked = "finite" in _backends(backends)
        if finite_asked and len(point) == 1 and scheme == "complex":
            order, limited = 1, ("order 1 only: the complex step gives first derivatives "
                                 "(--order 2..10 with a real scheme)")
        elif finite_asked and len(point) > 1 and scheme not in HESSIAN_SCHEMES:
            order, limited = 1, (f"the gradient only: the finite-difference Hessian has no {scheme} form "
                                 "(--scheme central or richardson for it)")
        else:
            order = usual
    result = run(expression.function, point, order, name=expression.text, variables=expression.variables,
                 backends=_backends(backends), finite_options=finite, timeout=timeout)
    if limited:
        result.note = limited if not result.note else f"{result.note}; {limited}"
    if as_json:
        print_json(render.to_json(result))
    elif as_csv:
        import sys

        sys.stdout.write(render.to_csv(result))
    else:
        console().print(render.table(result))


@app.command()
def backprop(
    steps: int = typer.Option(0, "--steps", help="Also train this many gradient-descent steps and show the loss."),
    eta: float | None = typer.Option(None, "--eta", help="Learning rate (the slides: 0.5)."),
    backends: str = typer.Option("reverse,forward,symbolic,finite", "--backends",
                                 help="Comma-separated: reverse, forward, symbolic, finite, hand "
                                      "(the slides' chain rule)."),
    plot: str | None = typer.Option(None, "--plot",
                                    help="Save the training loss curve (.png/.svg/.pdf; needs --steps)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The lecture's 2-2-1 sigmoid network: forward pass, every gradient by each backend, one update step."""
    from diffcompare.analysis.backprop import Network, analyse
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import backprop as render
    from diffcompare.render import console, print_json

    if plot is not None:
        from diffcompare.render.figures import check_plot_path

        check_plot_path(plot)
        if steps < 1:
            raise DiffcompareError("--plot draws the training loss: give --steps N (N >= 1)")
    net = Network()
    if eta is not None:
        if not (eta > 0 and eta < float("inf")):
            raise DiffcompareError(f"--eta must be a positive number, not {eta!r}")
        net = net.replace(eta=float(eta))
    result = analyse(net, _backends(backends), steps=steps)
    if plot is not None:
        render.save_loss_plot(result.losses, plot)
    if as_json:
        print_json(render.to_json(result))
        return
    out = console()
    for t in render.tables(result):
        out.print(t)
    if steps:
        out.print(render.training_table(result.losses))
        print(render.loss_plot(result.losses))
    if plot is not None:
        out.print(f"saved {plot}")


@app.command()
def plot(
    expr: str | None = typer.Argument(None, help=EXPR_HELP),
    file: str | None = typer.Option(None, "--file", help=FILE_HELP),
    range_: str = typer.Option("-6:6", "--range", help="LO:HI of the (first) variable, e.g. -6:6 or -2*pi:2*pi."),
    yrange: str | None = typer.Option(None, "--yrange", help="LO:HI of the second variable (default: --range)."),
    order: int = typer.Option(1, "--order", help="Derivatives to draw beside f: 1..10 (one variable)."),
    points: int | None = typer.Option(None, "--points",
                                      help="Samples: 2..100000 along the range (default 401); "
                                           "per axis of a field 2..400 (default 41)."),
    field: bool = typer.Option(False, "--field",
                               help="Two variables: levels and gradient arrows (implied by two variables)."),
    mode: str = typer.Option("forward", "--mode", help="forward (tangent of ones) or reverse (gradient of sum f)."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    out: str | None = typer.Option(None, "--out", "--plot", help="Save an image (.png/.svg/.pdf; matplotlib)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the samples as CSV (empty cell: undefined)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """f and its derivatives computed by AD over a whole range in one pass (Exercise 4: sin' without cos).

    Where f is not defined the curve has a gap. Two variables draw a field: in the terminal a
    map of levels and one of gradient arrows; contour lines with arrows go to --out FILE.png.
    """
    from diffcompare.analysis import sampling
    from diffcompare.cli.options import parse_range
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import console, print_json
    from diffcompare.render import plot as render

    if as_csv and as_json:
        raise DiffcompareError("give --csv or --json, not both")
    if out is not None:
        from diffcompare.render.figures import check_plot_path

        check_plot_path(out, "--out")
    expression, _ = load_function(expr, None, variables, need_point=False, file=file)
    result = sampling.sample(expression.function, expression.variables, parse_range(range_, "--range"),
                             parse_range(yrange, "--yrange") if yrange is not None else None, order=order,
                             points=points, field_of_two=field, mode=mode, name=expression.text)
    if isinstance(result, sampling.Field):
        if out is not None:
            render.save_field(result, out)
        if as_json:
            print_json(render.field_json(result))
        elif as_csv:
            print(render.field_csv(result), end="")
        else:
            print(render.field_text(result, saved=out))
    else:
        if out is not None:
            render.save_curves(result, out)
        if as_json:
            print_json(render.curves_json(result))
        elif as_csv:
            print(render.curves_csv(result), end="")
        else:
            print(render.curves_text(result))
    if out is not None and not (as_json or as_csv):
        console().print(f"saved {out}")
