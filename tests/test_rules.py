"""Derivative rules that keep their digits, and stay right at kinks and zeros at every order.

Issue 11 items 4-5 and issue 12 item 6. Each primitive's derivatives of orders 1-3 are checked against
mpmath at 160 digits, at extreme arguments, in reverse mode, forward mode and mixed nestings; the
conventions at kinks (README, "Conventions at non-differentiable points") hold in forward and reverse
mode alike and when differentiated again; prod's rule at zero factors is right at orders 2 and 3.
"""

from __future__ import annotations

import functools
import math

import mpmath as mp
import numpy as np
import pytest

import diffcompare as dc
from diffcompare import ad, backends

EPS = 2.0**-52


def _reference(fn, x: float, order: int, scale: float) -> mp.mpf:
    """d^order fn / dx^order at the float x, by central differences at 160 digits with step scale * 1e-40.

    ``scale`` is the distance over which fn changes (|x|, or the distance to a singularity): the
    truncation error is ~(1e-40)^2 relative and the rounding error ~1e-160 / 1e-40^3: far below 1e-30.
    """
    with mp.workdps(160):
        return mp.diff(fn, mp.mpf(x), order, h=mp.mpf(scale) * mp.mpf(10) ** -40)


def _ulps(value: float, exact: mp.mpf) -> float:
    """|value - exact| in units of the double spacing at exact (so 1.0 is one rounding's worth, twice)."""
    exact_f = float(exact)
    assert exact_f != 0.0 and math.isfinite(exact_f), "choose points where the derivative is a normal float"
    with mp.workdps(40):
        return float(abs(mp.mpf(value) - exact) / abs(exact)) / EPS


# (name, the function as the engine sees it, the same in mpmath, points, scale of each point)
# Points are extreme where the old rules lost digits: tanh/sigmoid where they round to +-1, expm1 where
# it rounds to -1, arcsin/arccos next to +-1, powers with exponents whose y - 1 is not a float.
CASES = [
    ("exp", np.exp, mp.exp, [-700.0, -20.0, 0.5, 700.0]),
    ("log", np.log, mp.log, [1e-300, 1e-5, 1.0 + 2**-40, 1e300]),
    ("log1p", np.log1p, mp.log1p, [-1 + 2**-40, -0.5, 1e-20, 1e300]),
    ("expm1", np.expm1, mp.expm1, [-700.0, -40.0, -1e-20, 1e-10, 700.0]),
    ("sin", np.sin, mp.sin, [1e-20, 3.0, 1e5]),
    ("cos", np.cos, mp.cos, [1e-3, 1.5, 1e5]),
    ("tan", np.tan, mp.tan, [1e-20, 1.5, 1.5707963]),
    ("tanh", np.tanh, mp.tanh, [-350.0, -20.0, -1e-10, 0.3, 9.76, 20.0, 300.0]),
    ("sinh", np.sinh, mp.sinh, [-700.0, 1e-10, 700.0]),
    ("cosh", np.cosh, mp.cosh, [-700.0, 1e-3, 700.0]),
    ("arcsin", np.arcsin, mp.asin, [-1 + 2**-40, -0.7, 1e-10, 0.5, 1 - 2**-30]),
    ("arccos", np.arccos, mp.acos, [-1 + 2**-40, -0.5, 1e-10, 0.7, 1 - 2**-30]),
    ("arctan", np.arctan, mp.atan, [-1e150, -1e-10, 1.0, 1e100]),
    ("sqrt", np.sqrt, mp.sqrt, [1e-300, 2.0, 1e300]),
    ("reciprocal", np.reciprocal, lambda t: 1 / t, [-1e-100, 3.0, 1e100]),
    ("sigmoid", dc.sigmoid, lambda t: 1 / (1 + mp.exp(-t)), [-700.0, -40.0, -1e-10, 0.3, 40.0, 700.0]),
    ("x**0.1", lambda x: x**0.1, lambda t: t ** mp.mpf(0.1), [1e-300, 0.3, 1e300]),
    ("x**-0.1", lambda x: x**-0.1, lambda t: t ** mp.mpf(-0.1), [1e-250, 7.0, 1e250]),
    ("x**(1/3)", lambda x: x ** (1 / 3), lambda t: t ** mp.mpf(1 / 3), [1e-200, 1e200]),
    ("x**-3", lambda x: x**-3.0, lambda t: t**-3, [1e-60, 0.5, 1e60]),
    ("x**2.5", lambda x: x**2.5, lambda t: t ** mp.mpf(2.5), [1e-100, 3.0, 1e100]),
    ("2**x", lambda x: 2.0**x, lambda t: mp.mpf(2) ** t, [-1000.0, 0.5, 1000.0]),
]

