"""The analyses from Python (issue 13 item 14): ``dc.compare(...)`` and friends, as a notebook uses them.

Thin wrappers over the CLI's analysis and render layers: the same JSON, the same tables (as HTML), the same
figures; a string or a Python function, the point as a mapping; and ``import diffcompare`` stays light.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

import diffcompare as dc
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError


def cli_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def without_seconds(doc):
    """Timings differ from run to run; everything else must be the CLI's document exactly."""
    if isinstance(doc, dict):
        return {k: without_seconds(v) for k, v in doc.items() if k != "seconds"}
    if isinstance(doc, list):
        return [without_seconds(v) for v in doc]
    return doc


@pytest.mark.parametrize("module", ["diffcompare", "diffcompare.cli"])
def test_import_loads_no_sympy_mpmath_or_matplotlib(module):
    code = (f"import sys, {module}, diffcompare as dc\n"
            "dc.compare; dc.trace; dc.error_vs_h  # naming the API loads its module, not what it computes with\n"
            "print(sorted(m for m in ('sympy', 'mpmath', 'matplotlib', 'rich', 'typer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]" if module == "diffcompare" else "sympy" not in out and "matplotlib" not in out


def test_compare_json_is_the_clis_json(capsys):
    report = dc.compare("x1*x2 + x2 - log(x1)", at={"x1": 3, "x2": -4})
    ours = json.loads(report.to_json())
    theirs = cli_json(capsys, "compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json")
    assert without_seconds(ours) == without_seconds(theirs)
    assert report.reference_method == "interval"  # attributes read through to the analysis result
    assert report.data.rows[2].backend == "reverse"


def test_trace_json_is_the_clis_json_and_a_python_function_gives_the_same_trace(capsys):
    theirs = cli_json(capsys, "trace", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json")
    assert json.loads(dc.trace("x1*x2 + x2 - log(x1)", at="x1=3,x2=-4").to_json()) == theirs

    def f(x1, x2):
        return x1 * x2 + x2 - np.log(x1)

    mine = json.loads(dc.trace(f, at={"x1": 3, "x2": -4}).to_json())
    assert [r["value"] for r in mine["rows"]] == [r["value"] for r in theirs["rows"]]
    assert mine["gradient"] == theirs["gradient"] == pytest.approx([-13 / 3, 4], rel=1e-15)


def test_trace_rows_have_their_text_as_the_tables_write_it():
    """The rows carry data (prim, operands); ``.table`` has each row's text, the JSON's text fields exactly."""
    t = dc.trace("x1*x2 + x2 - log(x1)", at="x1=3,x2=-4")
    rows = json.loads(t.to_json())["rows"]
    assert len(t.table) == len(rows) and t.table[2].op == "v_1 = v_-1 * v_0" and t.rows[2].prim == "mul"
    for line, row in zip(t.table, rows):
        assert line.name == row["name"] and line.value == row["value"]
        for key in ("op", "arithmetic", "tangent_expr", "tangent_arithmetic", "adjoint_expr", "adjoint_arithmetic"):
            assert getattr(line, key) == row[key]
    primal = dc.trace("x1*x2 + x2 - log(x1)", at="x1=3,x2=-4", mode="primal")
    assert primal.table[2].tangent_expr is None and primal.table[2].adjoint_expr is None
    assert ".table" in repr(t)


def test_a_function_with_an_if_runs_every_backend_and_sympy_says_why():
    def relu_product(x1, x2):
        s = x1 * x2 + np.sin(x1)
        return s if s > 0 else 0.5 * s

    rows = {r.backend: r for r in dc.compare(relu_product, at={"x1": 3, "x2": 4}).rows}
    assert rows["reverse"].result.derivative == pytest.approx([4 + np.cos(3), 3], rel=1e-15)
    assert "cannot decide `if`/`while`" in rows["symbolic"].unsupported


def test_the_tables_show_in_a_notebook_as_html_and_in_a_terminal_as_text():
    report = dc.derivatives("exp(x)", at={"x": 1}, order=2)
    html = report._repr_html_()  # what Jupyter calls; IPython itself is not a test dependency
    assert html.startswith("<pre") and "2.71828182845905" in html
    DisplayFormatter = pytest.importorskip("IPython.core.formatters", reason="IPython not installed").DisplayFormatter
    data, _ = DisplayFormatter().format(report)
    assert data["text/html"].startswith("<pre") and "2.71828182845905" in data["text/html"]
    assert "derivatives of exp(x) at x=1" in data["text/plain"]  # IPython in a terminal: the table, not a repr
    assert "…" not in report.text(80)
    assert ".to_json()" in repr(report) and ".plot()" not in repr(report)


@pytest.mark.parametrize("make", [
    lambda: dc.error_vs_h("sin(x)", at={"x": 1.0}, points=8, schemes="central,complex"),
    lambda: dc.swell(3),
    lambda: dc.backprop(steps=3),
    lambda: dc.plot("sin(x)", order=2, points=41),
], ids=["error_vs_h", "swell", "backprop", "plot"])
def test_plot_returns_the_clis_figure(make, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    import matplotlib.pyplot as plt

    report = make()
    open_before = len(plt.get_fignums())
    fig = report.plot()
    assert len(plt.get_fignums()) == open_before  # returned, not left open too: a notebook would show it twice
    assert isinstance(fig, Figure) and fig.axes[0].get_lines()
    fig.savefig(tmp_path / "figure.png")  # closed for pyplot (shown once in a notebook), still drawable
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_graph_json_and_dot_are_the_clis(capsys):
    theirs = cli_json(capsys, "graph", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json")
    report = dc.graph("x1*x2 + x2 - log(x1)", at={"x1": 3, "x2": -4})
    assert json.loads(report.to_json()) == theirs
    assert main(["graph", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--dot", "-"]) == 0
    assert report.dot() == capsys.readouterr().out
    assert "∂v_3/∂v_-1 = 1/v_-1" in report.text(100) and ".dot()" in repr(report) and ".plot()" not in repr(report)
    assert json.loads(dc.graph("x1*x2").to_json())["point"] is None  # no point: the structure alone
    assert json.loads(dc.graph("table3").to_json())["point"] == [3, -4]  # an example's own point, as in the CLI


def test_plot_json_is_the_clis_for_curves_and_fields(capsys):
    theirs = cli_json(capsys, "plot", "sin(x)", "--order", "2", "--points", "21", "--json")
    assert json.loads(dc.plot("sin(x)", order=2, points=21).to_json()) == theirs
    theirs = cli_json(capsys, "plot", "x1**2 - x2**2", "--range", "-2:2", "--points", "9", "--json")
    field = dc.plot("x1**2 - x2**2", range=(-2, 2), points=9)
    assert json.loads(field.to_json()) == theirs and ".plot() (matplotlib)" in field.text(100)
    with pytest.raises(DiffcompareError, match="--order is for one variable"):
        dc.plot("x1*x2", order=2)


def test_plot_of_a_field_returns_the_contour_figure(tmp_path):
    pytest.importorskip("matplotlib")
    fig = dc.plot("x1**2 - x2**2", range="-2:2", points=21).plot()
    assert fig.axes[0].get_title().startswith("x1**2 - x2**2: contours") and len(fig.axes) == 2  # and the colour bar
    fig.savefig(tmp_path / "field.png")
    assert (tmp_path / "field.png").stat().st_size > 1000


def test_plot_keeps_the_notebooks_matplotlib_backend():
    """The CLI forces Agg (no window); in a notebook that would switch off the inline backend."""
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # stands in for the notebook's inline backend
    try:
        dc.backprop(steps=2).plot()
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def test_only_analyses_with_a_figure_offer_plot():
    assert not hasattr(dc.compare("sin(x)", at=1.0, backends="reverse"), "plot")
    assert not hasattr(dc.backprop(), "plot")  # no training: no loss curve


def test_the_defaults_match_the_cli():
    assert dc.error_vs_h(points=6, schemes="central").data.point == pytest.approx((np.pi / 3,))
    assert dc.derivatives("sin(x)", at=1, backends="reverse").max_order == 3
    assert dc.compare("table3").data.point == (3.0, -4.0)  # an example's own point


@pytest.mark.parametrize("call, message", [
    (lambda: dc.compare("x1*x2", at={"x1": 1}), "missing value for x2"),
    (lambda: dc.compare("x1*x2", at={"x1": 1, "x2": 2, "z": 3}), "z is not a variable"),
    (lambda: dc.compare("x1*x2"), "give the point, e.g. at={'x1': 1, 'x2': 1}"),
    (lambda: dc.compare("x1*x2", at=[1, 2]), "give the point as a mapping"),
    (lambda: dc.compare(lambda *xs: sum(xs), at={"x": 1}), "name each variable as a parameter"),
    (lambda: dc.compare(lambda x: x, at={"x": 1}, variables=["x"]), "variables= is for expression strings"),
    (lambda: dc.compare(3.0, at={"x": 1}), "is not a function"),
    (lambda: dc.compare("x", at={"x": "two"}), "'two'"),
])
def test_bad_calls_are_one_line_diffcompare_errors(call, message):
    with pytest.raises(DiffcompareError, match=None) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)
