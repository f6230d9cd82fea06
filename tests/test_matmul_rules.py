"""matmul's and dot's VJPs on the shapes and nestings the shared check in test_primitives leaves out:
a 1-D operand against a batch of matrices, a scalar operand of dot, and a product whose other operand
belongs to an outer transform (its plain-matrix shortcut must not take the wrong side)."""

import numpy as np
import pytest

from diffcompare import ad

rng = np.random.default_rng(7)


@pytest.mark.parametrize("fn, shapes", [
    (np.matmul, ((3,), (5, 3, 4))), (np.matmul, ((5, 2, 3), (3,))), (np.matmul, ((4, 1, 2, 3), (5, 3, 2))),
    (np.dot, ((), (3,))), (np.dot, ((2, 3), ())), (np.dot, ((), ())),
])
def test_matmul_and_dot_on_more_shapes(ad, fn, shapes):
    a, b = (rng.normal(size=s) if s else float(rng.normal()) for s in shapes)
    ad.check_grads(fn, (a, b), order=2)


@pytest.mark.parametrize("side", [0, 1])
def test_a_product_with_an_operand_of_an_outer_transform(ad, side):
    # the inner gradient's cotangent is a plain matrix, the other operand a traced one of the outer level
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    if side == 0:
        inner = lambda B: ad.grad(lambda A: np.sum((A @ B) * np.arange(8.0).reshape(2, 4)))(A)
        x = B
    else:
        inner = lambda A: ad.grad(lambda B: np.sum((A @ B) * np.arange(8.0).reshape(2, 4)))(B)
        x = A
    ad.check_grads(inner, (x,), order=1)


def test_softmax_defaults_to_the_last_axis():
    x = rng.normal(size=(3, 4))
    expected = np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)
    assert np.allclose(ad.softmax(x), expected, rtol=1e-14, atol=0)  # a few roundings of exp and a sum