SCALES = {"log1p": lambda x: abs(1 + x), "arcsin": lambda x: min(abs(x), 1 - abs(x)),
          "arccos": lambda x: min(abs(x), 1 - abs(x)), "tan": lambda x: min(abs(x), abs(math.pi / 2 - x))}


def _scale(name: str, x: float) -> float:
    return SCALES.get(name, lambda v: max(abs(v), 1.0) if abs(v) > 1 else max(abs(v), 1e-300))(x)


def _on_arrays(ad, f, n: int):
    """The n-th derivative of f through the general (array) rules, not the scalar fast path: f applied
    to a one-element array, reverse over reverse (each order differentiates the sum of the last)."""
    d = lambda v: np.sum(f(v))  # noqa: E731
    for _ in range(n):
        d = (lambda inner: lambda v: np.sum(ad.grad(inner)(v)))(d)
    return lambda x: d(np.array([x]))


MODES = {
    "reverse": lambda ad, f, n: ad.derivative(f, n, "reverse"),
    "forward": lambda ad, f, n: ad.derivative(f, n, "forward"),
    "array-reverse": _on_arrays,
}

# Each rule is a product of a few (<= 4) correctly rounded or libm (<= 1 ulp) operations; the chain
# rule multiplies by 1; so first derivatives are within ~4 ulps (8 with margin: libm's cosh/exp can be
# 1 ulp off, and the exact value's float is itself up to half an ulp away). Each further order applies
# the rules to the previous rule's few operations (product rule: sums of terms of one sign at these
# points), so ~3x the operations per order: 24 and 64 ulps. The old rules were off by 1e15 ulps and more
# (0 for 1.7e-17) and by ~100 ulps for x**0.1 at 1e300.
ULPS = {1: 8, 2: 24, 3: 64}


@functools.lru_cache(maxsize=None)
def _exact(name: str, x: float, order: int) -> mp.mpf:
    mpf = next(c[2] for c in CASES if c[0] == name)
    return _reference(mpf, x, order, _scale(name, x))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name, f, mpf, points", CASES, ids=[c[0] for c in CASES])
@pytest.mark.jit_slow(default=lambda p: p["order"] == 1)
def test_rules_match_a_160_digit_reference_at_extreme_arguments(ad, name, f, mpf, points, order, mode):
    for x in points:
        exact = _exact(name, x, order)
        ef = float(exact)
        if ef == 0.0 or not math.isfinite(ef) or abs(ef) < 2.2250738585072014e-308:
            continue  # the exact value is not a normal float at this order: nothing to compare in ulps
        with np.errstate(all="ignore"):
            got = float(MODES[mode](ad, f, order)(x))
        assert _ulps(got, exact) <= ULPS[order], (name, x, order, mode, got, mp.nstr(exact, 20))


@pytest.mark.parametrize("f, x, exact", [
    (np.tanh, 20.0, 1.6993417021166355e-17),
    (dc.sigmoid, 40.0, 4.248354255291589e-18),
    (np.expm1, -40.0, 4.248354255291589e-18),
])
def test_the_issue_examples_keep_their_digits_in_every_mode(ad, f, x, exact):
    for df in (ad.grad(f), ad.jacfwd(f), ad.jacrev(f), ad.derivative(f, 1, "forward")):
        assert df(x) == pytest.approx(exact, rel=8 * EPS)  # was 0.0: see ULPS
    for name in ("reverse", "forward"):
        r = backends.get(name).derivative(f, x)
        assert r.derivative == pytest.approx(exact, rel=8 * EPS)


