"""The exact reference (issue 11, items 1-3 and the reference's part of 6): exact zeros, exact literals,
infinite derivatives, a budget, and the commands that used to crash on them."""

import json
import math
import re

import mpmath
import numpy as np
import pytest

from diffcompare.analysis.compare import compare, error_against
from diffcompare.analysis.derivatives import derivatives
from diffcompare.analysis.error_vs_h import error_vs_h
from diffcompare.backends.symbolic import Symbolic, exact_reference
from diffcompare.cli import main
from diffcompare.parse import compile_expression


def fn(text, names=None):
    return compile_expression(text, names).function if names else compile_expression(text).function


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def horner(degree):
    text = "x"
    for _ in range(degree):
        text = f"({text}+1)*x"
    return text


# -- 1. exact zeros ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, x, method", [
    ("4*x*(1-x)", 0.5, "exact zero (interval)"),  # was 1.1e-159
    ("exp(x**2 - 2*x)", 1.0, "exact zero (interval)"),
    ("(x-1)**2", 1.0, "exact zero (interval)"),
    ("x/abs(x)", -3.0, "exact zero (sympy)"),  # 1/3 - 1/3: the enclosure straddles 0, sympy decides (was 7.1e-161)
])
def test_an_exact_zero_derivative_is_exactly_zero_and_measured_absolutely(text, x, method):
    c = compare(fn(text), x)
    assert c.reference_derivative == 0 and c.reference_method == method
    for row in c.rows:
        assert row.rel_error is None  # relative to 0 means nothing
    reverse = next(r for r in c.rows if r.backend == "reverse")
    assert reverse.result.derivative == 0 and reverse.abs_error == 0.0


def test_an_exact_zero_value_is_exactly_zero():
    r = exact_reference(fn("sqrt(1-x**2)"), 1.0, "derivative")  # f was 9.3e-83
    assert r.value == 0


def test_derivatives_score_an_exact_zero_first_derivative_by_absolute_error():
    d = derivatives(fn("x**2 - 2*x"), 1.0, 2)
    assert d.reference[1] == 0 and d.reference[2] == 2
    for e in d.at(1):
        if e.backend in ("reverse", "forward", "symbolic"):
            assert e.value == 0 and e.rel_error is None and e.digits == 16.0  # was "digits 0.0"


def test_error_vs_h_measures_absolute_errors_against_an_exact_zero():
    r = error_vs_h(fn("(x-1)**2"), 1.0, h_min=1e-8, h_max=1e-1, points=8, schemes=["central"])
    assert r.reference == 0
    for line in r.references:  # reverse AD and symbolic: exactly 0 (the rel err was 2.2e143)
        assert line.abs_error == 0.0 and line.rel_error is None


