"""Arrays the user's code changes in place after an operation used them: the backward pass must not
read them as they are then (issue 12, item 5: ``y = sin(x) * s; s[:] = 5`` gave 5x the gradient)."""

import numpy as np
import pytest

from diffcompare.errors import TracingError


# The engine and the formulas below compute the same products in another order: at most a couple of
# roundings apart (1e-15 relative is ~4 ulps). A row reading the changed array is off by O(1).
RTOL = 1e-15


def issue_f(x):
    s = np.ones_like(x)
    y = np.sin(x) * s
    s[:] = 5.0
    return np.sum(y * y)


@pytest.mark.parametrize("n", [10, 40_000])  # a whole tape row, and a lean one with deferred values
def test_a_constant_changed_after_use_does_not_change_value_or_gradient(ad, n):
    x = np.linspace(-2.0, 2.0, n)
    value, g = ad.value_and_grad(issue_f)(x)
    assert value == pytest.approx(np.sum(np.sin(x) ** 2), rel=1e-12)  # a sum of n terms in another order
    assert np.allclose(g, 2.0 * np.sin(x) * np.cos(x), rtol=RTOL, atol=0)
    assert np.allclose(ad.grad(issue_f)(x), 2.0 * np.sin(x) * np.cos(x), rtol=RTOL, atol=0)


def test_an_operation_on_a_value_of_the_trace_and_a_users_array_is_not_deferred(ad):
    """The guard in fast.lean.record that refuses to defer an operation with a user's array among its
    arguments: deferred, ``sin(x) * s`` would be computed when first read, after ``s[:] = 5``."""
    x = np.linspace(-2.0, 2.0, 40_000)  # large enough to be deferred
    f_value = float(np.sum(np.sin(x) ** 2))
    assert ad.value_and_grad(issue_f)(x)[0] == pytest.approx(f_value, rel=1e-12)

    def g(x):
        s = np.ones_like(x) * 2.0
        y = np.sin(x) * s  # only read by the sum below, after s changed
        s[:] = 3.0
        return np.sum(y)

    assert ad.value_and_grad(g)(x)[0] == pytest.approx(2.0 * np.sum(np.sin(x)), rel=1e-12)
    assert np.allclose(ad.grad(g)(x), 2.0 * np.cos(x), rtol=RTOL, atol=0)


def test_index_arrays_and_masks_changed_after_use(ad):
    x = np.array([0.5, -1.0, 2.0, 3.0])

    def gather(x):
        idx = np.array([0, 2, 2])
        y = x[idx]
        idx[:] = 1
        return np.sum(y * y)

    def gather_rows(m):
        rows = np.array([1, 0])
        y = m[rows, 1:]  # an array inside the index tuple
        rows[:] = 0
        return np.sum(y**3)

    def masked(x):
        mask = x > 0
        y = np.where(mask, x * x, -x)
        mask[:] = False
        return np.sum(y)

    assert ad.grad(gather)(x).tolist() == [1.0, 0.0, 8.0, 0.0]
    if ad.name == "jit":  # under jit the mask is a traced value, and writing into one is refused (as in JAX)
        with pytest.raises(TracingError, match=r"assignment into a traced value at .*mask\[:\] = False"):
            ad.grad(masked)(x)
    else:
        assert ad.grad(masked)(x).tolist() == [1.0, -1.0, 4.0, 6.0]
    m = np.arange(6.0).reshape(2, 3)
    assert ad.grad(gather_rows)(m).tolist() == [[0.0, 3.0, 12.0], [0.0, 48.0, 75.0]]


def test_matrix_constants_full_tapes_and_nested_transforms(ad):
    rng = np.random.default_rng(0)
    w, a0 = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))

    def layer(w):
        a = a0.copy()
        h = np.tanh(a @ w)
        a *= 10.0  # a data buffer refilled for the next batch
        return np.sum(h)

    expected = a0.T @ (1.0 - np.tanh(a0 @ w) ** 2)
    assert np.allclose(ad.grad(layer)(w), expected, rtol=1e-14, atol=0)  # a matmul's roundings
    assert np.allclose(ad.record(layer, w).pullback()[0], expected, rtol=1e-14, atol=0)  # a full tape

    x = np.array([0.3, -0.7, 1.1])
    # Hessians of issue_f by forward over reverse and reverse over reverse: d2/dx2 sin^2 x = 2 cos 2x
    H = np.diag(2.0 * np.cos(2.0 * x))
    assert np.allclose(ad.hessian(issue_f)(x), H, rtol=1e-14, atol=1e-15)
    assert np.allclose(ad.jacrev(ad.grad(issue_f))(x), H, rtol=1e-14, atol=1e-15)


def test_primals_and_value_changed_between_vjp_and_its_pullback(ad):
    x = np.array([0.5, -1.0, 2.0])
    y, pullback = ad.vjp(lambda v: np.exp(v) * v, x)  # the rules read x and exp(x)
    x += 1.0
    y *= 3.0
    (g,) = pullback(np.ones(3))
    x -= 1.0
    assert np.allclose(g, np.exp(x) * (x + 1.0), rtol=RTOL, atol=0)
    e, pullback = ad.vjp(np.exp, x)  # the value handed out is the one exp's rule reads
    e[:] = 0.0
    assert np.allclose(pullback(np.ones(3))[0], np.exp(x), rtol=0, atol=0)
