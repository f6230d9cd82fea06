"""Guards of the AD engine that mutation testing (tests/mutate_ad.py) found unguarded: each test is a
behaviour a user sees, and fails when the guard is deleted."""

import numpy as np
import pytest

from diffcompare.errors import TracingError


def test_a_forward_tracer_kept_after_jacfwd_is_refused_when_used_again(ad):
    kept = []

    def f(x):
        kept.append(x)
        return x * 2.0

    np.testing.assert_array_equal(ad.jacfwd(f)(np.array([1.0, 2.0])), 2.0 * np.eye(2))
    with pytest.raises(TracingError, match="used after the transform"):
        kept[0] * 3.0


@pytest.mark.parametrize("x", [3, 3.0, np.float32(3.0), np.int64(3)])
def test_a_scalar_input_gives_a_python_float_gradient(ad, x):
    # the scalar fast path: a number in, a plain float out (not a 0-d array), exact
    g = ad.grad(lambda t: t * t)(x)
    assert type(g) is float and g == 6.0
    v, g = ad.value_and_grad(lambda t: t * t)(x)
    assert type(v) is float and v == 9.0 and type(g) is float and g == 6.0


def test_a_cotangent_of_the_wrong_shape_is_refused_not_broadcast(ad):
    y, pullback = ad.vjp(lambda x: np.sin(x) * 2.0, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(pullback(np.ones(3))[0], 2.0 * np.cos([1.0, 2.0, 3.0]), rtol=1e-15)
    for bad in (np.ones((3, 1)), np.ones(2), np.ones((1, 3))):  # (3, 1) would broadcast to a (3, 3) "gradient"
        with pytest.raises(TracingError, match=r"cotangent of shape .* but f's output has shape \(3,\)"):
            pullback(bad)


def test_jvp_with_fewer_tangents_than_primals_is_refused(ad):
    # zip would drop the second primal's tangent: the sum's derivative would be 1 instead of the 1 + t2 asked
    with pytest.raises(TracingError, match="2 primal.*1 tangent.*one tangent per primal"):
        ad.jvp(lambda a, b: a + b, (1.0, 2.0), (1.0,))
    assert ad.jvp(lambda a, b: a + b, (1.0, 2.0), (1.0, 1.0)) == (3.0, 2.0)


def test_jvp_with_a_tangent_of_another_shape_than_its_primal_is_refused(ad):
    x = np.array([1.0, 2.0, 3.0])
    for bad in (np.ones((3, 1)), np.ones(1), 1.0):  # each would broadcast into a plausible wrong answer
        with pytest.raises(TracingError, match=r"tangent of shape .* for a primal of shape \(3,\)"):
            ad.jvp(lambda v: np.sum(np.sin(v)), (x,), (bad,))


@pytest.mark.parametrize("transform, expected", [("jacfwd", 12.0), ("jacrev", 12.0), ("jacobian", 12.0),
                                                  ("hessian", 12.0)])
def test_the_jacobian_of_a_scalar_function_of_a_scalar_is_a_python_float(ad, transform, expected):
    # as grad: a number in and out gives a number (JAX gives a 0-d array; a float prints and compares the same)
    j = getattr(ad, transform)(lambda x: x**3)(2.0)
    assert type(j) is float and j == expected


def test_derivative_refuses_a_negative_order_and_an_unknown_mode(ad):
    assert ad.derivative(lambda x: x**3, 2)(2.0) == 12.0
    assert ad.derivative(lambda x: x**3, 2, mode="forward")(2.0) == 12.0
    with pytest.raises(ValueError, match="order must be >= 0"):
        ad.derivative(lambda x: x**3, -1)  # would be f itself: 8.0 at 2, a plausible "derivative"
    with pytest.raises(ValueError, match="mode must be"):
        ad.derivative(lambda x: x**3, 1, mode="backward")


def test_a_list_of_traced_values_into_a_nested_grad(ad):
    # the inner grad gets [a, 2a] (an object array of tracers): d/da sum(3 v^2) = d/da 15 a^2 = 30 a
    def outer(a):
        return np.sum(ad.grad(lambda v: np.sum(v**3))([a, 2.0 * a]))

    assert ad.grad(outer)(1.0) == pytest.approx(30.0, rel=1e-15)  # a handful of float ops on small integers


def test_the_trace_writes_a_written_out_vjp_as_a_vjp_not_as_a_partial():
    # np.sum has a VJP rule, not a table partial: its adjoint row says vjp_sum, and there is no partial to show
    from diffcompare.analysis.trace import evaluation_trace

    t = evaluation_trace(lambda a: np.sum(a * 2.0), (np.arange(3.0),), ["a"])
    row = t.rows[1]
    from diffcompare.render.trace import adjoint_text

    assert adjoint_text(t, row)[0].endswith("= vjp_sum(v̄_2)")
    assert [c.partial for c in row.contributions] == [None]
    np.testing.assert_array_equal(t.gradient[0], [2.0, 2.0, 2.0])


def test_a_large_float32_input_keeps_numpys_float32_values(ad):
    # large elementwise results go into float64 pooled buffers only when numpy's result is float64 too;
    # a float32 input's sin is numpy's float32 sin (the value equals numpy's own, bit for bit)
    x32 = np.linspace(0.0, 1.0, 1 << 14, dtype=np.float32)
    v, g = ad.value_and_grad(lambda x: np.sum(np.sin(x)))(x32)
    assert v.dtype == np.float32 and v == np.sum(np.sin(x32))
    np.testing.assert_allclose(g, np.cos(x32), rtol=1e-6)  # float32 cos: ~6e-8 relative, 1e-6 is loose


def test_a_large_real_array_times_a_complex_number_stays_complex(ad):
    # a complex scalar operand: the result is numpy's complex one, never squeezed into a float64 buffer
    x = np.linspace(0.0, 1.0, 1 << 14)
    y, pullback = ad.vjp(lambda v: v * 1j, x)
    assert y.dtype == np.complex128
    np.testing.assert_array_equal(y, x * 1j)
    np.testing.assert_array_equal(pullback(np.ones(x.shape, complex))[0], np.full(x.shape, 1j))


def test_a_large_input_broadcast_against_a_larger_constant(ad):
    # the result takes the broadcast shape (2, n), not the input's (n,): d/dx sum(x * ones((2, n))) = 2
    n = 1 << 14
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(x * np.ones((2, n))))(np.linspace(0.0, 1.0, n)),
                                  np.full(n, 2.0))


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
def test_a_bool_array_output_is_refused_and_a_constant_float_array_has_a_zero_jacobian(ad, transform):
    transform = getattr(ad, transform)
    with pytest.raises(TracingError, match="returned a bool"):
        transform(lambda x: np.array([True, False]))(np.ones(2))
    np.testing.assert_array_equal(transform(lambda x: np.array([1.0, 2.0]))(np.ones(2)), np.zeros((2, 2)))
