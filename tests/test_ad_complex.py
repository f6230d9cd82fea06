"""Complex values (issue 12 item 3), with JAX's conventions: the Jacobian transforms take complex inputs and
outputs only when told f is holomorphic (``holomorphic=True``) and then give df/dz with its imaginary part;
without it they refuse. Never the silent real part a float Jacobian used to keep."""

import numpy as np
import pytest

from diffcompare import ad
from diffcompare.errors import TracingError

Z = np.array([1 + 1j, 0.5 - 2j])

# Tolerance: the results below are one or two complex roundings away from the exact formula (each complex
# multiply or exp is correct to a few ulps), so 1e-14 relative is tight and still well above rounding.
REL = 1e-14


@pytest.mark.parametrize("transform", [ad.jacfwd, ad.jacrev, ad.jacobian])
def test_the_jacobian_of_exp_is_diag_exp_z_with_its_imaginary_part(transform):
    jac = transform(np.exp, holomorphic=True)(Z)
    assert jac.dtype == complex
    np.testing.assert_allclose(jac, np.diag(np.exp(Z)), rtol=REL, atol=0)


def test_the_hessian_of_sum_z_cubed_is_diag_6z(ad):
    h = ad.hessian(lambda z: np.sum(z**3), holomorphic=True)(Z)
    np.testing.assert_allclose(h, np.diag(6 * Z), rtol=REL, atol=0)


def test_grad_and_value_and_grad_give_df_dz(ad):
    f = lambda z: np.sum(np.sin(z) * z**2)
    df = lambda z: np.cos(z) * z**2 + 2 * z * np.sin(z)
    np.testing.assert_allclose(ad.grad(f, holomorphic=True)(Z), df(Z), rtol=REL, atol=0)
    value, g = ad.value_and_grad(lambda z: np.sin(z) * z**2, holomorphic=True)(1 + 1j)
    assert value == pytest.approx(np.sin(1 + 1j) * (1 + 1j) ** 2, rel=REL)
    assert g == pytest.approx(df(1 + 1j), rel=REL)


def test_holomorphic_results_agree_with_central_differences_along_the_real_axis(ad):
    # for holomorphic f, df/dz is the limit of (f(z + h) - f(z - h)) / 2h with h real: error ~ h^2 |f'''| ~ 1e-10
    f = lambda z: np.exp(z) / (1 + z**2)
    h = 1e-5
    fd = (f(Z + h) - f(Z - h)) / (2 * h)
    np.testing.assert_allclose(np.diag(ad.jacfwd(f, holomorphic=True)(Z)), fd, rtol=1e-9)
    np.testing.assert_allclose(np.diag(ad.jacrev(f, holomorphic=True)(Z)), fd, rtol=1e-9)


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacfwd", "jacrev", "jacobian", "hessian"])
def test_complex_inputs_without_holomorphic_are_refused_by_name(transform):
    f = (lambda z: np.sum(z**3)) if transform in ("grad", "value_and_grad", "hessian") else np.exp
    with pytest.raises(TracingError, match=rf"^{transform} got a complex input: .*{transform}\(f, holomorphic=True\)"):
        getattr(ad, transform)(f)(Z)


@pytest.mark.parametrize("transform", ["grad", "jacrev", "jacobian"])
def test_complex_outputs_of_real_inputs_need_holomorphic_in_reverse_mode(transform):
    with pytest.raises(TracingError, match=f"{transform} needs f to return real values; f returned complex"):
        getattr(ad, transform)(lambda x: np.sum(x * 1j))(np.ones(2))


def test_holomorphic_needs_complex_inputs(ad):
    with pytest.raises(TracingError, match=r"grad\(f, holomorphic=True\) needs complex inputs"):
        ad.grad(lambda z: z**3, holomorphic=True)(1.0)


def test_forward_mode_keeps_a_complex_output_of_a_real_input(ad):
    # as JAX: jacfwd of a real input is the JVPs stacked, complex if f's values are
    np.testing.assert_array_equal(ad.jacfwd(lambda x: x * 1j)(np.ones(2)), np.diag([1j, 1j]))


def test_jvp_and_vjp_still_take_complex_values(ad):
    _, t = ad.jvp(np.exp, (Z,), (np.ones(2),))
    np.testing.assert_allclose(t, np.exp(Z), rtol=REL)
    _, pullback = ad.vjp(lambda z: z**3, Z)
    np.testing.assert_allclose(pullback(np.ones(2))[0], 3 * Z**2, rtol=REL)


@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
def test_a_list_of_complex_constants_returned_keeps_its_imaginary_part(ad):
    value, tangent = ad.jvp(lambda x: [1j, 2.0], (1.0,), (1.0,))
    assert value.tolist() == [1j, 2.0] and tangent.tolist() == [0, 0]


@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
def test_a_complex_0d_cotangent_broadcast_back_stays_complex(ad):
    (g,) = ad.vjp(lambda z: np.sum(z), Z)[1](np.array(1j))
    assert g.tolist() == [1j, 1j]