def test_a_power_whose_partial_underflows_is_as_exact_as_floats_allow(ad):
    """d/dx exp(x)^-3 at 200 is -3 e^-600 = -7.95e-261, but reverse mode must pass through the adjoint of
    exp(x), -3 (e^200)^-4 = -3 e^-800, below the smallest float (4.9e-324): any reverse pass in float64
    gets -0 there; only a scaled number format could do better. Where the partial itself is a normal
    float the rule is exact to a few ulps (the table above); here, it is the right sign of zero."""
    g = ad.grad(lambda x: np.exp(x) ** -3.0)(200.0)
    assert g == 0.0 and math.copysign(1.0, g) == -1.0
    assert ad.grad(lambda x: np.exp(x) ** -3.0)(100.0) == pytest.approx(-3 * math.exp(-300), rel=8 * EPS)


def test_scalar_fast_path_and_general_rules_give_the_same_bits(ad):
    """The scalar fast path computes its own partials: they must be the table's, bit for bit."""
    for f, xs in ((np.tanh, (-20.0, 0.3, 19.5, 300.0)), (lambda x: x**0.1, (1e-300, 3.0, 1e300)),
                  (lambda x: x**-3.0, (1e-60, 2.0)), (lambda x: x**2.5, (3.0,))):
        for x in xs:
            fast = ad.grad(f)(x)
            general = ad.grad(lambda v, f=f: np.sum(f(v)))(np.array([x]))[0]
            forward = ad.jacfwd(f)(x)
            assert fast == general == forward, (f, x)


BINARY = [  # (name, f(x, y), the same in mpmath, points): both partial derivatives, at extreme arguments
    ("div", lambda x, y: x / y, lambda x, y: x / y, [(1e-300, 1e10), (3.0, 7.0), (1e300, 1e-5)]),
    ("mul", lambda x, y: x * y, lambda x, y: x * y, [(1e-200, 1e150), (-3.0, 7.0)]),
    ("pow", lambda x, y: x**y, lambda x, y: x**y, [(1e300, 0.1), (0.5, 700.0), (7.0, -0.1), (1e-300, 0.5)]),
    ("logsumexp", lambda x, y: dc.logsumexp(np.stack([x, y])), lambda x, y: mp.log(mp.exp(x) + mp.exp(y)),
     [(-800.0, 0.0), (700.0, 710.0), (1.0, 1.0 + 1e-10)]),
    ("norm", lambda x, y: np.linalg.norm(np.stack([x, y])), lambda x, y: mp.sqrt(x * x + y * y),
     [(1e-200, 3e-200), (3.0, 4.0), (1e200, 1e-200), (1e200, 3e200)]),  # numpy's norm: 0.0, 5, 1e200, inf
]


@pytest.mark.parametrize("name, f, mpf, points", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rules_match_a_160_digit_reference(ad, name, f, mpf, points):
    for x, y in points:
        with mp.workdps(160):
            X, Y = mp.mpf(x), mp.mpf(y)
            exact = [mp.diff(lambda t, Y=Y: mpf(t, Y), X, h=(abs(X) or 1) * mp.mpf(10) ** -40),
                     mp.diff(lambda t, X=X: mpf(X, t), Y, h=(abs(Y) or 1) * mp.mpf(10) ** -40)]
        with np.errstate(all="ignore"):
            both = (ad.jacrev(f, (0, 1))(x, y), ad.jacfwd(f, (0, 1))(x, y))
        for got in both:
            for g, e in zip(got, exact):
                if 2.2250738585072014e-308 <= abs(float(e)) < math.inf:
                    assert _ulps(float(g), e) <= ULPS[1], (name, x, y, got, [mp.nstr(v, 17) for v in exact])


# ---- kinks: forward == reverse == README, at every order -------------------------------------------

def _all_modes(ad, f, x):
    """The derivative of f at x by every route the engine offers (and the two AD backends)."""
    return {"grad": ad.grad(f)(x), "jacfwd": ad.jacfwd(f)(x), "jacrev": ad.jacrev(f)(x),
            "forward": ad.derivative(f, 1, "forward")(x),
            "backend-reverse": backends.get("reverse").derivative(f, x).derivative,
            "backend-forward": backends.get("forward").derivative(f, x).derivative}


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True)


