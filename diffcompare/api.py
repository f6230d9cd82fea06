"""The analyses from Python (a notebook): ``dc.compare("x1*x2 + x2 - log(x1)", at={"x1": 3, "x2": -4})``.

Each function takes an expression string (or an example's name) or a Python function, and the point as a
mapping. It runs the same analysis and the same renderers as the CLI command of that name (cli -> analysis ->
render; nothing is computed here) and returns a :class:`Report`: shown as the CLI's tables in a notebook
(``_repr_html_``) or by ``print``; ``.to_json()`` is the CLI's ``--json``; ``.plot()`` is the CLI's ``--plot``
figure where the command has one; ``.data`` is the analysis result itself.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Report", "backprop", "compare", "derivatives", "error_vs_h", "graph", "plot", "swell", "trace"]

# the notebook's text width: rich's own default in Jupyter is 115; the tables are laid out for 80-120
WIDTH = 100


class Report:
    """An analysis result that shows itself: the CLI's tables (HTML in a notebook, text by ``print``),
    its JSON, and its attributes (``report.rows`` reads ``report.data.rows``)."""

    def __init__(self, command: str, data: Any, tables: Callable[[Any, int], list[Any]],
                 to_data: Callable[[Any], Any]) -> None:
        self.command = command
        self.data = data
        self._tables = tables
        self._to_data = to_data

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("data")
        if name.startswith("_") or data is None:
            raise AttributeError(name)
        return getattr(data, name)

    def renderables(self, width: int = WIDTH) -> list[Any]:
        """The rich tables (and text plots) the CLI prints, laid out for ``width`` columns."""
        return self._tables(self.data, width)

    def to_json(self) -> str:
        """The same JSON document as the CLI's ``--json`` (NaN and inf as null)."""
        from diffcompare.render import jsonable

        return json.dumps(jsonable(self._to_data(self.data)), indent=2)

    def _console(self, width: int) -> Any:
        from rich.console import Console

        return Console(record=True, width=width, file=io.StringIO(), force_terminal=True, force_jupyter=False,
                       color_system="truecolor", highlight=False)

    def text(self, width: int | None = None) -> str:
        """The tables as plain text, ``width`` columns wide (default: the terminal's width)."""
        if width is None:
            import shutil

            width = shutil.get_terminal_size((WIDTH, 24)).columns
        console = self._console(width)
        for r in self.renderables(width):
            console.print(r)
        return console.export_text()

    def _repr_html_(self) -> str:
        console = self._console(WIDTH)
        for r in self.renderables(WIDTH):
            console.print(r)
        # rich's own notebook format (rich.jupyter): a <pre> block in a monospace font, colours inline
        return console.export_html(inline_styles=True, code_format=(
            "<pre style=\"white-space:pre;overflow-x:auto;line-height:normal;font-family:Menlo,"
            "'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>"))

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from self.renderables(options.max_width)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython in a terminal
        printer.text(self.text())

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        extra = [f".{m}()" for m in ("plot", "dot") if hasattr(type(self), m)]
        extra += [".table"] if hasattr(type(self), "table") else []
        return (f"<diffcompare {self.command} report: print() it or show it in a notebook; "
                f".to_json(){''.join(', ' + m for m in extra)}, .data>")


class PlotReport(Report):
    """A report whose command also draws a figure (``--plot``): ``.plot()`` returns it."""

    def __init__(self, command: str, data: Any, tables: Callable[[Any, int], list[Any]],
                 to_data: Callable[[Any], Any], figure: Callable[[Any, Any], Any]) -> None:
        super().__init__(command, data, tables, to_data)
        self._figure = figure

    def plot(self) -> Any:
        """The command's matplotlib figure (needs matplotlib). In a notebook it shows itself; else ``.savefig``."""
        from diffcompare.render.figures import pyplot

        plt = pyplot(interactive=True)
        fig = self._figure(plt, self.data)
        plt.close(fig)  # returned, not also left open: a notebook shows it once, a loop leaks none
        return fig


def _load(f: Any, at: Any, variables: Sequence[str] | None, need_point: bool = True) -> tuple[Any, Any]:
    """An expression string (or example name) or a Python function, and its point -> (Expression, point)."""
    from diffcompare import userfunc
    from diffcompare.errors import DiffcompareError

    if isinstance(f, str):
        from diffcompare.examples import resolve
        from diffcompare.parse import compile_expression

        if isinstance(variables, str):
            variables = [v.strip() for v in variables.split(",") if v.strip()]
        declared = list(variables or []) + (list(at) if isinstance(at, dict) else [])
        if isinstance(at, str):
            declared += [part.split("=", 1)[0].strip() for part in at.split(",") if "=" in part]
        text, example_point = resolve(f, [str(d) for d in declared])
        expression = compile_expression(text, variables)
        if at is None:
            at = example_point
    else:
        if variables is not None:
            raise DiffcompareError("variables= is for expression strings; a function's parameters are its variables")
        name = getattr(f, "__name__", "f")
        expression = userfunc.from_callable(f, "f" if name == "<lambda>" else name)
    if at is None:
        if need_point:
            example = ", ".join(f"{v!r}: 1" for v in expression.variables)
            raise DiffcompareError(f"give the point, e.g. at={{{example}}}")
        return expression, None
    return expression, userfunc.point_from(at, expression.variables)


