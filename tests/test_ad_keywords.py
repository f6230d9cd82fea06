"""Every numpy function the engine differentiates honours every keyword numpy accepts, or refuses it by name
(issue 12 item 1). For each function, each keyword of ``inspect.signature``: a case whose value must equal
numpy's and whose derivatives (forward and reverse, to second order) must match central differences of numpy
itself called with that keyword; or a case that must be refused with a message naming the keyword."""

import inspect

import numpy as np
import pytest

from diffcompare.ad.numpy_api import FUNCTIONS, UFUNCS
from diffcompare.errors import TracingError

X = np.array([0.5, -1.2, 2.0, 0.3])
M = np.array([[0.5, -1.2, 2.0], [0.3, 1.7, -0.8]])
SQ = np.array([[0.5, -1.2], [0.3, 1.7]])
C = np.array([0.7, -0.4, 1.1, 0.9])  # a constant second operand
MASK = np.array([True, False, True, False])
MMASK = np.array([[True, False, True], [False, True, True]])
OK, REFUSED = "ok", "refused"

# (numpy function, keyword, f using it, point, outcome); points avoid ties and kinks (distinct |values|)
CASES = [
    (np.sum, "axis", lambda x: np.sum(x, axis=-1), M, OK),
    (np.sum, "axis", lambda x: np.sum(x, axis=(0, 1)), M, OK),
    (np.sum, "dtype", lambda x: np.sum(x, dtype=np.float64), X, OK),
    (np.sum, "dtype", lambda x: np.sum(x, dtype=np.float32), X, REFUSED),
    (np.sum, "out", lambda x: np.sum(x, out=np.empty(())), X, REFUSED),
    (np.sum, "keepdims", lambda x: np.sum(x, axis=1, keepdims=True), M, OK),
    (np.sum, "initial", lambda x: np.sum(x, initial=10.0), X, OK),
    (np.sum, "initial", lambda x: np.sum(x, axis=0, initial=-3.0), M, OK),
    (np.sum, "where", lambda x: np.sum(x, where=MASK), X, OK),
    (np.sum, "where", lambda x: np.sum(x, axis=1, where=MMASK, initial=1.0), M, OK),
    (np.mean, "axis", lambda x: np.mean(x, axis=(0, 1)), M, OK),
    (np.mean, "dtype", lambda x: np.mean(x, dtype="float64"), X, OK),
    (np.mean, "dtype", lambda x: np.mean(x, dtype=np.float32), X, REFUSED),
    (np.mean, "out", lambda x: np.mean(x, out=np.empty(())), X, REFUSED),
    (np.mean, "keepdims", lambda x: np.mean(x, axis=0, keepdims=True), M, OK),
    (np.mean, "where", lambda x: np.mean(x, where=MASK), X, OK),
    (np.mean, "where", lambda x: np.mean(x, axis=0, where=MMASK, keepdims=True), M, OK),
    (np.prod, "axis", lambda x: np.prod(x, axis=-2), M, OK),
    (np.prod, "dtype", lambda x: np.prod(x, dtype=float), X, OK),
    (np.prod, "dtype", lambda x: np.prod(x, dtype=np.float32), X, REFUSED),
    (np.prod, "out", lambda x: np.prod(x, out=np.empty(())), X, REFUSED),
    (np.prod, "keepdims", lambda x: np.prod(x, axis=1, keepdims=True), M, OK),
    (np.prod, "initial", lambda x: np.prod(x, initial=2.0), X, OK),
    (np.prod, "where", lambda x: np.prod(x, where=MASK), X, OK),
    (np.prod, "where", lambda x: np.prod(x, axis=1, where=MMASK, initial=-1.5), M, OK),
]
for _f in (np.max, np.amax, np.min, np.amin):
    CASES += [
        (_f, "axis", lambda x, f=_f: f(x, axis=0), M, OK),
        (_f, "out", lambda x, f=_f: f(x, out=np.empty(())), X, REFUSED),
        (_f, "keepdims", lambda x, f=_f: f(x, axis=-1, keepdims=True), M, OK),
        (_f, "initial", lambda x, f=_f: f(x, initial=10.0), X, OK),  # the initial value wins: gradient 0
        (_f, "initial", lambda x, f=_f: f(x, initial=-10.0), X, OK),  # an element wins
        (_f, "initial", lambda x, f=_f: f(x, axis=1, initial=0.0), M, OK),  # some rows each way
        (_f, "where", lambda x, f=_f: f(x, where=MASK, initial=0.4 if f in (np.max, np.amax) else 0.45), X, OK),
        (_f, "where", lambda x, f=_f: f(x, axis=0, where=MMASK, initial=0.0), M, OK),
    ]