@pytest.mark.parametrize("f", [lambda x: x**0, lambda x: x**0.0, lambda x: np.power(x, 0),
                               lambda x: np.power(x, 0.0)], ids=["x**0", "x**0.0", "power(x,0)", "power(x,0.)"])
def test_a_constant_zero_power_is_flat_at_zero(ad, f):
    with np.errstate(all="raise"):  # no 0 * inf on the way, not even a warning
        for name, d in _all_modes(ad, f, 0.0).items():
            assert d == 0.0, name
        assert ad.hessian(f)(0.0) == 0.0 and ad.derivative(f, 3, "forward")(0.0) == 0.0
        assert np.all(ad.grad(lambda v: np.sum(f(v)))(np.array([0.0, 2.0])) == 0.0)


def test_first_power_at_zero_has_derivative_one_and_then_zero(ad):
    f = lambda x: x**1  # noqa: E731
    for name, d in _all_modes(ad, f, 0.0).items():
        assert d == 1.0, name
    assert ad.hessian(f)(0.0) == 0.0
    assert ad.derivative(f, 2, "forward")(0.0) == 0.0 and ad.derivative(f, 2, "reverse")(0.0) == 0.0
    assert ad.derivative(f, 3, "reverse")(0.0) == 0.0
    assert ad.hessian(lambda x: x**2)(0.0) == 2.0 and ad.derivative(lambda x: x**3, 3, "forward")(0.0) == 6.0


def test_x_to_the_y_at_zero_base_agrees_in_forward_and_reverse_mode(ad):
    """README: x ** y has derivative 0 with respect to y at x == 0; d/dx of x**0.5 at 0 is inf."""
    f = lambda v: v[0] ** v[1]  # noqa: E731
    p = np.array([0.0, 0.5])
    with np.errstate(all="ignore"):
        expected = np.array([np.inf, 0.0])
        assert _same(ad.jacfwd(f)(p), expected) and _same(ad.jacrev(f)(p), expected) and _same(ad.grad(f)(p), expected)
        assert _same(backends.get("forward").gradient(f, p).derivative, expected)
        assert _same(backends.get("reverse").gradient(f, p).derivative, expected)
        two = lambda x, y: x**y  # noqa: E731  two scalar arguments: zero tangents on the other one
        assert _same(ad.jacfwd(two, (0, 1))(0.0, 0.5), (np.inf, 0.0))
        assert _same(ad.jacrev(two, (0, 1))(0.0, 0.5), (np.inf, 0.0))
        # y = 0 at x = 0: 0 ** y has derivative 0 in both arguments (JAX's convention), in both modes
        zero = np.array([0.0, 0.0])
        assert _same(ad.jacfwd(f)(zero), [0.0, 0.0]) and _same(ad.jacrev(f)(zero), [0, 0])


def test_a_variable_exponent_keeps_its_mixed_derivative(ad):
    """The y == 0 special case must not drop d/dy (d/dx x^y) = x^(y-1) (1 + y log x) = 1/x at y = 0."""
    f = lambda v: v[0] ** v[1]  # noqa: E731
    h = ad.hessian(f)(np.array([2.0, 0.0]))
    assert h[0, 1] == h[1, 0] == 0.5 and h[0, 0] == 0.0
    assert h[1, 1] == pytest.approx(math.log(2.0) ** 2, rel=4 * EPS)


KINKS = [  # (f, x, first derivative by the README's convention, second, third)
    (np.abs, 0.0, 1.0, 0.0, 0.0),
    (lambda x: np.maximum(x, 0.0), 0.0, 0.5, 0.0, 0.0),
    (lambda x: np.minimum(x, 0.0), 0.0, 0.5, 0.0, 0.0),
    (lambda x: np.maximum(x * x, x), 0.0, 0.5, 1.0, 0.0),  # each side half: 0.5 (2x + 1), then 0.5 * 2
    (lambda x: np.max(np.stack([x, 2.0 * x, 0.0 * x])), 0.0, 1.0, 0.0, 0.0),  # three tied: (1 + 2 + 0) / 3
    (lambda x: np.min(np.stack([x * x, 0.0 * x])), 0.0, 0.0, 1.0, 0.0),
    (lambda x: np.where(x >= 0, x**3, -x), 0.0, 0.0, 0.0, 6.0),
    (lambda x: np.abs(x) ** 3, 0.0, 0.0, 0.0, 6.0),  # 3|x|^2 sign x, 6|x|, 6 sign x: the right derivatives
    (lambda x: x * np.abs(x), 0.0, 0.0, 2.0, 0.0),  # the right derivative of 2|x| at 0
]