def test_compare_json_gives_null_relative_errors_and_the_method(capsys):
    code, out, _ = run(capsys, "compare", "4*x*(1-x)", "--at", "x=0.5", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["reference"]["derivative"] == 0
    assert doc["reference"]["method"] == "exact zero (interval)"
    assert all(r["rel_error"] is None and r["abs_error"] == 0 for r in doc["results"])


# -- 2. exact literals ------------------------------------------------------------------------------


def _close(a, b, digits=45):
    with mpmath.workdps(80):
        return abs(mpmath.mpf(a) - b) <= abs(b) * mpmath.mpf(10) ** -digits


def test_literals_enter_the_reference_as_their_exact_binary_values():
    # the same derivatives by hand in mpmath at 60+ digits, on mpf(float) literals (exact binary values)
    with mpmath.workdps(80):
        c = mpmath.mpf(0.5)
        want = mpmath.cos(mpmath.exp(10 + c)) * mpmath.exp(10 + c)
    got = exact_reference(fn("sin(exp(x+0.5))"), 10.0, "derivative").derivative
    assert _close(got, want)  # sympy's Float(exp(0.5)) made this 3.9e-12 off
    with mpmath.workdps(80):
        c, z = mpmath.mpf(1.3), mpmath.mpf(0.7)
        want = mpmath.sec(z / c) ** 2 / c
    assert _close(exact_reference(fn("tan(z/1.3)", ["z"]), 0.7, "derivative").derivative, want)
    with mpmath.workdps(80):
        c, x = mpmath.mpf(2.719), mpmath.mpf(0.3)
        want = -mpmath.sin(mpmath.exp(x + c)) * mpmath.exp(x + c)
    assert _close(exact_reference(fn("cos(exp(x+2.719))"), 0.3, "derivative").derivative, want)
    with mpmath.workdps(80):
        x = mpmath.mpf(1.7)
        want = mpmath.mpf(-3.0) * x ** -4
    assert _close(exact_reference(fn("x**-3."), 1.7, "derivative").derivative, want)


def test_a_derivative_that_cancels_212_digits_is_right():
    x0 = -15.668912993466988
    with mpmath.workdps(80):
        x = mpmath.mpf(x0)
        want = 2 * x * mpmath.sech(x * x) ** 2  # no cancellation in this form: -7.0e-212
    r = exact_reference(fn("tanh(x*x)"), x0, "derivative")
    assert r.method == "interval" and _close(r.derivative, want)  # was -5.4e-166
    assert -7.1e-212 < float(r.derivative) < -7.0e-212


# -- 3. infinite derivatives ------------------------------------------------------------------------


@pytest.mark.parametrize("text, x, sign", [
    ("arcsin(x)", 1.0, 1), ("arccos(x)", -1.0, -1), ("sqrt(1-x*x)", 1.0, -1), ("sqrt(x)", 0.0, 1),
])
def test_an_infinite_derivative_is_that_infinity_and_agrees_with_the_matching_backends(text, x, sign):
    c = compare(fn(text), x)
    assert c.reference_derivative == sign * mpmath.inf and "one-sided limit" in c.reference_method
    rows = {r.backend: r for r in c.rows}
    assert rows["symbolic"].result.derivative == sign * math.inf  # was 8.6e68 for arcsin
    for name in ("reverse", "forward", "symbolic"):
        assert rows[name].abs_error == 0.0 and rows[name].rel_error == 0.0  # was "error inf"


def test_a_derivative_with_different_one_sided_limits_is_undefined():
    r = exact_reference(fn("sqrt(abs(x))"), 0.0, "derivative")  # +inf from the right, -inf from the left
    assert mpmath.isnan(r.derivative) and r.method == "undefined: kink, one-sided -inf / +inf"
    assert error_against(r.derivative, 0.0) == (None, None)


def test_values_approaching_a_pole_give_its_sign_on_the_side_that_exists():
    import sympy as sp

    from diffcompare.backends.exact import _approach

    x = sp.Symbol("x", real=True)
    expr = -x / sp.sqrt(1 - x**2)  # sqrt(1-x*x)' at 1
    assert _approach(expr, x, {x: 1.0}, -1) is -sp.oo
    assert _approach(expr, x, {x: 1.0}, +1) is None  # not real right of 1: no side there
    assert _approach(sp.sin(1 / x), x, {x: 0.0}, +1) is sp.nan  # bounded and oscillating: no verdict


@pytest.mark.slow
def test_where_sympy_limit_is_too_slow_the_values_approaching_the_point_decide():
    r = exact_reference(fn("abs(tan(sin(arccos(x))))"), 1.0, "derivative")  # sympy's limit ran > 20 s
    assert r.derivative == -mpmath.inf and r.method == "infinite (one-sided, values approaching the point)"


def test_error_against_an_infinite_reference():
    inf = mpmath.inf
    assert error_against(inf, math.inf) == (0.0, 0.0)
    assert error_against(inf, -math.inf) == (math.inf, math.inf)
    assert error_against(inf, 1e300) == (math.inf, math.inf)


def test_an_infinite_gradient_entry_is_shown(capsys):
    code, out, _ = run(capsys, "compare", "x1*x2 + sqrt(x1)", "--at", "x1=0,x2=1", "--backends", "reverse")
    assert code == 0 and out.count("[inf, 0]") == 1  # the reference (rich ate it as a tag)
    # the row: one labelled entry per line (issue 13 item 2)
    assert re.search(r"∂f/∂x1 +│ +inf +│", out) and re.search(r"∂f/∂x2 +│ +0 +│", out)


def test_no_exception_name_reaches_the_user(capsys):
    code, out, err = run(capsys, "compare", "sqrt(x)", "--at", "x=0")  # was "(ZeroDivisionError)"
    assert code == 0 and "Error" not in out + err and "inf" in out


def test_a_derivative_sympy_leaves_unevaluated_is_zero_away_from_the_step():
    f = fn("abs(log(x))")  # sympy keeps Derivative(sign(log(x)), x): 0 where log(x) != 0
    third = exact_reference(f, 1.5, "derivative", order=3)
    with mpmath.workdps(60):
        assert third.method == "interval" and _close(third.derivative, 2 / mpmath.mpf(1.5) ** 3)
    assert mpmath.isnan(exact_reference(f, 1.0, "derivative", order=2).derivative)  # a kink: undefined


# -- 6. no crash, no hang ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, x", [("x**0", "0"), ("arcsin(x)", "1"), ("log(x)", "1e-300"), ("x**2", "1e154")])
def test_second_derivatives_at_zero_or_infinite_references_do_not_crash(capsys, text, x):
    code, out, err = run(capsys, "derivatives", text, "--at", f"x={x}", "--order", "2")
    assert code == 0 and err == "", err  # was NoneType.__format__


def test_error_vs_h_on_a_zero_or_an_infinite_reference(capsys):
    code, _, err = run(capsys, "error-vs-h", "x**0", "--at", "x=0", "--no-plot")
    assert code == 0 and err == ""  # AD's nan is shown, not "not enough values to unpack"
    code, _, err = run(capsys, "error-vs-h", "arcsin(x)", "--at", "x=1", "--no-plot")
    assert code == 2 and err.count("\n") == 1 and "+inf" in err


def test_past_its_budget_the_reference_says_so_and_the_backends_still_run(capsys):
    c = compare(fn(horner(40)), 0.5, timeout=0.05)  # sympy needed > 900 s here before
    assert c.reference_derivative is None and c.reference_method == "timeout after 0.05 s"
    rows = {r.backend: r for r in c.rows}
    assert rows["reverse"].result.derivative == pytest.approx(4.0, rel=1e-9) and rows["reverse"].abs_error is None
    assert rows["symbolic"].result is None and rows["symbolic"].unsupported == "timeout after 0.05 s"
    code, out, err = run(capsys, "compare", horner(40), "--at", "x=0.5", "--timeout", "0.05", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["reference"]["method"] == "timeout after 0.05 s"
    assert all(r["abs_error"] is None and r["rel_error"] is None for r in doc["results"])
    code, out, err = run(capsys, "compare", horner(40), "--at", "x=0.5", "--timeout", "0.05")
    assert code == 0 and "reference: timeout after 0.05 s" in out


def test_derivatives_past_the_budget_still_show_every_backend(capsys):
    d = derivatives(fn(horner(40)), 0.5, 2, timeout=0.05)
    assert d.max_order == 2 and "reference: timeout after 0.05 s" in d.note
    reverse = [e for e in d.entries if e.backend == "reverse"]
    assert [e.value for e in reverse] == pytest.approx([4.0, 16.0], rel=1e-6)  # 1/(1-x)^2 and 2/(1-x)^3, nearly
    assert all(e.abs_error is None and e.digits is None for e in reverse)
    code, out, _ = run(capsys, "derivatives", horner(40), "--at", "x=0.5", "--order", "2", "--timeout", "0.05")
    assert code == 0 and "timeout after 0.05 s" in out


def test_infinite_reference_in_json(capsys):
    code, out, _ = run(capsys, "compare", "arcsin(x)", "--at", "x=1", "--json")
    ref = json.loads(out)["reference"]
    assert code == 0 and ref["derivative"] is None and ref["derivative_digits"] == "+inf"
    assert ref["method"] == "infinite (one-sided limit)"


def test_a_bad_timeout_is_refused(capsys):
    code, _, err = run(capsys, "compare", "x", "--at", "x=1", "--timeout", "0")
    assert code == 2 and "--timeout" in err


@pytest.mark.slow
@pytest.mark.parametrize("degree", [40, 60])
def test_deep_horner_polynomials_finish_without_recursion_error(degree):
    c = compare(fn(horner(degree)), 0.7, timeout=120)  # ~2 s of CPU; a generous wall-clock budget for a busy machine
    assert c.reference_method == "interval"  # degree 60 ended in RecursionError
    assert all(r.rel_error is not None and r.rel_error < 1e-8 for r in c.rows)


def test_cube_root_of_a_negative_number_is_real_as_in_numpy():
    r = exact_reference(np.cbrt, -8.0, "derivative")  # sympy's cbrt is the complex principal root
    with mpmath.workdps(80):
        assert r.value == -2 and _close(r.derivative, mpmath.mpf(1) / 12)
    assert Symbolic().derivative(np.cbrt, -8.0).derivative == pytest.approx(1 / 12, rel=1e-15)


def test_the_symbolic_backend_never_returns_finite_garbage_at_a_pole():
    assert Symbolic().derivative(np.arcsin, 1.0).derivative == math.inf
    assert Symbolic().derivative(lambda x: np.sqrt(1 - x * x), 1.0).derivative == -math.inf


def test_reference_of_tanh_far_in_its_tail_at_every_order():
    """tanh(x**3) at 20: sympy's 1 - tanh**2 (tanh**2 - 1 at order 2) cancels 6948 digits, beyond the intervals'
    4096 bits; evaluated as sech**2 each order is proved (it was nan, after 119 s of sympy at order 2)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import mpref

    f = compile_expression("tanh(x**3)", ["x"]).function
    want = mpref.reference("tanh(x**3)", ["x"], [20.0], order=3)  # independent: Taylor series in mpmath
    for k in (1, 2, 3):
        r = exact_reference(f, 20.0, kind="derivative", order=k)
        assert r.method == "interval"
        with mpmath.workprec(mpref.PREC):
            assert abs(r.derivative - want.orders[k]) <= 1e-45 * abs(want.orders[k]), (k, r.derivative)


# -- kinks: sympy's abs'(0) = sign(0) = 0 is a convention, not a proved value (fixa item 2) -----------


@pytest.mark.parametrize("text, x, order, expected", [
    ("abs(x)", 0.0, 1, "undefined: kink, one-sided -1 / +1"),
    ("abs(x - 1)", 1.0, 1, "undefined: kink, one-sided -1 / +1"),
    ("abs(sin(x))", 0.0, 1, "undefined: kink, one-sided -1 / +1"),
    ("2*abs(x) + x", 0.0, 1, "undefined: kink, one-sided -1 / +3"),
    ("abs(x)", 0.0, 2, "undefined: kink (order 1), one-sided -1 / +1"),  # f'' needs f' first
    ("abs(x)*x", 0.0, 2, "undefined: kink, one-sided -2 / +2"),
    ("abs(abs(x) - 1)", 1.0, 1, "undefined: kink, one-sided -1 / +1"),  # the outer kink at x = 1
])
def test_a_kink_has_no_reference_value(text, x, order, expected):
    r = exact_reference(fn(text), x, "derivative", order=order)
    assert mpmath.isnan(r.derivative) and r.method == expected


@pytest.mark.parametrize("text, order, value", [
    ("abs(x)*x", 1, 0),  # both sides 0: the derivative exists
    ("abs(x)**3", 1, 0),
    ("abs(x)**3", 2, 0),
    ("abs(x*x*x)*x", 1, 0),
    ("abs(x)*x + 3*x", 1, 3),
    ("abs(sin(x)**2)", 2, 2),  # the argument's first derivative is 0 too: its second decides the sides (both +)
])
def test_a_kink_whose_sides_agree_has_its_value(text, order, value):
    r = exact_reference(fn(text), 0.0, "derivative", order=order)
    assert r.derivative == value and "undefined" not in r.method


KINKS = [("abs(x)", 0.0, 1), ("abs(x - 1)", 1.0, 1), ("abs(sin(x))", 0.0, 1), ("2*abs(x) + x", 0.0, 1),
         ("abs(x)*x", 0.0, 2), ("abs(abs(x) - 1)", 1.0, 1), ("abs(x)*x", 0.0, 1), ("abs(x)**3", 0.0, 1),
         ("abs(x)**3", 0.0, 2), ("abs(x*x*x)*x", 0.0, 1), ("abs(x)*x + 3*x", 0.0, 1), ("abs(x*x - 2*x)", 2.0, 1),
         ("abs(x*x - 2*x)*x", 0.0, 1), ("abs(exp(x) - 1)", 0.0, 1), ("x*abs(sin(x)) + cos(x)", 0.0, 2),
         ("abs(x**3 - x)", -1.0, 1), ("abs(tanh(x))*sin(x)", 0.0, 1), ("abs(log(x))", 1.0, 1)]


@pytest.mark.parametrize("text, x, order", KINKS)
def test_kink_verdicts_agree_with_the_independent_one_sided_limits(text, x, order):
    """The reference's kink verdict (a value where the one-sided derivatives agree, undefined where they differ)
    against tests/mpref.py's one-sided Taylor series, which shares no code with it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import mpref

    sides = [mpref.reference(text, ["x"], [x], order=order, side=side) for side in (-1, 1)]
    left, right = (s.grad[0] if order == 1 else s.orders[order] for s in sides)
    r = exact_reference(fn(text), x, "derivative", order=order)
    with mpmath.workprec(mpref.PREC):
        if left == right:
            assert r.derivative == left and "undefined" not in r.method
        else:
            assert mpmath.isnan(r.derivative) and "one-sided" in r.method, r.method
            assert [mpmath.mpf(v) for v in r.method.split("one-sided ")[1].split(" / ")] == [left, right]


def test_a_kink_in_one_variable_leaves_the_other_partial_alone():
    r = exact_reference(fn("abs(x1) + x1*x2", ["x1", "x2"]), (0.0, 5.0), "gradient")
    assert mpmath.isnan(r.derivative[0]) and r.derivative[1] == 0
    assert "undefined: kink, one-sided +4 / +6" in r.method
    h = exact_reference(fn("abs(x1)**3 + x1*x2", ["x1", "x2"]), (0.0, 5.0), "hessian")
    assert h.derivative[0, 0] == 0 and mpmath.isnan(h.derivative[0, 1])  # mixed at a kink: not decided
    assert h.derivative[1, 1] == 0


def test_compare_at_a_kink_measures_no_backend_against_a_made_up_zero(capsys):
    """abs(x) at 0: the caption claimed "exact zero (interval): 0" and reverse AD (1, JAX's convention) was red."""
    code, out, _ = run(capsys, "compare", "abs(x)", "--at", "x=0", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["reference"]["method"] == "undefined: kink, one-sided -1 / +1"
    assert doc["reference"]["derivative"] is None
    assert all(r["abs_error"] is None for r in doc["results"])
    code, out, _ = run(capsys, "compare", "abs(x)", "--at", "x=0")
    assert "reference derivative: undefined: kink, one-sided -1 / +1; no errors measured" in " ".join(out.split())
    assert "exact zero" not in out


def test_error_vs_h_at_a_kink_says_the_derivative_does_not_exist(capsys):
    code, _, err = run(capsys, "error-vs-h", "abs(x)", "--at", "x=0")
    assert code == 2 and "does not exist (undefined: kink, one-sided -1 / +1)" in err
