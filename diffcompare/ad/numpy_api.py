"""numpy on traced values: ``__array_ufunc__`` and ``__array_function__`` dispatch, operators and methods.

The ufunc table and the Python operators are generated from the rules table (:mod:`diffcompare.ad.rules`);
the numpy functions (``np.sum``, ``np.max``, ``np.linalg.norm`` ...) are wrappers that check numpy's keywords
and compose the table's primitives. Every keyword numpy accepts is either honoured or refused by name: a
keyword the traced version ignored gave numpy's answer's look-alike with a wrong value or gradient.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.ad.rules import (
    RULES, abs_, add, amax, amin, broadcast_to, concatenate, decided, div, dot, maximum, minimum, mul, norm, pow_, prod,
    reshape, sqrt, stack, sum_,
    transpose, ufunc_table, where,
)
from diffcompare.ad.tracer import Box, Primitive, raw, shape_of
from diffcompare.errors import TracingError

_NO = np._NoValue  # numpy's "not given" default


def _nondiff(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args, **kw: fn(*[decided(a) for a in args], **kw)


def _refuse(fname: str, keyword: str, way_out: str) -> TracingError:
    return TracingError(f"np.{fname}: keyword '{keyword}' is not supported under differentiation; {way_out}")


def _check_out_dtype(fname: str, a: Any, out: Any, dtype: Any) -> None:
    """out= refused, dtype= honoured only when it is the engine's (called only when one of them is given)."""
    _check_out(fname, out)
    _check_dtype(fname, a, dtype)


def _check_out(fname: str, out: Any) -> None:
    if out is not None:
        raise _refuse(fname, "out", f"assign the result instead (y = np.{fname}(...)), which keeps its derivative")


def _dtype_of(a: Any) -> Any:
    """The dtype the engine computes ``a`` in (a traced value's without computing what was deferred)."""
    if isinstance(a, (list, tuple)):
        dtype = _F64
        for e in a:  # one at a time: np.result_type takes at most 64 arguments
            dtype = np.promote_types(dtype, _dtype_of(e))
        return dtype
    if isinstance(a, Box):
        return a.dtype
    return np.result_type(a, float)


def _check_dtype(fname: str, a: Any, dtype: Any) -> None:
    """A dtype is honoured when it is the one the engine computes in; any other would change the values."""
    if dtype is not None and np.dtype(dtype) != _dtype_of(a):
        raise _refuse(fname, "dtype", f"the engine computes in {_dtype_of(a)}: leave dtype out, and convert "
                                      "the result after differentiating")


_F64 = np.dtype(np.float64)


def _given(v: Any) -> bool:
    return v is not _NO


def _keepdims(keepdims: Any) -> bool:
    return keepdims is not _NO and bool(keepdims)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _masked(a: Any, mask: Any, fill: float) -> Any:
    """``a`` with the elements ``where=`` leaves out replaced by ``fill``, the reduction's identity (a constant,
    so they get no gradient). The mask must broadcast to ``a``'s shape, as numpy requires."""
    mask = np.asarray(raw(mask), dtype=bool)
    shape = shape_of(a)
    if np.broadcast_shapes(mask.shape, shape) != shape:
        raise ValueError(f"where= mask of shape {mask.shape} does not broadcast to the array's shape {shape}")
    return where(np.broadcast_to(mask, shape), a, fill)


def _has_mask(w: Any) -> bool:
    return w is not _NO and w is not True


def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = _NO, initial: Any = _NO,
         where: Any = _NO) -> Any:
    if out is not None or dtype is not None:
        _check_out_dtype("sum", a, out, dtype)
    if _has_mask(where):
        a = _masked(a, where, 0.0)
    total = sum_(a, axis=_axis(axis), keepdims=_keepdims(keepdims))
    return total if initial is _NO else add(total, initial)


def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = _NO, initial: Any = _NO,
          where: Any = _NO) -> Any:
    if out is not None or dtype is not None:
        _check_out_dtype("prod", a, out, dtype)
    if _has_mask(where):
        a = _masked(a, where, 1.0)
    p = prod(a, axis=_axis(axis), keepdims=_keepdims(keepdims))
    return p if initial is _NO else mul(p, initial)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements a reduction over ``axis`` takes in each result element."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return math.prod(shape[a] for a in axes)


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = _NO, *,
          where: Any = _NO) -> Any:
    if out is not None or dtype is not None:
        _check_out_dtype("mean", a, out, dtype)
    axis, kd = _axis(axis), _keepdims(keepdims)
    if _has_mask(where):  # the mean of the selected elements: their sum over their count (nan where none, as numpy)
        mask = np.broadcast_to(np.asarray(raw(where), dtype=bool), shape_of(a))
        count = np.sum(mask, axis=axis, keepdims=kd).astype(float)
        return div(sum_(_masked(a, mask, 0.0), axis=axis, keepdims=kd), count)
    return div(sum_(a, axis=axis, keepdims=kd), float(_count(shape_of(a), axis)))


