"""`diffcompare cost gradient|jacobian|hessian|memory`: what each method costs as the problem grows.

A cell predicted past ``--budget`` is skipped, so a default run takes seconds; each command's help
says about how long. Times depend on the machine and the engine: measure, do not trust a comment.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

import typer

from diffcompare.cli.app import JSON_HELP, App, app

cost_app = App(
    name="cost",
    help="Measure what each method costs as the problem grows: time, evaluations, memory, fitted slopes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cost_app, name="cost")

BUDGET_HELP = ("Seconds per cell: a method is skipped at a size where its time, predicted from the "
               "previous size, would exceed this (and at every larger size).")
PLOT_HELP = "Also save a figure (.png, .svg or .pdf; needs matplotlib: pip install 'diffcompare\\[plot]')."
FILE_HELP = ("Your own f(x) of one vector x instead of --function: FILE.py:FUNCTION or MODULE:FUNCTION "
             "(plain numpy, returns a scalar; called with x of size n).")
FUNCTION_HELP = ("rosenbrock, sines, mlp, or an expression in one variable applied to each x_i and "
                 "summed (e.g. 'sin(x)**2').")


@contextmanager
def _progress(hidden: bool) -> Iterator[Any]:
    """A progress bar on a terminal's stderr (none with --json): yields the callback the analysis calls per cell."""
    from diffcompare.render import console

    err = console(stderr=True)
    if hidden or not err.is_terminal:  # a log file gets no bar, and no stray blank line
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True)
    with bar:
        task = bar.add_task("measuring", total=None)

        def step(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield step


def _function(function: Optional[str], file: Optional[str]) -> Any:
    """``--function`` (a family or an expression), or the user's own f(x) of one vector from ``--file``."""
    if file is None:
        return function or "rosenbrock"
    from diffcompare.errors import DiffcompareError
    from diffcompare.userfunc import load

    if function is not None:
        raise DiffcompareError("give --function or --file, not both")
    return load(file)


def _methods(text: Optional[str]) -> Optional[list[str]]:
    return None if text is None else [m.strip() for m in text.split(",") if m.strip()]


def _finish(report: Any, command: str, as_json: bool, plot: Optional[str]) -> None:
    from diffcompare.render import console, print_json
    from diffcompare.render import cost as render

    if plot:
        from pathlib import Path

        render.plot(report, Path(plot))
    if as_json:
        print_json(render.to_json(report, command))
    else:
        console().print(render.table(report))
        if plot:
            console().print(f"saved {plot}")


def _check_plot(plot: Optional[str]) -> None:
    if plot:
        from diffcompare.render.figures import check_plot_path, pyplot

        check_plot_path(plot)
        pyplot()  # a clear error now if matplotlib is missing, not after minutes of measuring


@cost_app.command()
def gradient(
    function: Optional[str] = typer.Option(None, "--function", help=FUNCTION_HELP + " Default: rosenbrock."),
    file: Optional[str] = typer.Option(None, "--file", help=FILE_HELP),
    n: str = typer.Option("10,100,1000,10000,100000", "--n", help="Sizes n, comma-separated (log grid)."),
    methods: Optional[str] = typer.Option(
        None, "--methods",
        help="Comma-separated subset of reverse, forward, finite-forward, finite-central, finite-complex, "
        "symbolic (default: these), and the installed peers (jax, torch, autograd, numdifftools, scipy, "
        "symengine); all: every one. Measured in one run, interleaved at each n."),
    budget: float = typer.Option(2.0, "--budget", help=BUDGET_HELP),
    plot: Optional[str] = typer.Option(None, "--plot", help=PLOT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Gradient of f: R^n -> R by every method as n grows; reverse mode's cost relative to f stays flat.

    Default run: about 10 s.
    """
    from diffcompare.analysis.cost import GRADIENT_METHODS, check_inputs, gradient_cost
    from diffcompare.cli.options import parse_grid

    _check_plot(plot)
    ns = parse_grid(n, "n")
    function = _function(function, file)
    check_inputs(function, ns[0], _methods(methods), GRADIENT_METHODS, budget)
    with _progress(as_json) as step:
        report = gradient_cost(function, ns, _methods(methods), budget, step)
    _finish(report, "cost gradient", as_json, plot)


@cost_app.command()
def jacobian(
    n: str = typer.Option("1,4,16,64,256,1024", "--n", help="Input sizes n, comma-separated."),
    m: str = typer.Option("1,4,16,64,256,1024", "--m", help="Output sizes m, comma-separated."),
    methods: Optional[str] = typer.Option(
        None, "--methods",
        help="Peers to time beside jacfwd, jacrev and jacfwd-batched (always timed), comma-separated: jax, torch, "
        "autograd, numdifftools, scipy, symengine where installed; all: every one."),
    budget: float = typer.Option(2.0, "--budget", help=BUDGET_HELP),
    plot: Optional[str] = typer.Option(None, "--plot", help=PLOT_HELP + " A heat map of which mode wins."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """jacfwd (n JVPs, one direction per pass) against jacrev (m VJPs) for tanh(A x) on an (n, m) grid.

    The lecture's comparison, one direction per pass on both sides, so that the crossover lies near n = m;
    jacfwd-batched (dc.jacfwd: all n directions in one vectorized pass) is timed beside them with its own
    crossover. Default run: about 8 s.
    """
    from diffcompare.analysis.cost import check_budget
    from diffcompare.analysis.cost_jacobian import check_methods, jacobian_cost
    from diffcompare.cli.options import parse_grid

    _check_plot(plot)
    ns, ms = parse_grid(n, "n"), parse_grid(m, "m")
    check_budget(budget)
    check_methods(_methods(methods))
    with _progress(as_json) as step:
        report = jacobian_cost(ns, ms, budget, step, _methods(methods))
    _finish(report, "cost jacobian", as_json, plot)


@cost_app.command()
def hessian(
    function: Optional[str] = typer.Option(None, "--function", help=FUNCTION_HELP + " Default: rosenbrock."),
    file: Optional[str] = typer.Option(None, "--file", help=FILE_HELP),
    n: str = typer.Option("10,30,100,300,1000", "--n", help="Sizes n, comma-separated."),
    methods: Optional[str] = typer.Option(
        None, "--methods",
        help="Comma-separated subset of forward-over-reverse, reverse-over-reverse, finite-of-gradient, "
        "finite-second, symbolic (default: these; one gradient and one HVP are always timed), and the "
        "installed peers (jax, torch, ...); all: every one."),
    budget: float = typer.Option(2.0, "--budget", help=BUDGET_HELP),
    plot: Optional[str] = typer.Option(None, "--plot", help=PLOT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Hessian by every method against the cost of one gradient (Exercise 1), and the HVP alternative.

    Default run: about 6 s.
    """
    from diffcompare.analysis.cost import check_inputs
    from diffcompare.analysis.cost_hessian import HESSIAN_METHODS, hessian_cost
    from diffcompare.cli.options import parse_grid

    _check_plot(plot)
    ns = parse_grid(n, "n")
    function = _function(function, file)
    check_inputs(function, ns[0], _methods(methods), HESSIAN_METHODS, budget, kind="hessian")
    with _progress(as_json) as step:
        report = hessian_cost(function, ns, _methods(methods), budget, step)
    _finish(report, "cost hessian", as_json, plot)


@cost_app.command()
def memory(
    k: str = typer.Option("10,100,1000,10000,100000", "--k",
                          help="Depths k (logistic map steps), comma-separated; 1000000 takes ~2.5 min and ~2.3 GB."),
    budget: float = typer.Option(10.0, "--budget", help=BUDGET_HELP.replace("cell", "cell (untraced call)")),
    plot: Optional[str] = typer.Option(None, "--plot", help=PLOT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Peak memory (tracemalloc) of reverse against forward mode as the computation deepens.

    Default run: about 18 s. --k 1000000 --budget 60 adds about 2.5 minutes and needs ~2.3 GB of RAM.
    """
    from diffcompare.analysis.cost import check_budget
    from diffcompare.cli.options import parse_grid
    from diffcompare.analysis.cost_memory import memory_cost

    _check_plot(plot)
    ks = parse_grid(k, "k")
    check_budget(budget)
    with _progress(as_json) as step:
        report = memory_cost(ks, budget, step)
    _finish(report, "cost memory", as_json, plot)
