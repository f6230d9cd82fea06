"""The symbolic backend: exact derivatives of the traced function, its limits, and the reference."""

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from diffcompare.backends.finite import FiniteDifferences, default_step
from diffcompare.backends.symbolic import Symbolic, reference, trace
from diffcompare.errors import DomainError, Unsupported


def lecture(x1, x2):
    return x1 * x2 + x2 - np.log(x1)


def test_lecture_value_and_exact_gradient():
    sy = Symbolic()
    assert round(sy.gradient(lecture, (2.0, 4.0)).value, 3) == 11.307
    r = sy.gradient(lecture, (3.0, -4.0))
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert list(r.expression) == [x2 - 1 / x1, x1 + 1]  # symbols named after the parameters
    # the exact values -13/3 and 4, rounded once to float
    assert r.derivative.tolist() == [-13 / 3, 4.0]
    assert r.expression_size == sympy.count_ops(r.expression)


def test_partial_in_x2_at_3_minus_4_is_exactly_4():
    r = Symbolic().derivative(lambda x2: lecture(3.0, x2), -4.0)
    assert r.derivative == 4.0


def test_cube_derivatives_of_order_1_2_3_are_exact():
    sy = Symbolic()
    assert [sy.derivative(lambda x: x**3, 2.0, k).derivative for k in (1, 2, 3)] == [12.0, 12.0, 6.0]
    x = sympy.Symbol("x", real=True)
    assert sy.derivative(lambda x: x**3, 2.0, 2).expression == 6 * x


def test_second_lecture_function():
    r = Symbolic().gradient(lambda x1, x2: x1**2 * x2 + np.sin(x1), (1.0, 2.0))
    assert round(r.value, 4) == 2.8415
    np.testing.assert_allclose(r.derivative, [4 + np.cos(1.0), 1.0], rtol=1e-15)  # one rounding each
    assert round(float(r.derivative[0]), 4) == 4.5403


def test_branch_on_a_traced_array_is_unsupported():
    def f(a):
        b = a * 2
        return b if b.sum() > 0 else 100 * b

    with pytest.raises(Unsupported, match="cannot decide `if`/`while`"):
        Symbolic().jacobian(f, np.array([1.0, 2.0]))


def test_float_of_a_symbol_is_unsupported():
    with pytest.raises(Unsupported):
        Symbolic().derivative(lambda x: float(x) * 2, 1.0)


def test_unknown_ufunc_is_unsupported_and_named():
    with pytest.raises(Unsupported, match="floor"):
        Symbolic().derivative(lambda x: np.floor(x) + x, 1.5)


def test_log_at_a_negative_point_is_a_domain_error():
    with pytest.raises(DomainError):
        Symbolic().derivative(np.log, -1.0)
    with pytest.raises(DomainError):
        reference(np.log, -1.0, "derivative")


def test_array_arguments_get_one_symbol_per_element():
    tr = trace(lambda v: np.sum(v**2), np.array([1.0, 2.0, 3.0]))
    assert [str(s) for s in tr.symbols] == ["v_0", "v_1", "v_2"]


def test_jacobian_and_hessian_have_the_documented_shapes():
    sy = Symbolic()

    def vec(x):
        return np.array([x[0] * x[1], np.sin(x[0]), np.tanh(x[2]), np.dot(x, x)])

    r = sy.jacobian(vec, np.array([1.0, 2.0, 3.0]))
    assert r.derivative.shape == (4, 3) and r.expression.shape == (4, 3)
    r = sy.jacobian(lambda x, y: np.array([x * y, np.sin(x), x + y]), (1.0, 2.0))
    assert r.derivative.shape == (3, 2)
    r = sy.hessian(lambda M: np.sum(M**3) + M[0, 0] * M[1, 1], np.ones((2, 2)))
    assert r.derivative.shape == (2, 2, 2, 2) and r.expression.shape == (4, 4)
    r = sy.hessian(lecture, (3.0, -4.0))
    assert r.derivative.shape == (2, 2)
    np.testing.assert_allclose(r.derivative, [[1 / 9, 1], [1, 0]], rtol=1e-15)


