"""Higher derivatives: AD and sympy stay exact with order, finite differences lose digits; Hessians."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.analysis.derivatives import correct_digits, derivatives
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError
from diffcompare.parse import compile_expression


def run(text: str, point: tuple[float, ...], order: int, **kw):
    e = compile_expression(text)
    return derivatives(e.function, point, order, name=e.text, variables=e.variables, **kw)


def by(result, backend: str, order: int):
    return next(e for e in result.at(order) if e.backend == backend)


def test_x_cubed_at_2_gives_12_12_6_exactly_by_ad_and_sympy():
    d = run("x**3", (2.0,), 3)
    for backend in ("reverse", "forward", "symbolic"):
        assert [by(d, backend, k).value for k in (1, 2, 3)] == [12.0, 12.0, 6.0], backend
        assert all(by(d, backend, k).abs_error == 0.0 for k in (1, 2, 3))
    assert [float(d.reference[k]) for k in (1, 2, 3)] == [12.0, 12.0, 6.0]


def test_x_cubed_third_derivative_by_finite_differences_has_lost_digits():
    d = run("x**3", (2.0,), 3)
    fd = [by(d, "finite", k) for k in (1, 2, 3)]
    # the order-3 stencil divides rounding noise ~1e-16 * 8 by h^3 ~ 3e-10: a few 1e-7 (measured 2e-7)
    assert 1e-9 < fd[2].abs_error < 1e-5
    assert fd[2].digits < fd[0].digits < 16


def test_finite_differences_lose_digits_with_every_order_while_ad_keeps_them():
    d = run("exp(x)", (1.0,), 5)
    fd = [by(d, "finite", k).digits for k in range(1, 6)]
    assert all(b < a for a, b in itertools.pairwise(fd)), fd  # measured 11.1, 8.6, 7.4, 5.3, 4.5
    assert fd[-1] < 6
    for backend in ("reverse", "forward", "symbolic"):
        # e^x is its own derivative: nesting adds no rounding beyond the exp itself (<= 1 ulp)
        assert all(by(d, backend, k).digits >= 15 for k in range(1, 6)), backend


@settings(max_examples=8, deadline=None)
@given(st.floats(0.2, 3.0), st.integers(1, 4))
def test_nested_ad_keeps_at_least_13_digits(x, order):
    d = run("sin(x)*exp(-x)", (x,), order)
    for backend in ("reverse", "forward"):
        e = by(d, backend, order)
        # each nesting level adds a few roundings; a zero crossing of the derivative makes the relative
        # error meaningless, so compare absolutely against the size of the terms (|f^(k)| <= 2^(k/2))
        assert e.abs_error <= 1e-13 * 2 ** (order / 2), (backend, e.abs_error)


def test_hessian_of_the_slides_function_at_1_2():
    d = run("x1**2*x2 + sin(x1)", (1.0, 2.0), 2)
    assert [e.kind for e in d.at(1)] == ["gradient"] * 4 and [e.kind for e in d.at(2)] == ["hessian"] * 4
    exact = np.array([[2 * 2.0 - math.sin(1.0), 2.0], [2.0, 0.0]])
    for backend in ("reverse", "forward", "symbolic"):
        # float64 of sin(1) and one subtraction: within 1e-15 absolute
        assert np.allclose(by(d, backend, 2).value, exact, rtol=0, atol=1e-15), backend
    # central second differences at h ~ eps^(1/4): ~1e-8 absolute, nowhere near AD
    assert 1e-12 < by(d, "finite", 2).abs_error < 1e-6
    assert np.allclose(by(d, "reverse", 1).value, [2 * 2.0 + math.cos(1.0), 1.0], rtol=0, atol=1e-15)


def test_a_backend_that_leaves_the_domain_fails_alone():
    d = run("log(x)", (1e-5,), 2)
    assert by(d, "finite", 2).failed and "domain" in by(d, "finite", 2).failed
    assert by(d, "reverse", 2).failed is None and by(d, "reverse", 2).digits > 15


@pytest.mark.parametrize("text, point, order", [
    ("x**2", (1.0,), 0),
    ("x**2", (1.0,), 11),
    ("x1*x2", (1.0, 2.0), 3),  # mixed partials of order 3 are not offered
])
def test_bad_orders_are_refused(text, point, order):
    with pytest.raises(DiffcompareError):
        run(text, point, order)


def test_correct_digits_are_clipped_to_float64():
    assert correct_digits(0.0, 0.0) == 16.0
    assert correct_digits(1e-20, 1e-20) == 16.0
    assert correct_digits(1e-3, None) == pytest.approx(3.0)  # zero reference: absolute error stands in
    assert correct_digits(10.0, 10.0) == 0.0


def test_cli_table_shows_every_backend_and_order(capsys):
    assert main(["derivatives", "x**3", "--at", "x=2", "--order", "3"]) == 0
    out = capsys.readouterr().out
    for word in ("reverse", "forward", "symbolic", "finite", "f^(3)"):
        assert word in out


def test_cli_json(capsys):
    assert main(["derivatives", "x1**2*x2 + sin(x1)", "--at", "x1=1,x2=2", "--order", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [o["kind"] for o in data["orders"]] == ["gradient", "hessian"]
    hess = {r["backend"]: r for r in data["orders"][1]["results"]}
    assert hess["reverse"]["value"][0][1] == 2.0 and hess["finite"]["abs_error"] > 0
    assert len(data["orders"][1]["reference_digits"]) == 2


@pytest.mark.parametrize("args", [
    ["derivatives", "x**2", "--at", "x=1", "--order", "0"],
    ["derivatives", "x**2", "--at", "x=1", "--order", "11"],
    ["derivatives", "x1*x2", "--at", "x1=1,x2=2", "--order", "3"],
    ["derivatives", "log(x)", "--at", "x=-1"],
    ["derivatives", "x**2"],  # no point
    ["derivatives", "x**2", "--at", "x=1", "--scheme", "nope"],
    ["derivatives", "x**2", "--at", "x=1", "--backends", "reverse,nope"],
])
def test_cli_bad_input_is_one_line_and_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_cli_default_order_is_3_for_one_variable_and_the_hessian_for_several(capsys):
    assert main(["derivatives", "x**3", "--at", "x=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_order"] == 3
    assert main(["derivatives", "x1*x2", "--at", "x1=1,x2=2", "--json", "--backends", "reverse"]) == 0
    assert [o["kind"] for o in json.loads(capsys.readouterr().out)["orders"]] == ["gradient", "hessian"]


def test_a_nan_error_has_no_correct_digits():
    from diffcompare.analysis.derivatives import correct_digits

    assert correct_digits(float("nan"), float("nan")) is None
    assert correct_digits(None, float("nan")) is None


def test_the_reverse_hessian_shows_its_cost_in_passes_like_the_other_rows(capsys, monkeypatch):
    """forward-over-reverse: one JVP of the gradient per input (n of them), all carried by one batched pass that
    sweeps f's recorded tape; the table said "2 passes" for it, and "4 passes" for forward-over-forward, when one
    pass ran."""
    from diffcompare.render import cost_text

    d = run("x1*x2 + x2 - log(x1)", (3.0, -4.0), 2, backends=["reverse", "forward"])
    rev, fwd = by(d, "reverse", 2), by(d, "forward", 2)
    assert (rev.evaluations, rev.passes, rev.tape_ops) == (2, 1, by(d, "reverse", 1).tape_ops)
    assert (fwd.evaluations, fwd.passes) == (4, 1) and (by(d, "forward", 1).evaluations, by(d, "forward", 1).passes) \
        == (2, 1)
    assert cost_text(rev) == "1 batched pass of 2 tangents, 4 tape ops"
    assert cost_text(fwd) == "1 batched pass of 4 tangents"
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["derivatives", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--backends", "reverse"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "│ reverse" in line]
    assert "4 tape ops" in rows[0] and "1 batched pass of 2 tangents, 4 tape ops" in rows[1] and "—" not in rows[1]


def test_forward_passes_are_the_passes_that_ran(monkeypatch, capsys):
    """The passes are counted (calls of f), not assumed: chunked directions show as several batched passes, one
    direction per pass as plain passes, and a derivative of one variable (nested duals, every order) as 1 pass."""
    from diffcompare.render import cost_text, passes_text

    expr = "x1*x2 + x2*x3 - log(x1)"
    point = (3.0, -4.0, 2.0)
    monkeypatch.setattr("diffcompare.ad.transforms.BATCH_ELEMENTS", 6)  # 6 // 3 = 2 directions per pass
    g = by(run(expr, point, 1, backends=["forward"]), "forward", 1)
    assert (g.evaluations, g.passes, cost_text(g)) == (3, 2, "3 tangents in 2 batched passes")
    monkeypatch.setattr("diffcompare.ad.transforms.BATCH_ELEMENTS", 3)  # one direction per pass
    g = by(run(expr, point, 1, backends=["forward"]), "forward", 1)
    assert (g.evaluations, g.passes, cost_text(g)) == (3, 3, "3 passes")
    d3 = by(run("sin(x)*exp(x)", (0.5,), 3, backends=["forward"]), "forward", 3)
    assert (d3.evaluations, d3.passes, cost_text(d3)) == (1, 1, "1 pass")
    assert passes_text(5, None) == "5 passes"  # not counted (a result made before passes were): as it was
    assert main(["derivatives", expr, "--at", "x1=3,x2=-4,x3=2", "--order", "1", "--backends", "forward",
                 "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["orders"][0]["results"]
    assert (result["evaluations"], result["passes"]) == (3, 3)
