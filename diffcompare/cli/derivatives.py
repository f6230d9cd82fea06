"""`diffcompare derivatives`, `diffcompare backprop` and `diffcompare plot`."""

from __future__ import annotations

import typer

from diffcompare.cli.app import AT_HELP, EXPR_HELP, JSON_HELP, VARS_HELP, app, load_function


def _backends(text: str) -> list[str]:
    from diffcompare.errors import DiffcompareError

    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names:
        raise DiffcompareError("--backends is empty")
    return names


@app.command()
def derivatives(
    expr: str = typer.Argument(..., help=EXPR_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    order: int = typer.Option(3, "--order", help="Highest order, 1..10 (several variables: 1 or 2, the Hessian)."),
    variables: str | None = typer.Option(None, "--vars", help=VARS_HELP),
    backends: str = typer.Option("reverse,forward,symbolic,finite", "--backends", help="Comma-separated backends."),
    scheme: str = typer.Option("central", "--scheme",
                               help="Finite-difference scheme for the stencil of each order "
                                    "(forward, backward, central, five-point, richardson)."),
    step: float | None = typer.Option(None, "--step", help="Finite-difference step (default: from theory, per order)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Derivatives of order 1..k by nested AD, sympy and finite differences, each against a 50-digit reference.

    Finite differences lose digits with every order; AD and sympy do not. With several
    variables, --order 2 gives the Hessian.
    """
    from diffcompare.analysis.derivatives import derivatives as run
    from diffcompare.render import console, print_json
    from diffcompare.render import derivatives as render

    expression, point = load_function(expr, at, variables)
    finite = {"scheme": scheme} | ({"step": step} if step is not None else {})
    result = run(expression.function, point, order, name=expression.text, variables=expression.variables,
                 backends=_backends(backends), finite_options=finite)
    if as_json:
        print_json(render.to_json(result))
    else:
        console().print(render.table(result))


@app.command()
def backprop(
    steps: int = typer.Option(0, "--steps", help="Also train this many gradient-descent steps and show the loss."),
    eta: float | None = typer.Option(None, "--eta", help="Learning rate (the slides: 0.5)."),
    backends: str = typer.Option("reverse,forward,symbolic,finite", "--backends",
                                 help="Comma-separated: reverse, forward, symbolic, finite, hand (the slides' chain rule)."),
    plot: str | None = typer.Option(None, "--plot", help="Save the training loss curve (.png/.svg/.pdf; needs --steps)."),
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
        out.print(render.loss_plot(result.losses), markup=False, highlight=False)
    if plot is not None:
        out.print(f"saved {plot}")