def _extreme(prim: Primitive, pair: Primitive, fill: float) -> Callable[..., Any]:
    """np.max / np.min: ``initial`` joins the reduction as one more candidate (through maximum/minimum, so a tie
    with it shares the gradient, as ties do); ``where`` leaves elements out (numpy then requires ``initial``)."""

    def call(a: Any, axis: Any = None, out: Any = None, keepdims: Any = _NO, initial: Any = _NO,
             where: Any = _NO) -> Any:
        if out is not None:
            _check_out(prim.name, out)
        axis, kd = _axis(axis), _keepdims(keepdims)
        if _has_mask(where):
            if not _given(initial):
                raise ValueError(f"reduction operation '{pair.name}' does not have an identity, so to use a "
                                 "where mask one has to specify 'initial'")
            a = _masked(a, where, fill)
        if initial is not _NO and 0 in shape_of(a):  # nothing but the initial value: a constant
            return getattr(np, prim.name)(np.empty(shape_of(a)), axis=axis, keepdims=kd, initial=raw(initial))
        r = prim(a, axis=axis, keepdims=kd)
        return r if initial is _NO else pair(r, initial)

    return call


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:
    """numpy's vector norms, composed of differentiable primitives."""
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord is None or ord == 2:
        return norm(x) if axis is None and not keepdims else sqrt(sum_(mul(x, x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return amax(abs_(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return amin(abs_(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # the count of nonzeros: piecewise constant, no derivative
        return np.sum(raw(x) != 0, axis=axis, keepdims=keepdims).astype(float)
    if ord == 1:
        return sum_(abs_(x), axis=axis, keepdims=keepdims)
    return pow_(sum_(pow_(abs_(x), float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:
    """numpy's matrix norms over ``axes`` (row, col); the singular-value ones are refused."""
    row, col = axes
    if ord is None or ord == "fro":
        r = norm(x) if len(shape_of(x)) == 2 else sqrt(sum_(mul(x, x), axis=axes))
    elif ord in (1, -1):  # the largest (smallest) column sum of |x|
        reduce = amax if ord == 1 else amin
        r = reduce(sum_(abs_(x), axis=row), axis=col - 1 if col > row else col)
    elif ord in (np.inf, -np.inf):  # the largest (smallest) row sum of |x|
        reduce = amax if ord == np.inf else amin
        r = reduce(sum_(abs_(x), axis=col), axis=row - 1 if row > col else row)
    elif ord in (2, -2, "nuc"):
        raise _refuse("linalg.norm", "ord", f"ord={ord!r} of a matrix (from its singular values) has no "
                                            "derivative rule here; use ord='fro', 1 or inf")
    else:
        raise ValueError(f"Invalid norm order {ord!r} for matrices.")
    if keepdims:
        shape = list(shape_of(x))
        shape[row] = shape[col] = 1
        r = reshape(r, tuple(shape))
    return r


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = len(shape_of(x))
    axis = _axis(axis)
    if axis is None:
        if ord is None:  # the 2-norm of all elements, whatever the shape
            r = norm(x)
            return reshape(r, (1,) * nd) if keepdims else r
        if nd == 1:
            return _vector_norm(x, ord, None, keepdims)
        axis = tuple(range(nd))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(int(a) % nd for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _transpose(a: Any, axes: Any = None) -> Any:
    if axes is None:
        return transpose(a, None)
    nd = len(shape_of(a))
    return transpose(a, tuple(int(i) % nd for i in axes))  # the VJP inverts them: negative axes normalized


def _c_order(fname: str, order: Any) -> None:
    if order != "C":
        raise _refuse(fname, "order", "only C order is supported on traced values; leave order out")


def _reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None) -> Any:
    _c_order("reshape", order)
    shape = newshape if newshape is not None else shape
    return reshape(a, tuple(shape) if isinstance(shape, list) else shape)


def _ravel(a: Any, order: str = "C") -> Any:
    _c_order("ravel", order)
    return reshape(a, (-1,))


def _joined(fname: str, prim: Primitive) -> Callable[..., Any]:
    def call(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind") -> Any:
        if out is not None or dtype is not None:
            _check_out_dtype(fname, list(arrays), out, dtype)
        if axis is None:
            if prim is stack:
                raise TypeError("'NoneType' object cannot be interpreted as an integer")  # numpy's own refusal
            return concatenate(*[reshape(a, (-1,)) for a in arrays], axis=0)  # numpy: flattened first
        return prim(*arrays, axis=axis)

    return call


def _where(condition: Any, x: Any = _NO, y: Any = _NO) -> Any:
    if not _given(x) and not _given(y):
        return np.where(raw(condition))  # the indices of the nonzeros: no derivative
    if not (_given(x) and _given(y)):
        raise ValueError("either both or neither of x and y should be given")
    return where(decided(condition), x, y)


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _sum, np.mean: _mean, np.prod: _prod,
    np.max: _extreme(amax, maximum, -np.inf), np.amax: _extreme(amax, maximum, -np.inf),
    np.min: _extreme(amin, minimum, np.inf), np.amin: _extreme(amin, minimum, np.inf),
    np.dot: lambda a, b, out=None: (_check_out("dot", out), dot(a, b))[1],
    np.transpose: _transpose,
    np.reshape: _reshape,
    np.ravel: _ravel,
    np.concatenate: _joined("concatenate", concatenate),
    np.stack: _joined("stack", stack),
    np.where: _where,
    np.broadcast_to: lambda array, shape, subok=False: broadcast_to(array, tuple(np.atleast_1d(shape))),
    # squeeze and expand_dims are reshapes; numpy works out the new shape on an empty stand-in
    np.squeeze: lambda a, axis=None: reshape(a, np.squeeze(np.empty(shape_of(raw(a)), bool), _axis(axis)).shape),
    np.expand_dims: lambda a, axis: reshape(a, np.expand_dims(np.empty(shape_of(raw(a)), bool), _axis(axis)).shape),
    np.linalg.norm: _norm,
    np.shape: lambda a: np.shape(raw(a)), np.ndim: lambda a: np.ndim(raw(a)),
    np.size: lambda a, axis=None: np.size(raw(a), axis),
    np.zeros_like: lambda a, *args, **kw: np.zeros_like(raw(a), *args, **kw),
    np.ones_like: lambda a, *args, **kw: np.ones_like(raw(a), *args, **kw),
    np.real: lambda val: val.real, np.imag: lambda val: val.imag,
    np.argmax: _nondiff(np.argmax), np.argmin: _nondiff(np.argmin),
    np.allclose: _nondiff(np.allclose), np.isclose: _nondiff(np.isclose),
    np.all: _nondiff(np.all), np.any: _nondiff(np.any),
}

# generated from the rules table, plus the ufuncs that need no rule of their own
UFUNCS: dict[Any, Callable[..., Any]] = {**ufunc_table(), np.positive: lambda x: x, np.conjugate: lambda x: x.conj()}
for _uf in (np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
            np.sign, np.floor, np.ceil, np.rint, np.isfinite, np.isnan, np.isinf,
            np.logical_and, np.logical_or, np.logical_not, np.trunc):
    UFUNCS[_uf] = _nondiff(_uf)

# ufunc keywords that cannot change the values the engine computes: memory order, subclass passing
_UFUNC_HARMLESS = {"order": None, "subok": None}
# and those honoured at their default only
_UFUNC_DEFAULTS = {"casting": "same_kind", "where": True, "signature": None, "axes": None, "axis": None,
                   "keepdims": False}


def _is_default(v: Any, default: Any) -> bool:
    return v is default or (isinstance(v, (str, bool, np.bool_)) and v == default)


def dispatch_ufunc(ufunc: Any, method: str, inputs: Any, kwargs: dict[str, Any]) -> Any:
    fn = UFUNCS.get(ufunc)
    name = ufunc.__name__
    if fn is None:
        raise TracingError(f"numpy.{name} is not differentiable by diffcompare; "
                           "supported: " + ", ".join(sorted(u.__name__ for u in UFUNCS)))
    if method != "__call__":
        raise TracingError(f"np.{name}.{method} is not supported under differentiation; call np.{name} itself "
                           "(or np.sum, np.prod, np.max for its reductions)")
    out = kwargs.get("out")
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        if any(o is i for o in outs for i in inputs):
            raise TracingError(f"an in-place update of an array by a traced value (`a += x`, or np.{name}(..., "
                               "out=a)) cannot hold the derivative: write `a = a + x` (a new array) instead")
        raise _refuse(name, "out", f"assign the result instead (y = np.{name}(...)), which keeps its derivative")
    for k, v in kwargs.items():
        if k == "out" or k in _UFUNC_HARMLESS:
            continue
        if k == "dtype":
            _check_dtype(name, list(inputs), v)
        elif k not in _UFUNC_DEFAULTS:
            raise TypeError(f"'{k}' is an invalid keyword to ufunc '{name}'")  # numpy's own refusal
        elif not _is_default(v, _UFUNC_DEFAULTS[k]):
            raise _refuse(name, k, f"only {k}={_UFUNC_DEFAULTS[k]!r} is supported on traced values")
    return fn(*inputs)


def dispatch_function(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    fn = FUNCTIONS.get(func)
    if fn is None:
        raise TracingError(f"numpy.{getattr(func, '__name__', func)} is not differentiable by diffcompare; "
                           "see diffcompare.ad.numpy_api.FUNCTIONS for what is")
    return fn(*args, **kwargs)


# ---- operators and methods of traced values ------------------------------------------------
def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda self, other: op(decided(self), decided(other))


def _in_a_list(name: str) -> Callable[[Box], Any]:
    def method(self: Box) -> Any:
        raise TracingError(f"np.{name} was given a list (or object array) of traced values, which numpy cannot pass "
                           f"to the engine: make them one traced array first, np.{name}(np.stack([...]))")

    return method


def _real_valued(x: Any, what: str) -> Any:
    """``x`` if its values are real (so that ``what`` changes nothing); a refusal for complex ones."""
    if isinstance(x, Box) and x.dtype.kind == "c":
        raise TracingError(f"{what} of a complex traced value is not holomorphic, and the engine differentiates "
                           "complex functions only as holomorphic (df/dz): take it outside f, or pass the real "
                           "and imaginary parts as two real arguments")
    return x


def _imag(x: Any) -> Any:
    """The imaginary part of a real traced value: a constant 0 of its shape (its derivative is 0)."""
    x = _real_valued(x, "the imaginary part (.imag, np.imag)")
    return np.zeros(shape_of(x)) if shape_of(x) else 0.0

def _operator(prim: Primitive, reflected: bool) -> Callable[..., Any]:
    if reflected:
        return lambda s, o: prim(o, s)
    return lambda s, o=None: prim(s) if o is None else prim(s, o)


class Traced(Box):
    """A traced value with numpy's operators and methods: each routed to a primitive of the table."""

    __slots__ = ()
    stages = False  # a staging level records comparisons on its values (see decided)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kw: Any) -> Any:
        return dispatch_ufunc(ufunc, method, inputs, kw)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return dispatch_function(func, args, kwargs)

    __pos__ = lambda s: s  # noqa: E731
    __lt__ = _compare(operator.lt)
    __le__ = _compare(operator.le)
    __gt__ = _compare(operator.gt)
    __ge__ = _compare(operator.ge)
    __eq__ = _compare(operator.eq)
    __ne__ = _compare(operator.ne)
    __hash__ = Box.__hash__
    # the methods take numpy's arguments, in ndarray's order, through the same checks as the functions
    sum = lambda s, *a, **k: _sum(s, *a, **k)  # noqa: E731
    mean = lambda s, *a, **k: _mean(s, *a, **k)  # noqa: E731
    prod = lambda s, *a, **k: _prod(s, *a, **k)  # noqa: E731
    max = lambda s, *a, **k: FUNCTIONS[np.max](s, *a, **k)  # noqa: E731
    min = lambda s, *a, **k: FUNCTIONS[np.min](s, *a, **k)  # noqa: E731
    dot = lambda s, o, out=None: FUNCTIONS[np.dot](s, o, out)  # noqa: E731
    reshape = lambda s, *shape, order="C", copy=None: _reshape(s, shape[0] if len(shape) == 1 else shape, order)  # noqa: E731
    transpose = lambda s, *axes: _transpose(s, (axes[0] if len(axes) == 1 else axes) or None)  # noqa: E731
    T = property(lambda s: transpose(s, None))
    ravel = flatten = lambda s, order="C": _ravel(s, order)  # noqa: E731
    squeeze = lambda s, axis=None: FUNCTIONS[np.squeeze](s, axis)  # noqa: E731
    # real and complex parts, for real values only (complex ones: see _real_valued)
    real = property(lambda s: _real_valued(s, "the real part (.real, np.real)"))
    imag = property(_imag)
    conj = conjugate = lambda s: _real_valued(s, "the complex conjugate (.conj(), np.conj)")  # noqa: E731
    norm = lambda s: _norm(s)  # torch's spelling, as in the lecture's Exercise 3  # noqa: E731


# the Python operators of the table's statements (ops=): "__add__" calls add(self, other), "__radd__" add(other, self)
for _rule in RULES.values():
    for _name in _rule.ops:
        setattr(Traced, _name, _operator(_rule.prim, reflected=_name.startswith("__r") and _name != "__rshift__"))
# numpy applies np.exp to a list of traced values element by element, through a method named exp
for _name in ("exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos",
              "arctan", "sqrt", "exp2", "log2", "log10", "arcsinh", "arccosh", "arctanh", "cbrt"):
    setattr(Traced, _name, _in_a_list(_name))
