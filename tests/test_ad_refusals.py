"""The AD engine refuses what it cannot differentiate with one sentence that says what to change (issue 12,
items 4 and 8), instead of a wrong number or a Python error from deep inside the engine."""

import numpy as np
import pytest

from diffcompare import ad
from diffcompare.errors import DiffcompareError, TracingError

W = np.array([1.0, -2.0])


def _no_return(w):
    np.sum(w**2)  # the missing `return` of issue 12 item 4


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "hessian", "jacrev", "jacfwd", "jacobian"])
def test_a_function_without_return_is_refused_by_every_transform(transform):
    with pytest.raises(TracingError, match=r"f returned None \(did you forget a `return`\?\)"):
        getattr(ad, transform)(_no_return)(W)


def test_grad_says_what_it_needs_and_what_f_returned():
    with pytest.raises(TracingError, match=r"^grad needs f to return a float or a 0-d array; f returned None"):
        ad.grad(_no_return)(W)
    with pytest.raises(TracingError, match="vjp needs f to return"):
        ad.vjp(_no_return, W)
    with pytest.raises(TracingError, match="jvp needs f to return"):
        ad.jvp(_no_return, (W,), (W,))


@pytest.mark.parametrize("returned, said", [
    (lambda w: "loss", r"f returned a str \('loss'\)"),
    (lambda w: {"loss": np.sum(w)}, "f returned a dict"),
    (lambda w: bool(np.sum(w) > 0), r"f returned a bool \(False\): a comparison has no derivative"),
    (lambda w: np.sum(w) < 0, "f returned a bool"),
    (lambda w: [np.sum(w), "x"], "f returned a str"),
])
def test_what_is_not_a_number_is_refused_never_a_zero_gradient(returned, said):
    with pytest.raises(TracingError, match=said):
        ad.grad(returned)(W)


def test_a_constant_number_is_still_a_function_with_gradient_zero():
    assert ad.grad(lambda w: 3.0)(W).tolist() == [0.0, 0.0]
    assert ad.grad(lambda w: 3)(W).tolist() == [0.0, 0.0]


def test_refusals_are_diffcompare_errors_and_type_errors():
    # exit code 2 in the CLI (a DiffcompareError); `except TypeError` as for numpy's and JAX's refusals
    assert issubclass(TracingError, DiffcompareError) and issubclass(TracingError, TypeError)


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacrev", "jacfwd", "jacobian", "hessian"])
def test_argnums_beyond_the_arguments_names_the_argument(transform):
    with pytest.raises(TracingError, match=r"argnums=1\) .* but f was called with 1 positional argument"):
        getattr(ad, transform)(lambda x: x * x, argnums=1)(2.0)
    with pytest.raises(TracingError, match=r"argnums=2\)"):
        getattr(ad, transform)(lambda x, y: x * y, argnums=(0, 2))(2.0, 3.0)