CASES += [
    (np.dot, "out", lambda x: np.dot(x, C, out=np.empty(())), X, REFUSED),
    (np.transpose, "axes", lambda x: np.transpose(x, (1, 0)), M, OK),
    (np.transpose, "axes", lambda x: np.transpose(x, [-1, 0]), M, OK),
    (np.reshape, "shape", lambda x: np.reshape(x, (3, 2)), M, OK),
    (np.reshape, "order", lambda x: np.reshape(x, (3, 2), order="C"), M, OK),
    (np.reshape, "order", lambda x: np.reshape(x, (3, 2), order="F"), M, REFUSED),
    (np.reshape, "copy", lambda x: np.reshape(x, (6,), copy=True), M, OK),
    (np.ravel, "order", lambda x: np.ravel(x, order="C"), M, OK),
    (np.ravel, "order", lambda x: np.ravel(x, order="F"), M, REFUSED),
    (np.concatenate, "axis", lambda x: np.concatenate([x, M], axis=1), M, OK),
    (np.concatenate, "axis", lambda x: np.concatenate([x, X], axis=None), M, OK),
    (np.concatenate, "out", lambda x: np.concatenate([x, C], out=np.empty(8)), X, REFUSED),
    (np.concatenate, "dtype", lambda x: np.concatenate([x, C], dtype=np.float64), X, OK),
    (np.concatenate, "dtype", lambda x: np.concatenate([x, C], dtype=np.float32), X, REFUSED),
    (np.concatenate, "casting", lambda x: np.concatenate([x, C], casting="same_kind"), X, OK),
    (np.stack, "axis", lambda x: np.stack([x, C], axis=-1), X, OK),
    (np.stack, "out", lambda x: np.stack([x, C], out=np.empty((2, 4))), X, REFUSED),
    (np.stack, "dtype", lambda x: np.stack([x, C], dtype="f8"), X, OK),
    (np.stack, "dtype", lambda x: np.stack([x, C], dtype=np.float32), X, REFUSED),
    (np.stack, "casting", lambda x: np.stack([x, C], casting="same_kind"), X, OK),
    (np.broadcast_to, "shape", lambda x: np.broadcast_to(x, (3, 4)), X, OK),
    (np.broadcast_to, "subok", lambda x: np.broadcast_to(x, (2, 4), subok=True), X, OK),
    (np.squeeze, "axis", lambda x: np.squeeze(x, axis=0), M[None], OK),
    (np.expand_dims, "axis", lambda x: np.expand_dims(x, axis=(0, 2)), X, OK),
    (np.linalg.norm, "axis", lambda x: np.linalg.norm(x, axis=1), M, OK),
    (np.linalg.norm, "axis", lambda x: np.linalg.norm(x, axis=(0, 1)), M, OK),
    (np.linalg.norm, "keepdims", lambda x: np.linalg.norm(x, keepdims=True), M, OK),
    (np.linalg.norm, "keepdims", lambda x: np.linalg.norm(x, ord=1, axis=(1, 0), keepdims=True), M, OK),
]
CASES += [(np.linalg.norm, "ord", lambda x, o=o: np.linalg.norm(x, ord=o), X, OK)
          for o in (None, 1, 2, np.inf, -np.inf, 0, 3, 0.5, -1)]
CASES += [(np.linalg.norm, "ord", lambda x, o=o: np.linalg.norm(x, ord=o, axis=0), M, OK) for o in (1, 3, np.inf)]
CASES += [(np.linalg.norm, "ord", lambda x, o=o: np.linalg.norm(x, ord=o), M, OK)
          for o in (None, "fro", 1, -1, np.inf, -np.inf)]
