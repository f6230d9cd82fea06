"""Infinite and out-of-range factors in the chain rule: forward and reverse mode agree with the exact value.

Issue 11 items 3-5 (differential suite: "infinite-adjoint", "partial-out-of-range"). A zero partial or a zero
cotangent contributes nothing, even when the other factor is infinite (0 * inf = 0, README "Conventions at
non-differentiable points"), in the scalar fast path, the general reverse loop, the array path and forward
mode; a nan that came from a nan factor stays nan. And a local partial beyond the float64 range (a/b^2 of a
division, y x^(y-1) of a power) must not spoil a derivative that is itself in range.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from diffcompare import ad
from diffcompare import ad as ad_module
from diffcompare.ad import kinks, reverse
from diffcompare.ad.fast import backward

INF = np.inf


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# ---- 0 * inf = 0 ------------------------------------------------------------------------------------

def test_scalar_fast_path_infinite_adjoint_through_a_zero_partial(ad):
    """sqrt(2x - x^2) at 0: sqrt's adjoint is +inf, then the partial of x*x (x = 0) is 0; exact: +inf."""
    f = lambda x: np.sqrt(2 * x - x * x)  # noqa: E731
    assert ad.grad(f)(0.0) == INF
    assert ad.jvp(f, (0.0,), (1.0,))[1] == INF  # forward mode agrees


def test_array_path_infinite_adjoint_through_a_zero_partial(ad):
    """The same function elementwise on arrays (the reverse pass's Scaled path); exact: [+inf, 0]."""
    f = lambda x: np.sum(np.sqrt(2 * x - x * x))  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(np.array([0.0, 1.0])), [INF, 0.0])


