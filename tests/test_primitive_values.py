"""The primitives' values, on Python floats (their ``math`` paths) and on arrays, against numpy itself.

check_grads compares derivatives with differences of the primitive's own values, so a wrong value of a
primitive whose rule does not read it (``square``'s reads x) is invisible to it; these pin the values.
1e-15 relative (~4 ulps): Python's math and numpy's libm may round the last bit differently.
"""

import math

import mpmath
import numpy as np
import pytest

from diffcompare.ad import numpy_api as P
from diffcompare.ad import rules

RTOL = 1e-15
POINTS = [-7.5, -2.0, -0.9, -0.3, 0.0, 0.25, 0.5, 0.99, 1.0, 1.7, 3.0, 12.0]
UNARY = [(u, p) for u, p in P.UFUNCS.items() if isinstance(p, P.Primitive) and u.nin == 1]
BINARY = [(u, p) for u, p in P.UFUNCS.items() if isinstance(p, P.Primitive) and u.nin == 2 and u is not np.matmul]


def same(ours, numpy_value):
    ours, numpy_value = np.asarray(ours, dtype=float), np.asarray(numpy_value, dtype=float)
    return ours.shape == numpy_value.shape and np.allclose(ours, numpy_value, rtol=RTOL, atol=0, equal_nan=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's nan/inf outside a domain, as numpy gives them
@pytest.mark.parametrize("ufunc, prim", UNARY + BINARY, ids=lambda p: getattr(p, "__name__", ""))
def test_values_on_floats_and_arrays_are_numpys(ufunc, prim):
    xs = np.array(POINTS)
    if ufunc.nin == 1:
        cases = [(x,) for x in POINTS]
        arrays = (xs,)
    else:
        cases = [(x, y) for x in POINTS for y in (-2.0, 0.5, 2, 3.0)]
        arrays = (xs, xs[::-1] / 3.0)
    for args in cases:
        value = prim.impl(*args)
        assert value.__class__ is float or np.ndim(value) == 0, (prim.name, args)
        assert same(value, ufunc(*map(np.float64, args))), (prim.name, args, value)
    assert same(prim.impl(*arrays), ufunc(*arrays)), prim.name


def test_sigmoid_values_against_50_digits():
    with mpmath.workdps(50):  # (mpmath's precision is global: other tests' references rely on theirs)
        exact = [float(1 / (1 + mpmath.exp(-mpmath.mpf(x)))) for x in POINTS]
    assert all(math.isclose(rules.sigmoid.impl(x), e, rel_tol=RTOL) for x, e in zip(POINTS, exact))
    assert same(rules.sigmoid.impl(np.array(POINTS)), exact)


def test_power_derivative_in_the_exponent_with_some_zero_bases(ad):
    # d/dy sum(x ** y) = x ** y log x, and 0 where x == 0 (JAX's convention), the other entries unchanged
    x, y = np.array([0.0, 2.0, 3.0]), 1.5
    expected = [0.0, 2.0**1.5 * math.log(2.0), 3.0**1.5 * math.log(3.0)]
    f = lambda y: np.sum(x**y)
    assert same(ad.grad(f)(y), sum(expected))
    assert same(ad.jvp(f, (y,), (1.0,))[1], sum(expected))
    assert same(ad.grad(lambda y: np.sum(x ** (y * np.ones(3))))(y), sum(expected))


def test_lists_of_traced_values_returned_or_passed_are_stacked_along_a_new_first_axis(ad):
    x = np.array([0.5, -1.2])
    f = lambda x: [x[0] * x[1], np.sin(x[0]), 3.0 * x[1]]  # stacked with stack's default axis
    J = [[x[1], x[0]], [np.cos(x[0]), 0.0], [0.0, 3.0]]
    assert same(ad.jacrev(f)(x), J) and same(ad.jacfwd(f)(x), J)
    g = lambda x: np.sum(np.array([x[0], x[1] * x[1]], dtype=object) * np.array([2.0, 1.0]))
    assert same(ad.grad(lambda x: g(x))(x), [2.0, 2.0 * x[1]])


def test_numpy_functions_without_rules_are_refused_by_name(ad):
    from diffcompare.errors import TracingError

    x = np.array([0.5, 1.5])
    with pytest.raises(TracingError, match="numpy.arctan2 is not differentiable"):
        ad.grad(lambda x: np.sum(np.arctan2(x, 1.0)))(x)
    with pytest.raises(TracingError, match="numpy.cumsum is not differentiable"):
        ad.grad(lambda x: np.sum(np.cumsum(x)))(x)