CASES += [(np.linalg.norm, "ord", lambda x, o=o: np.linalg.norm(x, ord=o), M, REFUSED) for o in (2, -2, "nuc")]

# the arguments that are the data, not keywords
DATA = {np.dot: {"a", "b"}, np.concatenate: {"arrays"}, np.stack: {"arrays"}, np.broadcast_to: {"array"},
        np.linalg.norm: {"x"}, np.where: {"condition", "x", "y"}, np.real: {"val"}, np.imag: {"val"}}
DIFFERENTIABLE = [f for f in FUNCTIONS if f not in (np.shape, np.ndim, np.size, np.zeros_like, np.ones_like,
                                                  np.argmax, np.argmin, np.allclose, np.isclose, np.all, np.any)]


@pytest.mark.parametrize("func", DIFFERENTIABLE, ids=lambda f: f.__name__)
def test_every_keyword_of_every_function_has_a_case(func):
    keywords = set(inspect.signature(func).parameters) - DATA.get(func, {"a"})
    covered = {kw for f, kw, *_ in CASES if f is func}
    assert keywords == covered


def _value_and_derivatives_match_numpy(ad, f, x):
    expected = f(x)
    # the engine's value is numpy's up to a rounding or two (its mean is a sum over a count, its norms are
    # composed of primitives): 1e-14 relative
    np.testing.assert_allclose(ad.vjp(f, x)[0], expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(ad.jvp(f, (x,), (np.ones_like(x),))[0], expected, rtol=1e-14, atol=0)
    ad.check_grads(f, (x,), order=2)  # forward and reverse, first and second order, against numpy's own f


@pytest.mark.parametrize("func, keyword, f, x, outcome", CASES,
                         ids=[f"{c[0].__name__}-{c[1]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.jit_slow(default=lambda p: p["outcome"] != OK or p["func"] in (np.sum, np.linalg.norm))
def test_keyword_is_honoured_or_refused_by_name(ad, func, keyword, f, x, outcome):
    if outcome == OK:
        _value_and_derivatives_match_numpy(ad, f, x)
    else:
        name = {"norm": "linalg.norm", "amax": "max", "amin": "min"}.get(func.__name__, func.__name__)
        with pytest.raises(TracingError, match=rf"^np\.{name}: keyword '{keyword}' is not supported under "
                                               "differentiation; "):
            ad.grad(lambda x: np.sum(f(x)))(x)


def test_the_issue_examples(ad):
    x = X
    assert ad.value_and_grad(lambda x: np.max(x, initial=10))(x)[1].tolist() == [0, 0, 0, 0]
    v, g = ad.value_and_grad(lambda x: np.prod(x, initial=2))(x)
    np.testing.assert_allclose(g, 2 * np.prod(x) / x, rtol=1e-15)
    assert ad.value_and_grad(lambda x: np.sum(x, initial=10))(x)[0] == pytest.approx(11.6, rel=1e-15)
    v, g = ad.value_and_grad(lambda x: np.mean(x, where=MASK))(x)
    assert v == 1.25 and g.tolist() == [0.5, 0, 0.5, 0]
    assert ad.jvp(lambda x: np.mean(x, where=MASK), (x,), (np.array([1.0, 1, 0, 0]),))[1] == 0.5


def test_a_tie_with_initial_shares_the_gradient_as_maximum_does(ad):
    # max(x, initial=2) with max(x) == 2: a kink, given half to each side as np.maximum's ties (JAX's convention)
    assert ad.grad(lambda x: np.max(x, initial=2.0))(X).tolist() == [0, 0, 0.5, 0]


def test_methods_take_the_same_keywords(ad):
    g = ad.grad(lambda x: x.sum(initial=1.0) + x.max(initial=5.0) + x.mean(where=MASK) + x.prod(where=MASK))(X)
    np.testing.assert_allclose(g, [1.5 + 2.0, 1.0, 1.5 + 0.5, 1.0], rtol=1e-15)
    with pytest.raises(TracingError, match="keyword 'out'"):
        ad.grad(lambda x: x.sum(out=np.empty(())))(X)
    with pytest.raises(TracingError, match=r"^np\.reshape: keyword 'order'"):
        ad.grad(lambda x: np.sum(x.reshape(2, 2, order="F") * SQ))(X)
    with pytest.raises(TracingError, match=r"^np\.ravel: keyword 'order'"):
        ad.grad(lambda x: np.sum(x.reshape(2, 2).ravel("F") * X))(X)
    g = ad.grad(lambda x: np.sum(x.reshape(2, 2).transpose(-1, 0) * SQ))(X)  # negative axes, as numpy
    np.testing.assert_array_equal(g, SQ.T.ravel())


# ---- ufuncs: numpy's keywords on every differentiable ufunc ----------------------------------------
_UNARY_DOMAIN = np.array([0.3, 0.5, 0.7, 0.2])  # inside every unary ufunc's domain (log, sqrt, arcsin, ...)
_OTHER = np.array([1.3, 0.7, 2.1, 0.4])  # distinct from the above: no ties in maximum/minimum
DIFF_UFUNCS = [u for u, fn in UFUNCS.items() if fn.__class__.__name__ == "Primitive" or u is np.positive]


def _ufunc_call(u, **kw):
    if u is np.matmul:
        return (lambda x: u(x, SQ, **kw)), SQ.T.copy()
    if u.nin == 2:
        return (lambda x: u(x, _OTHER, **kw)), _UNARY_DOMAIN
    return (lambda x: u(x, **kw)), _UNARY_DOMAIN


UFUNC_CASES = {  # keyword: (honoured values, refused values)
    "out": ((), (None,)), "where": ((True,), (MASK,)), "casting": (("same_kind",), ("unsafe",)),
    "order": (("K", "C"), ()), "dtype": ((np.float64,), (np.float32,)), "subok": ((True, False), ()),
    "signature": ((), ("dd->d",)), "axes": ((), ([(-2, -1), (-2, -1), (-2, -1)],)),
    "axis": ((), (-1,)), "keepdims": ((), ()),  # numpy itself refuses keepdims for matmul, the one gufunc
}


def _ufunc_keywords(u):
    return [k for k in inspect.signature(u).parameters if k not in ("x", "x1", "x2")]


@pytest.mark.parametrize("u", DIFF_UFUNCS, ids=lambda u: u.__name__)
def test_every_ufunc_keyword_has_cases(u):
    assert set(_ufunc_keywords(u)) <= set(UFUNC_CASES)


@pytest.mark.parametrize("u", DIFF_UFUNCS, ids=lambda u: u.__name__)
@pytest.mark.jit_slow(default=lambda p: p["u"].__name__ in ("add", "sqrt"))  # a program per case: two by default
def test_ufunc_keywords_are_honoured_or_refused_by_name(ad, u):
    for keyword in _ufunc_keywords(u):
        honoured, refused = UFUNC_CASES[keyword]
        for value in honoured:
            f, x = _ufunc_call(u, **{keyword: value})
            _value_and_derivatives_match_numpy(ad, f, x)
        for value in refused:
            if keyword == "out":  # an array of the result's shape, numpy's own requirement
                value = np.empty_like(_ufunc_call(u)[0](_ufunc_call(u)[1]))
            f, x = _ufunc_call(u, **{keyword: value})
            with pytest.raises(TracingError, match=rf"^np\.{u.__name__}: keyword '{keyword}' is not supported"):
                ad.grad(lambda x, f=f: np.sum(f(x)))(x)


@pytest.mark.parametrize("func", [np.sum, np.prod, np.max, np.min, np.mean], ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.jit_slow(default=lambda p: p["axis"] == 0)  # axis=0: the one the program once dropped
def test_where_and_initial_combine_with_axis_and_keepdims(ad, func, axis, keepdims):
    kw = {"axis": axis, "keepdims": keepdims, "where": MMASK}
    if func is not np.mean:
        kw["initial"] = {np.sum: 0.25, np.prod: -1.5, np.max: 0.1, np.min: 0.2}[func]  # no ties with M's values
    _value_and_derivatives_match_numpy(ad, lambda x: func(x, **kw), M)