@pytest.mark.parametrize("jac", [ad.jacfwd, ad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_of_sqrt_at_zero_is_zero_off_the_diagonal(jac):
    """Issue example: each gave a nan off the diagonal (a zero basis entry times the infinite partial)."""
    np.testing.assert_array_equal(jac(np.sqrt)(np.array([0.0, 4.0])), [[INF, 0.0], [0.0, 0.25]])


@pytest.mark.parametrize("jac", [ad.jacfwd, ad.jacrev], ids=["jacfwd", "jacrev"])
def test_a_zero_tangent_through_an_infinite_partial_on_scalars(ad, jac):
    """sqrt(y) + x at y = 0, differentiated with respect to both: d/dx = 1 (not nan), d/dy = +inf."""
    f = lambda v: np.sqrt(v[1]) + v[0]  # noqa: E731
    np.testing.assert_array_equal(jac(f)(np.array([1.0, 0.0])), [1.0, INF])
    g = lambda x, y: np.sqrt(y) + x  # noqa: E731  (Python floats: the scalar fast paths)
    assert ad.grad(g, argnums=(0, 1))(1.0, 0.0) == (1.0, INF)
    assert ad.jvp(g, (1.0, 0.0), (1.0, 0.0))[1] == 1.0


def test_a_zero_tangent_computed_on_the_way_meets_an_infinite_partial(ad):
    """sqrt(0 * x) + x: sqrt sits at 0 (partial +inf) behind a zero factor; exact derivative 1 in both modes."""
    f = lambda x: np.sqrt(0.0 * x) + x  # noqa: E731
    assert ad.grad(f)(1.0) == 1.0
    assert ad.jvp(f, (1.0,), (1.0,))[1] == 1.0


def test_a_zero_tangent_through_an_infinite_factor_of_a_product(ad):
    """x * y at (1, inf) along (0, 1): d/dy = x = 1, and the zero tangent of x adds nothing (reverse: 1 too)."""
    f = lambda x, y: x * y  # noqa: E731
    assert ad.jvp(f, (1.0, INF), (0.0, 1.0))[1] == 1.0
    assert ad.grad(f, argnums=1)(1.0, INF) == 1.0


def test_a_uniform_zero_cotangent_through_an_infinite_partial(ad):
    """sum(0 * sqrt(x)): the sum's cotangent reaches sqrt as the lazy constant 0 (a Scaled uniform array)."""
    f = lambda x: np.sum(0.0 * np.sqrt(x)) + x[0]  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(np.array([0.0, 1.0])), [1.0, 0.0])


@pytest.mark.parametrize("jac", [ad.jacfwd, ad.jacrev], ids=["jacfwd", "jacrev"])
def test_an_infinite_constant_factor_is_not_folded_into_a_zero_cotangent(jac):
    """x * inf: the reverse pass folds a constant partial into the adjoint's factor; inf must not meet the
    basis' zeros there. Exact Jacobian: inf on the diagonal, 0 off it."""
    np.testing.assert_array_equal(jac(lambda x: x * INF)(np.array([1.0, 2.0])), [[INF, 0.0], [0.0, INF]])


def test_array_partial_computed_in_place_meets_a_zero_cotangent(ad):
    """log at 0: its partial 1/x is a fresh array the reverse pass multiplies into; off the diagonal 0."""
    np.testing.assert_array_equal(ad.jacrev(np.log)(np.array([0.0, 1.0])), [[INF, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(ad.jacfwd(np.log)(np.array([0.0, 1.0])), [[INF, 0.0], [0.0, 1.0]])


def test_general_reverse_rule_takes_zero_times_inf_as_zero():
    """The per-edge rule (traced, complex and 0-d adjoints take it): g = 0 through sqrt's partial at 0."""
    node = ad.record(lambda x: np.sqrt(x), np.array([0.0, 4.0])).output
    for pull_back in (reverse.pull_back, backward.pull_back):  # the reference's and the fast pass's
        for g in (np.array([0.0, 1.0]), np.array([0.0, 1.0], dtype=complex)):
            c = pull_back(node, 0, g)[0]
            np.testing.assert_array_equal(c, [0.0, 0.25])
        zero = ad.record(lambda x: np.sqrt(x), np.float64(0.0)).output
        assert pull_back(zero, 0, 0.0)[0] == 0.0


def test_a_float32_cotangent_multiplied_into_the_partial(ad):
    """A cotangent the Scaled path does not take (float32) meets log's fresh partial at 0 in place."""
    _, pullback = ad.vjp(np.log, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(pullback(np.array([0.0, 1.0], dtype=np.float32))[0], [0.0, 1.0])


def test_a_nan_factor_stays_nan(ad):
    """Only 0 * inf becomes 0: a derivative that does not exist (sqrt at -1) stays nan in both modes."""
    assert np.isnan(ad.grad(np.sqrt)(-1.0))
    assert np.isnan(ad.jacrev(np.sqrt)(np.array([-1.0, 4.0]))[0, 0])
    assert np.isnan(ad.jacfwd(np.sqrt)(np.array([-1.0, 4.0]))[0, 0])


# ---- partials beyond the float64 range ------------------------------------------------------------------

def _x_to_the_x_derivative(x: float) -> float:
    """d/dx x^x = x^x (1 + log x), at 60 digits, rounded once."""
    import mpmath

    with mpmath.workdps(60):
        t = mpmath.mpf(x)
        return float(t**t * (1 + mpmath.log(t)))


@pytest.mark.parametrize("x", [5e-324, 1e-310, 1e-300])
def test_x_to_the_x_at_tiny_x_in_every_mode(ad, x):
    """pow's d/dx is y x^(y-1) = y ans / x; ans / x alone overflows at x = 5e-324 (AD gave inf; exact -743.44).
    (y ans) / x for |y| <= 1 cannot overflow first. 4 ulps: three roundings (y ans, / x, + ans log x) and the
    1 + log x sum, which does not cancel here (|log x| > 690)."""
    exact = _x_to_the_x_derivative(x)
    f = lambda t: t**t  # noqa: E731
    got = [ad.grad(f)(x), ad.jvp(f, (x,), (1.0,))[1],
           ad.grad(lambda v: np.sum(v**v))(np.array([x]))[0], ad.jacfwd(lambda v: v**v)(np.array([x]))[0, 0]]
    for g in got:
        assert abs(g - exact) <= 4 * np.spacing(abs(exact)), (got, exact)


def test_has_nan_sees_a_nan_and_nothing_else():
    """The cheap check (c . c) that guards the rare path: infinities of both signs and squares that overflow
    are not nan; one nan anywhere (2-D, complex, float32) is."""
    assert not kinks.has_nan(np.array([INF, -INF, 1e300, -1e300, 0.0]))
    assert not kinks.has_nan(np.zeros((0, 3)))
    for dtype in (np.float64, np.float32, np.complex128):
        a = np.ones((3, 4), dtype=dtype)
        assert not kinks.has_nan(a)
        a[2, 1] = np.nan
        assert kinks.has_nan(a)
        assert kinks.has_nan(a.T)


@pytest.mark.parametrize("n", [1, 3, 1000])
def test_the_nan_check_of_a_product_is_silent_on_large_finite_values(n):
    """has_nan squares the elements (c . c): past 1e154 the sum overflows to inf, which is no nan, and numpy's
    "overflow encountered in dot" warning was a false alarm (seen under jit, whose program checks each product)."""
    with warnings.catch_warnings(), np.errstate(over="warn", invalid="warn"):  # numpy's defaults (see _quiet)
        warnings.simplefilter("error")
        assert not kinks.has_nan(np.full(n, 1e200))
        assert kinks.has_nan(np.r_[np.full(n, 1e200), np.nan])
        assert not kinks.has_nan(np.full(n, np.inf))


def test_a_gradient_past_1e154_gives_no_false_overflow_warning(ad):
    """grad of sum(x**3) at 1e100 is 3e200, finite: the nan check of its products warned of an overflow."""
    with warnings.catch_warnings(), np.errstate(over="warn", invalid="warn"):
        warnings.simplefilter("error")
        g = ad.grad(lambda v: np.sum(v * v * v))(np.array([1e100, 1.0]))
    assert g.tolist() == [3e200, 3.0]


# ---- reciprocal's term -g ans^2, beyond range alone ---------------------------------------------------------

@pytest.mark.parametrize("scale", [1e200, 1e-200, -1e160])
def test_second_derivative_of_log_through_a_scale_in_every_mode(ad, scale):
    """d^2/dx^2 log(s x) = -1/x^2 = -1 at 1, for any s: the tangent (or outer adjoint) of log's partial 1/u is
    -(1/u)^2 u' = -(s / (s x)^2); (1/u)^2 alone is 1e-400 -> 0 or 1e400 -> inf (AD gave -0 and -inf)."""
    f = lambda x: np.log(scale * x * np.sign(scale))  # noqa: E731
    got = [ad.derivative(f, 2, "forward")(1.0), ad.derivative(f, 2, "reverse")(1.0),
           ad.hessian(lambda v: np.sum(f(v)))(np.array([1.0]))[0, 0],
           ad.jacfwd(ad.grad(lambda v: np.sum(f(v))))(np.array([1.0, 2.0]))[1, 1] * 4,
           ad.hvp(lambda v: np.sum(f(v)), np.array([1.0]), np.array([1.0]))[0]]
    for g in got:
        assert abs(g + 1.0) <= 4e-16, got


def test_reciprocal_term_keeps_zero_times_inf():
    """At x = 0 (1/x = inf) a zero tangent or cotangent still adds nothing: jacfwd and jacrev of
    reciprocal's derivative at [0, 2] have 0 off the diagonal, not nan."""
    d = lambda v: ad_module.grad(lambda w: np.sum(np.reciprocal(w)))(v)  # noqa: E731
    for jac in (ad_module.jacfwd(d), ad_module.jacrev(d)):
        h = jac(np.array([0.0, 2.0]))
        assert h[0, 1] == 0 and h[1, 0] == 0 and h[1, 1] == 0.25 and h[0, 0] == INF, h


def test_sqrt_at_minus_zero_is_plus_inf_in_every_mode(ad):
    """sqrt(-0.0) is -0.0 and 0.5 / -0.0 = -inf: the derivative at x = -0.0 was -inf (long differential run:
    acos(x)**sqrt(x) at -0.0, exact +inf). As at +0.0: +inf."""
    f = lambda x: np.sqrt(x)  # noqa: E731
    got = [ad.grad(f)(-0.0), ad.jvp(f, (-0.0,), (1.0,))[1], ad.grad(lambda v: np.sum(f(v)))(np.array([-0.0, 4.0]))[0],
           ad.jacfwd(f)(np.array([-0.0, 4.0]))[0, 0], ad.grad(lambda x: np.arccos(x) ** np.sqrt(x))(-0.0)]
    assert all(g == INF for g in got), got