def test_reference_agrees_with_the_exact_derivative_to_40_digits():
    x = 0.1  # not a binary fraction: the reference must use its exact binary value, not 1/10
    _value, d2 = reference(lambda t: np.sin(t) * np.exp(t), x, "derivative", order=2, digits=50)
    t = sympy.Symbol("t")
    exact = sympy.diff(sympy.sin(t) * sympy.exp(t), t, 2).subs(t, sympy.Rational(x))  # Rational(x) is exact
    with mpmath.workdps(60):
        exact = mpmath.mpf(sympy.N(exact, 60)._mpf_)
        assert abs((d2 - exact) / exact) < mpmath.mpf(10) ** -40
    _grad_value, grad = reference(lecture, (3.0, -4.0))
    with mpmath.workdps(60):
        assert abs(grad[0] - mpmath.mpf(-13) / 3) < mpmath.mpf(10) ** -45
        assert grad[1] == 4


def test_simplify_option_shrinks_or_keeps_the_expression():
    def f(x):
        return np.sin(x) ** 2 + np.cos(x) ** 2 + x

    plain = Symbolic().derivative(f, 0.5)
    simple = Symbolic(simplify=True).derivative(f, 0.5)
    assert simple.expression == 1 and simple.expression_size <= plain.expression_size


_UNARY = [np.sin, np.cos, np.exp, np.tanh, np.arctan, lambda t: t**2, lambda t: t**3, lambda t: 1 + t]


@st.composite
def compositions(draw):
    """Random compositions of smooth functions with polynomial coefficients, plus the point."""
    ops = draw(st.lists(st.sampled_from(range(len(_UNARY))), min_size=1, max_size=4))
    coeffs = draw(st.lists(st.integers(-3, 3), min_size=3, max_size=3))
    x = draw(st.floats(-1.5, 1.5, allow_nan=False))

    def f(t):
        u = coeffs[0] + coeffs[1] * t + coeffs[2] * t**2
        for i in ops:
            u = _UNARY[i](u) * 0.5  # keep the composition's growth (and its derivatives) moderate
        return u + t

    return f, x


@settings(max_examples=15, deadline=None)
@given(compositions())
def test_central_differences_agree_with_the_symbolic_derivative(case):
    """15 random compositions in the default run (about 1 s); the long run draws 100."""
    _central_agrees_with_symbolic(case)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(compositions())
def test_central_differences_agree_with_the_symbolic_derivative_long(case):
    _central_agrees_with_symbolic(case)


def _central_agrees_with_symbolic(case):
    f, x = case
    try:  # exp of exp of ... can overflow at the drawn point: nothing to compare there
        exact = Symbolic().derivative(f, x).derivative
    except DomainError:
        assume(False)
    approx = FiniteDifferences("central").derivative(f, x).derivative
    # central differences: truncation h^2/6 |f'''(x)| plus rounding / h, with the backend's
    # h = eps^(1/3) max(|x|, 1). The rounding of f is relative to its intermediate values, not to
    # |f|: each of the <= 10 operations rounds by eps times operands of size <= 1 + |f| + |x| here
    # (every stage is scaled by 0.5 and the functions are bounded or tamed by it). The bound uses the
    # exact third derivative at x (it barely changes over [x - h, x + h]); a factor 10 covers the
    # rounding of x +- h.
    h = default_step("central", x)
    _, third = reference(f, x, "derivative", order=3)
    eps = np.finfo(float).eps
    bound = h**2 / 6 * abs(float(third)) + 10 * eps * (1 + abs(f(x)) + abs(x)) / h
    assert abs(approx - exact) <= 10 * bound


# sympy's forms whose float64 evaluation over/underflows in between although the derivative is a normal float:
# (function text, variables, point, index of the gradient entry, condition number). The backend evaluates in
# 53-bit arithmetic with no exponent limit, so each is within a few ulps times the condition number of the exact
# value (in float64 they were 0, rel err 2.9e-12, 0, -0, 0).
_TAILS = [("sigmoid(x)", ["x"], [-400.0], 0, 1),        # exp(-x)/(1 + exp(-x))**2: the square overflows
          ("sigmoid(x)", ["x"], [-360.0], 0, 1),        # ... is subnormal
          # y*x**y/x: x**y underflows; the rounding of y = arctan(z) is amplified by |y log x| = 795
          ("x**arctan(z)", ["x", "z"], [1.691579423298529e-290, 2.51], 0, 795),
          ("arctan(x)", ["x"], [1e100], None, 1),       # arctan'' = -2x/(1 + x**2)**2: the square overflows
          ("tanh(x)", ["x"], [20.0], 0, 1)]             # 1 - tanh**2 cancels: taken as sech**2


