"""The reverse pass's constant factors and scatters on the paths the random programs of
test_reverse_pass rarely take (found by tests/mutate_ad.py): a uniform adjoint summed down to a
traced number or a broadcast row, a strided slice's scatter, and the reflected operators of the large
arrays' handles (RArray)."""

import numpy as np
import pytest



def test_a_uniform_adjoint_summed_down_to_a_number_and_to_a_row(ad):
    M = np.arange(12.0).reshape(3, 4)
    assert ad.grad(lambda s: np.sum(M + s))(2.0) == 12.0  # s broadcast to 12 elements
    assert ad.grad(lambda s: np.sum(3.0 * (M - s)))(2.0) == -36.0
    assert ad.grad(lambda v: np.sum(M + v))(np.zeros(4)).tolist() == [3.0] * 4  # v broadcast over 3 rows
    assert ad.grad(lambda v: np.sum(2.0 * (M * v)))(np.ones((3, 1))).tolist() == [[12.0], [44.0], [76.0]]


def test_a_strided_slice_scatters_zeros_between_its_elements(ad):
    for _ in range(3):
        junk = np.full(9, 7.0)  # freed memory of the adjoint's size, full of sevens, for np.empty to reuse
        del junk
        g = ad.grad(lambda x: np.sum(x[1:8:3] * 2.0))(np.ones(9))
        assert g.tolist() == [0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 0.0]


@pytest.mark.parametrize("op, d", [
    (lambda x: 2.0 + x, lambda x: 1.0), (lambda x: 2.0 - x, lambda x: -1.0), (lambda x: 2.0 * x, lambda x: 2.0),
    (lambda x: 2.0 / x, lambda x: -2.0 / x**2), (lambda x: 2.0**x, lambda x: np.log(2.0) * 2.0**x),
])
def test_reflected_operators_on_large_arrays(ad, op, d):
    x = np.linspace(0.5, 1.5, 40_000)  # large: a lean tape's handle, not a tape row
    g = ad.grad(lambda x: np.sum(op(np.sin(x) * 1.0)))(x)  # a product: a handle (RArray)
    assert np.allclose(g, d(np.sin(x)) * np.cos(x), rtol=1e-14, atol=0)  # the same few products, reordered