@pytest.mark.parametrize("f, x, d1, d2, d3", KINKS)
def test_kinks_follow_the_readme_in_every_mode_and_order(ad, f, x, d1, d2, d3):
    for name, d in _all_modes(ad, f, x).items():
        assert d == d1, name
    second = [ad.hessian(f)(x), ad.derivative(f, 2, "reverse")(x), ad.derivative(f, 2, "forward")(x),
              ad.jacrev(ad.jacfwd(f))(x), backends.get("forward").derivative(f, x, order=2).derivative]
    assert all(s == d2 for s in second), second
    third = [ad.derivative(f, 3, "reverse")(x), ad.derivative(f, 3, "forward")(x), ad.jacfwd(ad.hessian(f))(x)]
    assert all(t == d3 for t in third), third


def test_sqrt_at_zero_is_inf_in_every_mode_and_the_same_at_order_two(ad):
    with np.errstate(all="ignore"):
        for name, d in _all_modes(ad, np.sqrt, 0.0).items():
            assert d == np.inf, name
        assert _same(ad.derivative(np.sqrt, 2, "forward")(0.0), ad.derivative(np.sqrt, 2, "reverse")(0.0))


# ---- prod at zeros: exact at every order --------------------------------------------------------

def _prod_derivatives(x: np.ndarray, order: int) -> np.ndarray:
    """d^order prod(x) / dx_i dx_j ...: the product of the factors not differentiated (0 on repeats)."""
    n = x.size
    out = np.zeros((n,) * order)
    for idx in np.ndindex(*out.shape):
        if len(set(idx)) == order:
            out[idx] = np.prod(np.delete(x, idx))
    return out


@pytest.mark.parametrize("x", [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0],
                               [1.5, -2.0, 0.0, 4.0, 0.0], [0.0], [3.0, 0.0]])
@pytest.mark.jit_slow(default=lambda p: p["x"] == [0.0, 2.0, 3.0])
def test_prod_hessian_and_third_derivative_at_zero_factors(ad, x):
    x = np.array(x)
    h = _prod_derivatives(x, 2)
    assert np.array_equal(ad.hessian(np.prod)(x), h)  # small integers and halves: exact in binary
    assert np.array_equal(ad.jacrev(ad.jacrev(np.prod))(x), h) and np.array_equal(ad.jacfwd(ad.jacfwd(np.prod))(x), h)
    t = _prod_derivatives(x, 3)
    assert np.array_equal(ad.jacfwd(ad.jacfwd(ad.jacrev(np.prod)))(x), t)
    assert np.array_equal(ad.jacrev(ad.jacrev(ad.jacrev(np.prod)))(x), t)


def test_the_issue_prod_hessians(ad):
    assert ad.hessian(np.prod)(np.array([0.0, 2.0, 3.0])).tolist() == [[0, 3, 2], [3, 0, 0], [2, 0, 0]]
    assert ad.hessian(np.prod)(np.array([0.0, 0.0, 3.0]))[0, 1] == 3.0


@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, False), (1, True), ((0, 2), False), (-1, True)])
def test_prod_along_axes_with_zeros_differentiates_twice(ad, axis, keepdims):
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, size=(3, 2, 4)).astype(float)
    x[0, 1, 2] = x[2, 0, 0] = x[2, 0, 3] = 0.0  # a slice with one zero, one with two
    f = lambda v: np.sum(np.sin(np.prod(v, axis=axis, keepdims=keepdims)))  # noqa: E731

    reduced = [a % 3 for a in np.atleast_1d(axis)]

    def looped(v):  # prod written as a loop of products over the reduced positions (no zero special case)
        p = 1.0
        for pos in np.ndindex(*[x.shape[a] for a in reduced]):
            at = dict(zip(reduced, pos))
            p = p * v[tuple(at.get(a, slice(None)) for a in range(3))]
        return np.sum(np.sin(p))

    u = rng.normal(size=x.shape)
    got = ad.hessian(f)(x).reshape(x.size, x.size) @ u.ravel()
    exact = ad.jacfwd(ad.grad(looped))(x).reshape(x.size, x.size) @ u.ravel()
    assert np.allclose(got, exact, rtol=1e-13, atol=1e-13)  # the same products in another order