def _backends(names: Sequence[str] | str) -> list[str]:
    from diffcompare.errors import DiffcompareError

    out = [b.strip() for b in names.split(",")] if isinstance(names, str) else list(names)
    out = [b for b in out if b]
    if not out:
        raise DiffcompareError("backends is empty")
    return out


def compare(f: str | Callable[..., Any], at: Mapping[str, Any] | str | float | None = None, *,
            variables: Sequence[str] | None = None,
            backends: Sequence[str] | str = ("finite", "symbolic", "reverse", "forward"),
            scheme: str = "central", step: float | None = None, timeout: float = 10.0) -> Report:
    """Every backend on ``f`` at ``at``: value, derivative, error against a 50-digit reference, cost, time.

    As ``diffcompare compare``. ``compare("table3")`` uses the example's own point.
    """
    from diffcompare.analysis.compare import compare as run
    from diffcompare.render import compare as render

    expression, point = _load(f, at, variables)
    finite = {"scheme": scheme} | ({"step": step} if step is not None else {})
    result = run(expression.function, point, name=expression.text, variables=expression.variables,
                 backends=_backends(backends), options={"finite": finite}, timeout=timeout)
    return Report("compare", result, lambda d, w: [render.table(d)], render.to_json)


def derivatives(f: str | Callable[..., Any], at: Mapping[str, Any] | str | float | None = None, *,
                order: int | None = None, variables: Sequence[str] | None = None,
                backends: Sequence[str] | str = ("reverse", "forward", "symbolic", "finite"),
                scheme: str = "central", step: float | None = None, timeout: float = 10.0) -> Report:
    """Derivatives of order 1..``order`` (default 3; the Hessian, order 2, for several variables) by nested AD,
    sympy and finite differences, each against a 50-digit reference. As ``diffcompare derivatives``."""
    from diffcompare.analysis.derivatives import derivatives as run
    from diffcompare.render import derivatives as render

    expression, point = _load(f, at, variables)
    finite = {"scheme": scheme} | ({"step": step} if step is not None else {})
    if order is None:
        order = 3 if len(point) == 1 else 2
    result = run(expression.function, point, order, name=expression.text, variables=expression.variables,
                 backends=_backends(backends), finite_options=finite, timeout=timeout)
    return Report("derivatives", result, lambda d, w: [render.table(d)], render.to_json)


def error_vs_h(f: str | Callable[..., Any] = "sin(x)", at: Mapping[str, Any] | str | float | None = None, *,
               variables: Sequence[str] | None = None, component: str | None = None,
               h_min: float = 1e-16, h_max: float = 1.0, points: int = 60,
               schemes: Sequence[str] | str = ("forward", "backward", "central", "five-point", "complex",
                                               "richardson"),
               timeout: float = 10.0) -> PlotReport:
    """The error of every finite-difference scheme against the step h (the V of truncation and round-off);
    ``.plot()`` is the log-log figure. As ``diffcompare error-vs-h`` (default: sin(x) at pi/3)."""
    from diffcompare.analysis.error_vs_h import error_vs_h as run
    from diffcompare.render import error_vs_h as render

    if at is None and f == "sin(x)":
        at = "x=pi/3"
    expression, point = _load(f, at, variables)
    result = run(expression.function, point if len(point) > 1 else point[0], name=expression.text,
                 variables=expression.variables, component=component, h_min=h_min, h_max=h_max,
                 points=points, schemes=_backends(schemes), timeout=timeout)

    def tables(d: Any, width: int) -> list[Any]:
        from rich.text import Text

        return [render.table(d), Text(render.plot_text(d, width=max(20, min(100, width - 12))))]

    return PlotReport("error-vs-h", result, tables, render.to_json, render.figure)


def swell(n: int = 5, *, timeout: float = 10.0, formulas: bool | None = None) -> PlotReport:
    """Expression swell on the logistic map l_(k+1) = 4 l_k (1 - l_k), k = 1..n: tree, DAG, sympy and the AD
    tape; ``.plot()`` draws the sizes against n. As ``diffcompare swell``."""
    from diffcompare.analysis.swell import swell as run
    from diffcompare.render import swell as render

    result = run(n, timeout=timeout, formulas=formulas)

    def tables(d: Any, width: int) -> list[Any]:
        return [*([render.formulas_table(d)] if d.formulas else []), render.sizes_table(d), render.sympy_table(d)]

    return PlotReport("swell", result, tables, render.to_json, render.figure)


