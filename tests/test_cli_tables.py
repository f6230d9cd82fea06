"""Issue 13, items 11 and 12 and the leftovers of items 1-2: schemes that cannot give an order are refused,
`compare` and `derivatives` write CSV, split tables keep their key column, stacked rows name their heading,
`examples` folds at 40 columns."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from test_layout import assert_whole, record, text_at

from diffcompare.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- item 11: --scheme complex at order > 1, and Hessians without a scheme of their own ---------------------------

def test_complex_step_at_order_3_is_refused_with_the_reason(capsys):
    code, out, err = run(capsys, "derivatives", "x**3", "--at", "x=2", "--order", "3", "--scheme", "complex")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "complex gives first derivatives only" in err and "--order 1" in err and "central" in err


def test_complex_step_without_order_computes_order_1_and_says_so(capsys):
    code, out, err = run(capsys, "derivatives", "x**3", "--at", "x=2", "--scheme", "complex", "--json",
                         "--backends", "reverse,finite")
    doc = json.loads(out)
    assert code == 0 and doc["max_order"] == 1 and "order 1 only" in doc["note"]
    finite = next(r for r in doc["orders"][0]["results"] if r["backend"] == "finite")
    assert finite["options"]["scheme"] == "complex" and "requested_scheme" not in finite["options"]


def test_complex_step_at_order_1_is_the_complex_step(capsys):
    code, out, _ = run(capsys, "derivatives", "x**3", "--at", "x=2", "--order", "1", "--scheme", "complex", "--json",
                       "--backends", "finite")
    finite = next(r for r in json.loads(out)["orders"][0]["results"] if r["backend"] == "finite")
    assert code == 0 and finite["options"]["scheme"] == "complex" and finite["value"] == 12.0


@pytest.mark.parametrize("scheme", ["forward", "backward", "five-point", "complex", "adaptive"])
def test_a_hessian_is_never_computed_by_another_scheme_than_asked(capsys, scheme):
    code, _, err = run(capsys, "derivatives", "x*y**2", "--at", "x=1,y=2", "--order", "2", "--scheme", scheme)
    assert code == 2 and f"no {scheme} form" in err
    code, out, _ = run(capsys, "derivatives", "x*y**2", "--at", "x=1,y=2", "--scheme", scheme, "--json",
                       "--backends", "reverse,finite")
    doc = json.loads(out)
    assert code == 0 and doc["max_order"] == 1 and "gradient only" in doc["note"]


def test_every_result_of_derivatives_used_the_scheme_asked(capsys):
    for scheme in ["forward", "backward", "central", "five-point", "richardson", "adaptive"]:
        code, out, _ = run(capsys, "derivatives", "exp(x)", "--at", "x=1", "--order", "3", "--scheme", scheme,
                           "--backends", "finite", "--json")
        for order in json.loads(out)["orders"]:
            options = order["results"][0]["options"]
            assert options["scheme"] == scheme and "requested_scheme" not in options


def test_the_help_lists_each_scheme_with_its_orders(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    main(["derivatives", "--help"])
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "Orders 1..10: forward, backward, central, five-point, richardson, adaptive." in text
    assert "Order 1 only: complex" in text and "Hessian: central, richardson." in text


def test_the_python_api_refuses_too():
    from diffcompare.analysis.derivatives import derivatives
    from diffcompare.errors import DiffcompareError

    with pytest.raises(DiffcompareError, match="first derivatives only"):
        derivatives(lambda x: x**3, 2.0, 2, finite_options={"scheme": "complex"})
    derivatives(lambda x: x**3, 2.0, 2, backends=["reverse"], finite_options={"scheme": "complex"})  # no finite


# -- item 12: --csv ------------------------------------------------------------------------------------------------

def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_compare_csv_is_one_row_per_backend_with_gradient_columns(capsys):
    code, out, err = run(capsys, "compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--csv")
    assert code == 0 and err == ""
    rows = _csv(out)
    assert [r["backend"] for r in rows] == ["reference", "finite", "symbolic", "reverse", "forward"]
    code, js, _ = run(capsys, "compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json")
    doc = json.loads(js)
    for r, j in zip(rows[1:], doc["results"]):
        assert [float(r["derivative_x1"]), float(r["derivative_x2"])] == j["derivative"]  # full precision
        assert float(r["abs_error"]) == j["abs_error"] and float(r["value"]) == j["value"]
    assert rows[1]["method"] == "central" and float(rows[0]["derivative_x1"]) == -13 / 3


def test_compare_csv_of_one_variable_and_of_an_unsupported_backend(capsys):
    code, out, _ = run(capsys, "compare", "abs(x)", "--at", "x=0", "--csv", "--backends", "symbolic,reverse")
    rows = _csv(out)
    assert code == 0 and "derivative" in rows[0] and "derivative_x" not in rows[0]
    assert len(rows) == 3


def test_derivatives_csv_one_row_per_order_and_backend(capsys):
    code, out, err = run(capsys, "derivatives", "exp(x)", "--at", "x=1", "--order", "5", "--csv")
    assert code == 0 and err == ""
    rows = _csv(out)
    assert len(rows) == 5 * 5 and {r["order"] for r in rows} == {"1", "2", "3", "4", "5"}
    for r in rows:
        assert float(r["derivative"]) == pytest.approx(math.e, rel=1e-3)  # finite at order 5: 4 digits
    assert float(rows[1]["derivative"]) == 2.718281828459045  # reverse at order 1: the float, every digit


def test_derivatives_csv_of_a_hessian_has_a_column_per_entry(capsys):
    code, out, _ = run(capsys, "derivatives", "sin(x*y) + z**2/y", "--at", "x=1,y=2,z=3", "--csv")
    rows = _csv(out)
    assert code == 0 and len(rows) == 2 * 5
    grad, hess = rows[1], rows[6]
    assert grad["kind"] == "gradient" and grad["hessian_x_y"] == "" and float(grad["derivative_z"]) == 3.0
    assert hess["kind"] == "hessian" and hess["derivative_z"] == "" and float(hess["hessian_z_z"]) == 1.0
    assert hess["hessian_x_y"] == hess["hessian_y_x"]


def test_csv_and_json_together_are_refused(capsys):
    for command in (["compare", "x", "--at", "x=1"], ["derivatives", "x", "--at", "x=1"]):
        code, out, err = run(capsys, *command, "--csv", "--json")
        assert code == 2 and out == "" and "--csv" in err


# -- leftovers of items 1-2 ---------------------------------------------------------------------------------------

def test_each_part_of_a_split_derivatives_table_shows_the_order(monkeypatch, capsys):
    printed = record(monkeypatch, capsys, ["derivatives", "exp(x)", "--at", "x=1", "--order", "2",
                                           "--backends", "reverse,finite"])
    text = text_at(printed, 40)
    parts = text.count("┏")
    assert parts >= 2  # split at 40 columns
    for order in ("1", "2"):
        shown = [line for line in text.splitlines() if line.startswith(f"│     {order} │")]
        assert len(shown) == parts, f"order {order} is missing from a part:\n{text}"


def test_a_stacked_row_names_its_heading_column():
    from rich.console import Console

    from diffcompare.render.layout import Table

    t = Table(title="wide")
    t.add_column("n", justify="right", no_wrap=True)
    for i in range(3):
        t.add_column(f"column {i}", justify="right", no_wrap=True)
    t.add_row("12", *[f"{1.2345678901234567e-300 * (i + 1):.15e}" for i in range(3)])
    out = io.StringIO()
    Console(file=out, width=26, color_system=None).print(t)
    assert "n 12" in out.getvalue().splitlines()[1]


def test_examples_fold_at_every_width(monkeypatch, capsys):
    printed = record(monkeypatch, capsys, ["examples"])
    assert_whole(printed)
    from diffcompare.examples import load_examples

    for width in (40, 80, 120):
        text = text_at(printed, width)
        for e in load_examples().values():
            assert e.name in text and e.point in text, (width, e.name)


@pytest.mark.parametrize("argv", [
    ["derivatives", "x**3", "--at", "x=2", "--scheme", "complex"],
    ["derivatives", "x*y**2", "--at", "x=1,y=2", "--scheme", "forward"],
    ["derivatives", "exp(x)", "--at", "x=1", "--order", "2", "--backends", "reverse,finite"],
])
def test_what_this_changed_is_whole_at_40_80_120(monkeypatch, capsys, argv):
    assert_whole(record(monkeypatch, capsys, argv))


def test_every_gradient_and_hessian_number_stays_beside_its_label(monkeypatch, capsys):
    """A split part that shows the values repeats the entry column (∂f/∂x ...): a number is never left to be
    matched to its label by counting rows in another part."""
    import re

    printed = record(monkeypatch, capsys, ["derivatives", "exp(x*y)", "--at", "x=1,y=2", "--backends",
                                           "reverse,finite"])
    for width in (40, 80, 120):
        lines = text_at(printed, width).splitlines()
        values = [i for i, line in enumerate(lines) if re.search(r"\d\.\d{6,}(?!\d*\))", line)]  # not f = ...)
        assert len(values) >= 5 * 3
        for i in values:
            assert "∂" in lines[i] or "∂" in lines[i - 1], f"a number apart from its label at {width}:\n{lines[i]}"


@pytest.mark.parametrize("argv,name", [
    (["swell", "--n", "2", "--plot"], "swell.png"),
    (["cost", "memory", "--k", "10,20", "--budget", "0.05", "--plot"], "memory.png"),
    (["graph", "x*y", "--at", "x=1,y=2", "--dot"], "g.dot"),
    (["plot", "sin(x)", "--range", "0:1", "--points", "11", "--out"], "p.png"),
])
def test_every_command_that_writes_a_file_says_saved_path(tmp_path, monkeypatch, capsys, argv, name):
    """swell said "plot saved to …", cost "figure saved to …", graph "DOT written to …": one wording for all."""
    if name.endswith(".png"):
        pytest.importorskip("matplotlib")
    monkeypatch.setenv("COLUMNS", "300")
    path = tmp_path / name
    code, out, err = run(capsys, *argv, str(path))
    assert code == 0, err
    assert any(line.startswith(f"saved {path}") for line in out.splitlines()), out[-500:]
    assert "saved to" not in out and "written to" not in out