# ---- the symbolic backend's float evaluation of sympy's derivatives ------------------------------

SYMBOLIC = [  # (expression, point, order, mpmath function): sympy's forms 1 - tanh^2 and 1 - x^2 cancel
    ("tanh(x)", 20.0, 1, mp.tanh), ("tanh(x)", -20.0, 2, mp.tanh), ("2*tanh(x)", 30.0, 1, lambda t: 2 * mp.tanh(t)),
    ("tanh(x*x)", 4.0, 2, lambda t: mp.tanh(t * t)), ("arcsin(x)", 1 - 2**-30, 1, mp.asin),
    ("arccos(x)", -1 + 2**-40, 1, mp.acos), ("arcsin(x)", 1 - 2**-30, 2, mp.asin),
    ("sigmoid(x)", 40.0, 1, lambda t: 1 / (1 + mp.exp(-t))),
]


@pytest.mark.parametrize("expr, x, order, mpf", SYMBOLIC)
def test_symbolic_backend_evaluates_sympy_derivatives_without_cancellation(expr, x, order, mpf):
    from diffcompare.parse import compile_expression

    scale = min(abs(x), 1 - abs(x)) if "arc" in expr else 1.0
    exact = _reference(mpf, x, order, scale)
    got = backends.get("symbolic").derivative(compile_expression(expr).function, x, order=order).derivative
    # sympy's expression, evaluated operation by operation: a handful of roundings (see ULPS)
    assert _ulps(got, exact) <= ULPS[order], (got, mp.nstr(exact, 17))


def test_compare_tanh_at_20_is_green_for_every_exact_method(capsys):
    import json

    from diffcompare.cli import main

    assert main(["compare", "tanh(x)", "--at", "x=20", "--json"]) == 0
    rows = {r["backend"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    for name in ("symbolic", "reverse", "forward"):
        assert rows[name]["rel_error"] <= 8 * EPS, name  # was 1 (0 for 1.7e-17)


def test_softmax_and_the_hessian_of_logsumexp_keep_their_digits_at_large_arguments(ad):
    x = np.array([700.0, 710.0, -5.0])
    with mp.workdps(60):
        e = [mp.exp(mp.mpf(v)) for v in x]
        p = [v / sum(e) for v in e]
    for got, exact in zip(dc.softmax(x), p):
        if exact > 1e-300:
            assert _ulps(got, exact) <= 4  # exp, a sum and a division; was ~200 ulps (x - logsumexp x rounds)
    h = ad.hessian(dc.logsumexp)(x)  # diag(p) - p p^T
    for i in range(3):
        for j in range(3):
            exact = (p[i] if i == j else 0) - p[i] * p[j]
            if i == j == 1:
                # p1 (1 - p1) with p1 = 0.99995 is formed as p1 - p1^2 by differentiating the weights: its
                # absolute error is that of a rounding of p1 (1 - p1 is not stored anywhere); not a few ulps
                assert abs(h[i, j] - float(exact)) <= 8 * EPS * float(p[1])
            elif abs(exact) > 1e-300:
                assert _ulps(h[i, j], exact) <= ULPS[2], (i, j, h[i, j], mp.nstr(exact, 17))


if __name__ == "__main__":  # python tests/test_rules.py: the worst error of the table, per order (in eps)
    for n in (1, 2, 3):
        worst = (0.0, "")
        for name, f, _, points in CASES:
            for x in points:
                e = _exact(name, x, n)
                if 2.2250738585072014e-308 <= abs(float(e)) < math.inf:
                    for mode, make in MODES.items():
                        with np.errstate(all="ignore"):
                            worst = max(worst, (_ulps(float(make(ad, f, n)(x)), e), f"{name} at {x:g}, {mode}"))
        print(f"order {n}: worst {worst[0]:.2f} eps relative ({worst[1]}); allowed {ULPS[n]}")