def trace(f: str | Callable[..., Any], at: Mapping[str, Any] | str | float | None = None, *,
          variables: Sequence[str] | None = None, mode: str = "all", wrt: str | None = None) -> Report:
    """The evaluation trace (the slides' Tables 1-3) read off the AD tape. As ``diffcompare trace``."""
    from diffcompare.analysis.trace import evaluation_trace
    from diffcompare.render import trace as render

    expression, point = _load(f, at, variables)
    result = evaluation_trace(expression.function, point, expression.variables, expression.text,
                              mode=mode.strip().lower(), wrt=wrt.strip() if wrt else None)
    return TraceReport("trace", result, lambda d, w: [render.table(d)], render.to_json)


class TraceReport(Report):
    """The evaluation trace: the tables, its JSON, ``.rows`` (each row's data: ``prim``, ``operands``, values)
    and ``.table``, each row's text as the tables write it (``t.table[2].op == "v_1 = v_-1 * v_0"``)."""

    @property
    def table(self) -> list[Any]:
        """One :class:`diffcompare.render.trace.Line` per row: ``op``, ``arithmetic``, ``tangent_expr``,
        ``adjoint_expr`` ... (the text fields of the JSON's rows)."""
        from diffcompare.render import trace as render

        return render.lines(self.data)


class GraphReport(Report):
    """The computational graph: the CLI's tree, its JSON, and ``.dot()``, the Graphviz text of ``--dot``."""

    def dot(self) -> str:
        """Graphviz DOT (render with ``dot -Tsvg graph.dot -o graph.svg``), as ``diffcompare graph --dot``."""
        from diffcompare.render import graph as render

        return render.dot(self.data)


def graph(f: str | Callable[..., Any], at: Mapping[str, Any] | str | float | None = None, *,
          variables: Sequence[str] | None = None, wrt: str | None = None) -> GraphReport:
    """The computational (dependency) graph from the AD tape; with ``at``, each node's value and each edge's
    local partial. As ``diffcompare graph``; ``.dot()`` is its ``--dot`` text."""
    from diffcompare.analysis.graph import computational_graph
    from diffcompare.render import graph as render

    expression, point = _load(f, at, variables, need_point=False)
    result = computational_graph(expression.function, point, expression.variables, expression.text,
                                 wrt=wrt.strip() if wrt else None)
    return GraphReport("graph", result, lambda d, w: [render.tree(d)], render.to_json)


def plot(f: str | Callable[..., Any], *, range: str | tuple[float, float] = "-6:6",
         yrange: str | tuple[float, float] | None = None, order: int = 1, points: int | None = None,
         field: bool = False, mode: str = "forward", variables: Sequence[str] | None = None) -> PlotReport:
    """f and its derivatives by AD over a whole range in one pass (two variables: the field of f and its
    gradient); ``.plot()`` is the figure of ``--out``. As ``diffcompare plot``; ranges as "LO:HI" or (lo, hi)."""
    from diffcompare.analysis import sampling
    from diffcompare.cli.options import parse_range
    from diffcompare.render import plot as render

    def limits(r: Any, option: str) -> tuple[float, float]:
        return parse_range(r if isinstance(r, str) else ":".join(repr(float(v)) for v in r), option)

    expression, _ = _load(f, None, variables, need_point=False)
    result = sampling.sample(expression.function, expression.variables, limits(range, "range"),
                             None if yrange is None else limits(yrange, "yrange"), order=order, points=points,
                             field_of_two=field, mode=mode, name=expression.text)
    if isinstance(result, sampling.Field):
        return PlotReport("plot", result, lambda d, w: [_text(render.field_text(d, how=".plot() (matplotlib)"))],
                          render.field_json, render.field_figure)
    return PlotReport("plot", result, lambda d, w: [_text(render.curves_text(d, width=max(20, min(72, w - 14))))],
                      render.curves_json, render.curves_figure)


def _text(text: str) -> Any:
    from rich.text import Text

    return Text(text)


def backprop(*, steps: int = 0, eta: float | None = None,
             backends: Sequence[str] | str = ("reverse", "forward", "symbolic", "finite")) -> Report:
    """The lecture's 2-2-1 sigmoid network: forward pass, every gradient by each backend, one update step;
    with ``steps``, that many steps of training and ``.plot()`` of the loss. As ``diffcompare backprop``."""
    from diffcompare.analysis.backprop import Network, analyse
    from diffcompare.errors import DiffcompareError
    from diffcompare.render import backprop as render

    net = Network()
    if eta is not None:
        if not (eta > 0 and eta < float("inf")):
            raise DiffcompareError(f"eta must be a positive number, not {eta!r}")
        net = net.replace(eta=float(eta))
    result = analyse(net, _backends(backends), steps=steps)

    def tables(d: Any, width: int) -> list[Any]:
        from rich.text import Text

        extra = [render.training_table(d.losses), Text(render.loss_plot(d.losses))] if steps else []
        return [*render.tables(d), *extra]

    if not steps:
        return Report("backprop", result, tables, render.to_json)
    return PlotReport("backprop", result, tables, render.to_json, lambda plt, d: render.loss_figure(plt, d.losses))