@pytest.mark.parametrize("text, names, point, i, cond", _TAILS)
def test_symbolic_evaluation_has_no_intermediate_overflow(text, names, point, i, cond):
    from diffcompare.parse import compile_expression

    f = compile_expression(text, names).function
    if i is None:  # the second derivative
        got = Symbolic().derivative(f, point[0], order=2).derivative
        exact = reference(f, point[0], "derivative", order=2)[1]
    else:
        got = np.ravel(Symbolic().gradient(f, tuple(point)).derivative)[i]
        exact = np.ravel(reference(f, tuple(point), "gradient")[1])[i]
    # each of the <= 8 operations of these expressions rounds once to 53 bits: 8 ulps times the condition number
    assert got != 0 and abs(mpmath.mpf(got) - exact) <= 8 * cond * np.finfo(float).eps * abs(exact), (got, exact)


def test_symbolic_rounds_only_the_final_value_to_float64():
    """sigmoid' at -800 is 3.7e-348: the nearest float is 0 (float64 in between gave inf/inf = nan)."""
    from diffcompare.parse import compile_expression

    f = compile_expression("sigmoid(x)", ["x"]).function
    assert Symbolic().derivative(f, -800.0).derivative == 0.0


@pytest.mark.parametrize("f, x, want", [
    (np.sqrt, 0.0, np.inf),                       # 0**-0.5 is inf, as numpy's
    (np.arcsin, 1.0, np.inf),                     # 1/sqrt(1 - x**2) at 1
    (lambda x: x**3, 0.0, 0.0),
])
def test_symbolic_keeps_ieee_rules_at_poles(f, x, want):
    got = Symbolic().derivative(f, x).derivative
    assert (np.isnan(got) and np.isnan(want)) or got == want, got


def test_symbolic_refuses_nan_where_the_derivative_is_a_number():
    """sin(x)/(2 sqrt(x)) at 0 is 0 * inf = nan in floats, but the derivative (from the right, where f is
    defined) is 0: nan is no derivative, so the backend refuses with the exact value (it returned nan)."""
    with pytest.raises(Unsupported, match="to nan in floats.*exact value is 0"):
        Symbolic().derivative(lambda x: np.sin(x) * np.sqrt(x), 0.0)


@pytest.mark.parametrize("text, x, want", [
    ("expm1(x)**(pi**x)", 4e-208, 1.0),            # was nan: log(exp(x) - 1) = log(0) at 53 bits
    ("expm1(x)**(pi**x)", 3.2e-208, 1.0),
    ("log(expm1(x))", 1e-300, 1e300),              # exp(x)/(exp(x) - 1): was inf
    ("log(3*expm1(x))", 1e-300, 1e300),            # 3 exp(x) - 3, sympy's distributed form
    ("log(log1p(x))", 1e-300, 1e300),              # 1/((1 + x) log(1 + x)): was inf
])
def test_symbolic_evaluates_traced_expm1_and_log1p_without_cancellation(text, x, want):
    """numpy's expm1/log1p are traced as exp(u) - 1 and log(1 + u) (sympy has neither); evaluated literally at
    53 bits they cancel to 0 for tiny u, and the derivative came out nan or inf where it is a plain number."""
    from diffcompare.parse import compile_expression

    f = compile_expression(text, ["x"]).function
    got = Symbolic().derivative(f, x).derivative
    exact = float(reference(f, x, "derivative")[1])
    assert abs(exact - want) <= 1e-15 * abs(want)
    assert abs(got - exact) <= 4 * np.finfo(float).eps * abs(exact), (got, exact)


def test_symbolic_refuses_a_non_finite_float_evaluation_of_a_finite_derivative():
    """An intermediate that cancels to 0 (no rule for it) makes inf or nan; the exact value is a float there, so
    the backend says it has no number instead of presenting inf/nan as the derivative."""
    from diffcompare.backends.float53 import values

    x = sympy.Symbol("x", real=True)
    expr = (sympy.exp(x) + sympy.exp(-x)) / (sympy.exp(x) - sympy.exp(-x))  # coth(x): 1e300 at 1e-300
    with pytest.raises(Unsupported, match="exact value is 1.0e"):
        values([expr], {x: 1e-300})
    assert values([expr], {x: 1.0})[0] == pytest.approx(1 / np.tanh(1.0), rel=1e-15)
