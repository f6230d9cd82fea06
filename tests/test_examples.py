"""The catalog of the lecture's named functions (data/examples.toml) and name resolution."""

from __future__ import annotations

import math

import pytest

from diffcompare.examples import Example, load_examples, resolve
from diffcompare.parse import compile_expression, parse_point

REQUIRED = ["table1", "table3", "sin", "cube", "contour", "dependency_graph", "logistic", "exp"]


def central_gradient(f, point, h=1e-6):
    grads = []
    for i in range(len(point)):
        up = list(point)
        down = list(point)
        up[i] += h
        down[i] -= h
        grads.append((f(*up) - f(*down)) / (2 * h))
    return grads


def test_catalog_contains_the_lecture_examples():
    examples = load_examples()
    for name in REQUIRED:
        assert name in examples
        assert isinstance(examples[name], Example)
        assert examples[name].name == name


def test_catalog_is_cached():
    assert load_examples() == load_examples()


@pytest.mark.parametrize("name", REQUIRED)
def test_every_example_compiles_and_its_point_parses(name):
    ex = load_examples()[name]
    assert ex.description and ex.source
    e = compile_expression(ex.expression)
    point = parse_point(ex.point, e.variables)
    assert math.isfinite(e(*point))


@pytest.mark.parametrize(
    "name, value",
    [
        ("table1", 11.307),
        ("table3", -17.10),
        ("sin", 0.8660),
        ("cube", 8.0),
        ("contour", 2.8415),
        ("logistic", 0.84),
        ("exp", math.e),
        ("dependency_graph", 2 * math.log(2) * math.sin(2) + 0.5),
    ],
)
def test_example_values_match_the_seed(name, value):
    ex = load_examples()[name]
    e = compile_expression(ex.expression)
    # the slides print these to 2 or 3 decimals: half a unit of 2 decimals is 5e-3
    assert e(*parse_point(ex.point, e.variables)) == pytest.approx(value, abs=5e-3)


@pytest.mark.parametrize(
    "name, gradient",
    [
        ("table3", [-4.33, 4.0]),
        ("sin", [0.5]),
        ("cube", [12.0]),
        ("contour", [4.5403, 1.0]),
        ("dependency_graph", [2 * math.log(2) * math.cos(2) + math.sin(2) - 0.25]),
        ("exp", [math.e]),
    ],
)
def test_example_gradients_match_the_seed(name, gradient):
    ex = load_examples()[name]
    e = compile_expression(ex.expression)
    # printed to 2-4 decimals; half a unit of 2 decimals (5e-3) dwarfs the ~1e-10 central-difference error
    assert central_gradient(e, parse_point(ex.point, e.variables)) == pytest.approx(gradient, abs=5e-3)


def test_table1_and_table3_share_the_function():
    examples = load_examples()
    assert examples["table1"].expression == examples["table3"].expression
    assert examples["table1"].point == "x1=2,x2=4"
    assert examples["table3"].point == "x1=3,x2=-4"


def test_resolve_returns_expression_and_point_for_a_name():
    assert resolve("table1") == ("x1*x2 + x2 - log(x1)", "x1=2,x2=4")
    assert resolve("sin") == ("sin(x)", "x=pi/3")


def test_resolve_passes_other_text_through():
    assert resolve("x**2 + 1") == ("x**2 + 1", None)


def test_resolve_refuses_a_misspelt_example_name():
    from diffcompare.errors import DiffcompareError

    with pytest.raises(DiffcompareError, match=r"'dependancy_graph' \(did you mean 'dependency_graph'"):
        resolve("dependancy_graph")
    assert resolve("dependancy_graph", ["dependancy_graph"]) == ("dependancy_graph", None)  # declared: a variable
    assert resolve("ex") == ("ex", None)  # short names are variables, not typos of "exp"
    assert resolve("x") == ("x", None)


@pytest.mark.parametrize("command", ["graph", "compare", "trace", "code", "derivatives", "error-vs-h"])
def test_every_command_refuses_a_misspelt_example_name(command, capsys):
    """graph used to exit 0, graphing one input variable named dependancy_graph (it needs no point)."""
    from diffcompare.cli import main

    assert main([command, "dependancy_graph"]) == 2
    out, err = capsys.readouterr()
    assert "did you mean 'dependency_graph'?" in err and "Traceback" not in out + err
    assert main(["graph", "tabel3", "--at", "tabel3=2"]) == 0  # named in --at: declared a variable


def test_api_refuses_a_misspelt_example_name():
    import diffcompare
    from diffcompare.errors import DiffcompareError

    with pytest.raises(DiffcompareError, match="did you mean 'table3'"):
        diffcompare.compare("tabel3", at={"x": 1})
    assert diffcompare.graph("tabel3", variables="tabel3") is not None
