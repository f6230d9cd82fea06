"""The table of primitives: each with its numpy implementation and its derivative rules.

Rules are written with primitives themselves, so they can be differentiated again. Python
floats stay Python floats (``math`` is used for them: it is several times faster than numpy
on scalars, and falls back to numpy's semantics, nan and all, outside its domain).

Conventions at non-differentiable points, as in JAX:
  * ``abs`` at 0 has derivative +1 (the right derivative);
  * ``maximum``/``minimum`` at a tie give each argument half of the gradient;
  * ``max``/``min`` reductions share the gradient equally among tied maxima/minima;
  * ``sqrt`` at 0 has derivative inf; ``x ** y`` has derivative 0 with respect to ``y`` at ``x == 0``.
Comparisons, ``sign``, ``floor`` and friends are not differentiable: they act on the raw values
and return constants.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.ad import core as _core
from diffcompare.ad.core import (
    MINUS_ONE, ONE, Box, Primitive, defpartials, defrules, is_basic_index, shape_of, unbroadcast,
)
from diffcompare.errors import TracingError


def raw(x: Any) -> Any:
    """The plain number or array under any number of trace levels."""
    while isinstance(x, Box):
        x = x.value
    return x


def _scalar_or_numpy(math_fn: Callable[[float], float], np_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def impl(x: Any) -> Any:
        if x.__class__ is float:
            try:
                return math_fn(x)
            except (ValueError, OverflowError):
                return float(np_fn(x))  # numpy's nan/inf and its warning, as plain numpy would give
        return np_fn(x)

    return impl


def _unary(name: str, math_fn: Callable[[float], float] | None, np_fn: Callable[[Any], Any]) -> Primitive:
    return Primitive(name, _scalar_or_numpy(math_fn, np_fn) if math_fn else np_fn)


def _div_impl(x: Any, y: Any) -> Any:
    if x.__class__ is float and y.__class__ is float and y != 0.0:
        return x / y
    return np.true_divide(x, y) if not (isinstance(x, float) and isinstance(y, float)) else float(np.true_divide(x, y))


def _pow_impl(x: Any, y: Any) -> Any:
    if y.__class__ in (int, float) and y == 2 and isinstance(x, np.ndarray):
        return x * x  # several times faster than np.power(x, 2.0)
    if x.__class__ is float and (y.__class__ is float or y.__class__ is int):
        try:
            r = x**y
            if r.__class__ is float:
                return r
        except (ZeroDivisionError, OverflowError):
            pass
        return float(np.power(x, float(y)))
    return np.power(x, y)


# ---- elementwise arithmetic ---------------------------------------------------------------
add = Primitive("add", operator.add)
sub = Primitive("sub", operator.sub)
mul = Primitive("mul", operator.mul)
div = Primitive("div", _div_impl)
pow_ = Primitive("pow", _pow_impl)
neg = Primitive("neg", operator.neg)

# ---- elementwise functions ------------------------------------------------------------------
exp = _unary("exp", math.exp, np.exp)
log = _unary("log", math.log, np.log)
log1p = _unary("log1p", math.log1p, np.log1p)
expm1 = _unary("expm1", math.expm1, np.expm1)
sin = _unary("sin", math.sin, np.sin)
cos = _unary("cos", math.cos, np.cos)
tan = _unary("tan", math.tan, np.tan)
tanh = _unary("tanh", math.tanh, np.tanh)
sinh = _unary("sinh", math.sinh, np.sinh)
cosh = _unary("cosh", math.cosh, np.cosh)
arcsin = _unary("arcsin", math.asin, np.arcsin)
arccos = _unary("arccos", math.acos, np.arccos)
arctan = _unary("arctan", math.atan, np.arctan)
sqrt = _unary("sqrt", math.sqrt, np.sqrt)
abs_ = _unary("abs", abs, np.abs)
square = _unary("square", lambda x: x * x, np.square)
reciprocal = Primitive("reciprocal", lambda x: _div_impl(1.0, x))


def _foreign(x: Any) -> bool:
    """Not a real number or array: complex values (the complex step), the symbolic backend's sympy values
    (alone or in object arrays). Functions with a stable real form compute those by their plain formula."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind not in "biuf"
    return not isinstance(x, (float, int, np.floating, np.integer))


def _sigmoid_impl(x: Any) -> Any:
    if _foreign(x):
        return 1.0 / (1.0 + np.exp(-x))
    if x.__class__ is int:
        x = float(x)
    if x.__class__ is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out[()] if out.ndim == 0 else out  # a numpy scalar stays a numpy scalar


sigmoid = Primitive("sigmoid", _sigmoid_impl)


def _sech_impl(x: Any) -> Any:
    """1 / cosh(x); 0 where cosh overflows (|x| > 710: sech is below 3e-309 there), without a warning."""
    if x.__class__ is float or x.__class__ is int:
        try:
            return 1.0 / math.cosh(x)
        except OverflowError:
            return 0.0
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(x)


# not a numpy function: the rules of tanh and sigmoid are written with it (their 1 - tanh^2 and s (1 - s) cancel)
sech = Primitive("sech", _sech_impl)
maximum = Primitive("maximum", np.maximum)
minimum = Primitive("minimum", np.minimum)


def _one(ans: Any, *args: Any, **kw: Any) -> float:
    return ONE


def _minus_one(ans: Any, *args: Any, **kw: Any) -> float:
    return MINUS_ONE


defpartials(add, _one, _one)
defpartials(sub, _one, _minus_one)
defpartials(mul, lambda ans, x, y: y, lambda ans, x, y: x)
defpartials(div, lambda ans, x, y: reciprocal(y), lambda ans, x, y: neg(div(ans, y)))


def _pow_dx(ans: Any, x: Any, y: Any) -> Any:
    """y x^(y-1), exact at the kinks and accurate where y - 1 rounds.

    A constant y = 0 gives 0 everywhere (0 x^-1 is nan at x = 0, where x^0 = 1 is flat), and so does
    y = 0 at x = 0 (JAX's convention), through a safe base so that the next order is not 0 * inf.
    Where y - 1 is not a float (y = 0.1), x^(y-1) is off by |log x| ulp(y): ~100 ulps at x = 1e300;
    y ans / x is not, while ans is a normal number (else it under/overflows where x^(y-1) does not).
    For |y| <= 1 it is (y ans) / x, which cannot overflow first: ans / x alone is inf for x**x at 5e-324
    (whose partial is 1); for |y| > 1, ans / x = x^(y-1) is in range wherever the product is.
    """
    constant = not isinstance(y, Box) and y.__class__ in (int, float)
    if constant and y == 2:  # a constant 2 only
        return mul(2.0, x)
    rx = raw(x)
    if constant and y == 0:
        return 0.0 if np.ndim(rx) == 0 else np.zeros(np.shape(rx))
    ry = np.asarray(raw(y))
    if ans is not None and not np.all((ry - 1.0) + 1.0 == ry):
        ra = np.abs(np.asarray(raw(ans)))
        if np.all((ra >= _TINY) & (ra < np.inf) & (np.asarray(rx) != 0)):
            return div(mul(y, ans), x) if np.all(np.abs(ry) <= 1.0) else mul(y, div(ans, x))
    flat = (np.asarray(rx) == 0) & (ry == 0)
    if not flat.any():
        return mul(y, pow_(x, sub(y, 1.0)))
    return where(flat, 0.0, mul(y, pow_(where(flat, 1.0, x), sub(y, 1.0))))


_TINY = np.finfo(float).tiny  # the smallest normal float


def _pow_dy(ans: Any, x: Any, y: Any) -> Any:
    rx = raw(x)
    if np.any(np.asarray(rx) == 0):  # 0 ** y: derivative 0 with respect to y, as JAX
        safe = where(np.asarray(rx) == 0, 1.0, x)
        return where(np.asarray(rx) == 0, 0.0, mul(ans, log(safe)))
    return mul(ans, log(x))


defpartials(pow_, _pow_dx, _pow_dy)
defpartials(neg, _minus_one)
defpartials(exp, lambda ans, x: ans)
defpartials(log, lambda ans, x: reciprocal(x))
defpartials(log1p, lambda ans, x: reciprocal(add(1.0, x)))
defpartials(expm1, lambda ans, x: exp(x))  # not ans + 1: that is 0 where ans rounds to -1 (x < -37)
defpartials(sin, lambda ans, x: cos(x))
defpartials(cos, lambda ans, x: neg(sin(x)))
defpartials(tan, lambda ans, x: add(1.0, mul(ans, ans)))


def _sech_squared(x: Any) -> Any:
    """sech^2 x: 1 - tanh^2 x without the cancellation (0 from |x| > 19, where it is 1.7e-17 and less)."""
    s = sech(x)
    return mul(s, s)


defpartials(tanh, lambda ans, x: _sech_squared(x))
defpartials(sinh, lambda ans, x: cosh(x))
defpartials(cosh, lambda ans, x: sinh(x))


def _by_size(x: Any, limit: float, small: Callable[[Any], Any], large: Callable[[Any], Any]) -> Any:
    """``small(x)`` where |x| < limit, ``large(x)`` elsewhere: two forms of one function, each where it
    keeps its digits (and those of its derivatives). Being the same function, either is right at every
    order, so the choice by value needs no convention; each form sees only the values it is chosen for
    (the others replaced by ``limit``), so no inf or nan of the other form reaches a higher order."""
    far = np.abs(np.asarray(raw(x))) >= limit
    if far.all():
        return large(x)
    if not far.any():
        return small(x)
    return where(far, large(where(far, x, limit)), small(where(far, 0.0, x)))


def _one_minus_square(x: Any) -> Any:
    """1 - x^2: (1 - x)(1 + x) from |x| = 1/2, where 1 - x is exact and 1 - x*x cancels near |x| = 1;
    1 - x*x below, where its derivative -2x is exact and (1 - x) - (1 + x) would cancel near 0."""
    return _by_size(x, 0.5, lambda v: sub(1.0, mul(v, v)), lambda v: mul(sub(1.0, v), add(1.0, v)))


def _arctan_partial(x: Any) -> Any:
    """1 / (1 + x^2); as u^2 / (1 + u^2) with u = 1/x for |x| > 1, whose derivatives do not pass through
    (1 + x^2)^2, which overflows from |x| = 1e77 (arctan'' at 1e100 is -2e-300, not 0)."""
    def large(v: Any) -> Any:
        u2 = square(reciprocal(v))
        return div(u2, add(1.0, u2))

    return _by_size(x, 1.0, lambda v: reciprocal(add(1.0, mul(v, v))), large)


defpartials(arcsin, lambda ans, x: reciprocal(sqrt(_one_minus_square(x))))
defpartials(arccos, lambda ans, x: neg(reciprocal(sqrt(_one_minus_square(x)))))
defpartials(arctan, lambda ans, x: _arctan_partial(x))
defpartials(sqrt, lambda ans, x: div(0.5, ans))
defpartials(square, lambda ans, x: mul(2.0, x))
defpartials(reciprocal, lambda ans, x: neg(mul(ans, ans)))
# s (1 - s) = sech^2(x / 2) / 4: no cancellation where s rounds to 1 (x > 37), and none in its derivatives
defpartials(sigmoid, lambda ans, x: mul(0.25, _sech_squared(mul(0.5, x))))
defpartials(sech, lambda ans, x: neg(mul(ans, tanh(x))))


def _abs_partial(ans: Any, x: Any) -> Any:
    rx = raw(x)
    if rx.__class__ is float:
        return 1.0 if rx >= 0 else -1.0
    if np.iscomplexobj(rx):  # |z| is not holomorphic: no derivative of the kind the rules multiply by
        raise TypeError("abs of complex values is not differentiable by diffcompare (|z| is not holomorphic)")
    return np.where(rx >= 0, 1.0, -1.0)


defpartials(abs_, _abs_partial)


def _balanced(x: Any, y: Any, pick: Callable[[Any, Any], Any]) -> Any:
    """1 where ``pick`` selects x, 1/2 at ties, 0 elsewhere (JAX's convention)."""
    rx, ry = np.asarray(raw(x)), np.asarray(raw(y))
    mask = pick(rx, ry, out=np.empty(np.broadcast_shapes(rx.shape, ry.shape)))  # 1.0 / 0.0 in one pass
    tie = rx == ry
    if tie.any():
        mask[np.broadcast_to(tie, mask.shape)] = 0.5
    return float(mask) if mask.ndim == 0 and not isinstance(raw(x), np.ndarray) else mask


defpartials(maximum, lambda ans, x, y: _balanced(x, y, np.greater),
            lambda ans, x, y: _balanced(y, x, np.greater))
defpartials(minimum, lambda ans, x, y: _balanced(x, y, np.less),
            lambda ans, x, y: _balanced(y, x, np.less))

# ---- structure: linear operations ---------------------------------------------------------
sum_ = Primitive("sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims))
reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
transpose = Primitive("transpose", lambda x, axes=None: np.transpose(x, axes))
def _broadcast_impl(x: Any, shape: tuple[int, ...]) -> Any:
    if x.__class__ is float or (x.__class__ is np.ndarray and x.ndim == 0 and x.dtype.kind == "f") \
            or isinstance(x, np.floating):
        # a real scalar (a sum's cotangent, most often): a read-only zero-stride view, built in C (complex ones
        # go to numpy, which keeps them complex); np.broadcast_to's Python-level checks cost more than the
        # rest of a small gradient
        out = np.ndarray(shape, dtype=float, buffer=np.array([x], dtype=float), strides=(0,) * len(shape))
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


broadcast_to = Primitive("broadcast_to", _broadcast_impl)
getitem = Primitive("getitem", lambda x, idx: x[idx])


def _scatter_impl(g: Any, idx: Any, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape, dtype=np.result_type(g, float))
    if is_basic_index(idx):
        out[idx] = g  # a view: each element at most once, so assignment is the sum
    else:
        np.add.at(out, idx, g)  # integer/boolean arrays may repeat an element: accumulate
    return out


scatter_add = Primitive("scatter_add", _scatter_impl)  # zeros(shape) with g added at idx
concatenate = Primitive("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis))
stack = Primitive("stack", lambda *xs, axis=0: np.stack(xs, axis=axis))
where = Primitive("where", lambda c, x, y: np.where(c, x, y))


def _expand_reduced(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduction's cotangent back to the shape of its input."""
    shape = shape_of(x)
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        newshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = reshape(g, newshape)
    return broadcast_to(g, shape)


defrules(sum_,
         lambda g, ans, i, x, axis=None, keepdims=False: _expand_reduced(g, x, axis, keepdims),
         lambda t, ans, x, axis=None, keepdims=False: sum_(t[0], axis=axis, keepdims=keepdims))
defrules(reshape,
         lambda g, ans, i, x, shape: reshape(g, shape_of(x)),
         lambda t, ans, x, shape: reshape(t[0], shape))


def _inverse_axes(axes: Any, ndim: int) -> Any:
    return None if axes is None else tuple(np.argsort(axes))


defrules(transpose,
         lambda g, ans, i, x, axes=None: transpose(g, _inverse_axes(axes, np.ndim(x))),
         lambda t, ans, x, axes=None: transpose(t[0], axes))
defrules(broadcast_to,
         lambda g, ans, i, x, shape: unbroadcast(g, x),
         lambda t, ans, x, shape: broadcast_to(t[0], shape))
defrules(getitem,
         lambda g, ans, i, x, idx: scatter_add(g, idx, shape_of(x)),
         lambda t, ans, x, idx: getitem(t[0], idx))
defrules(scatter_add,
         lambda g, ans, i, x, idx, shape: getitem(g, idx),
         lambda t, ans, x, idx, shape: scatter_add(t[0], idx, shape))


def _split_vjp(g: Any, ans: Any, i: int, *xs: Any, axis: int = 0) -> Any:
    start = sum(shape_of(x)[axis] for x in xs[:i])
    idx = [slice(None)] * np.ndim(ans)
    idx[axis] = slice(start, start + shape_of(xs[i])[axis])
    return getitem(g, tuple(idx))


def _zeros_for_missing(tangents: Any, xs: Any) -> list[Any]:
    return [np.zeros(shape_of(x)) if t is None else t for t, x in zip(tangents, xs)]


defrules(concatenate, _split_vjp,
         lambda t, ans, *xs, axis=0: concatenate(*_zeros_for_missing(t, xs), axis=axis))


def _unstack_vjp(g: Any, ans: Any, i: int, *xs: Any, axis: int = 0) -> Any:
    idx = [slice(None)] * np.ndim(ans)
    idx[axis] = i
    return getitem(g, tuple(idx))


defrules(stack, _unstack_vjp, lambda t, ans, *xs, axis=0: stack(*_zeros_for_missing(t, xs), axis=axis))


def _where_vjp(g: Any, ans: Any, i: int, c: Any, x: Any, y: Any) -> Any:
    zero = np.zeros(shape_of(ans))
    picked = where(c, g, zero) if i == 1 else where(c, zero, g)
    return unbroadcast(picked, (x, y)[i - 1])


def _where_jvp(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    tx = np.zeros(shape_of(ans)) if t[1] is None else t[1]
    ty = np.zeros(shape_of(ans)) if t[2] is None else t[2]
    return where(c, tx, ty)


defrules(where, _where_vjp, _where_jvp)

# ---- reductions ---------------------------------------------------------------------------


def _reduce_prim(name: str, fn: Callable[..., Any]) -> Primitive:
    return Primitive(name, lambda x, axis=None, keepdims=False: fn(x, axis=axis, keepdims=keepdims))


amax = _reduce_prim("max", np.max)
amin = _reduce_prim("min", np.min)
prod = _reduce_prim("prod", np.prod)


def _extreme_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Where x attains its max/min, shared equally among ties (constants)."""
    rx = np.asarray(raw(x))
    ra = np.asarray(raw(ans))
    if axis is not None and not keepdims:
        ra = np.expand_dims(ra, axis)
    hit = np.equal(rx, ra, out=np.empty(np.broadcast_shapes(rx.shape, ra.shape)))  # 1.0 where attained
    count = np.sum(hit, axis=axis, keepdims=True)
    if np.any(count != 1):  # ties share
        hit /= count
    return hit


def _extreme_vjp(g: Any, ans: Any, i: int, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return mul(_expand_reduced(g, x, axis, keepdims), _extreme_weights(ans, x, axis, keepdims))


def _extreme_jvp(t: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return sum_(mul(t[0], _extreme_weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)


defrules(amax, _extreme_vjp, _extreme_jvp)
defrules(amin, _extreme_vjp, _extreme_jvp)


def _prod_others(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """d prod / d x_i = the product of the other factors.

    ``ans / x`` where no factor is zero; otherwise (a zero factor makes ans / x 0/0) the product of
    the others is computed directly: from the raw values, as a constant, when this is the last order
    (numpy's cumprod, fast); from x itself when x is traced at an outer level, so that it differentiates
    again (the product of the others of [0, 2, 3] is [6, 0, 0], but its derivative is not 0).
    """
    rx = np.asarray(raw(x))
    if not np.any(rx == 0):
        expanded = ans if (axis is None or keepdims) else reshape(ans, _kept_shape(x, axis))
        return div(expanded, x)
    if rx.ndim == 0:
        return 1.0
    axes = tuple(range(rx.ndim)) if axis is None else ((axis,) if np.ndim(axis) == 0 else tuple(axis))
    axes = tuple(a % rx.ndim for a in axes)
    if isinstance(x, Box):
        return _traced_others(x, axes)
    moved = np.moveaxis(rx, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: rx.ndim - len(axes)] + (-1,))
    left = np.cumprod(np.concatenate([np.ones(flat.shape[:-1] + (1,)), flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([np.ones(flat.shape[:-1] + (1,)), flat[..., :0:-1]], axis=-1), axis=-1)
    others = (left * right[..., ::-1]).reshape(moved.shape)
    return np.moveaxis(others, tuple(range(-len(axes), 0)), axes)


def _traced_others(x: Box, axes: tuple[int, ...]) -> Any:
    """The product of the other factors along ``axes``, written with primitives (differentiable again).

    Exclusive prefix and suffix products by doubling (log2 n multiplications of whole arrays), multiplied.
    """
    nd = np.ndim(x)
    kept = tuple(i for i in range(nd) if i not in axes)
    perm = kept + axes
    moved = transpose(x, perm)
    moved_shape = shape_of(moved)
    n = math.prod(moved_shape[len(kept):])
    flat = reshape(moved, (-1, n))
    m = shape_of(flat)[0]

    def exclusive(v: Any) -> Any:  # [1, v0, v0 v1, ...] along the last axis
        out = concatenate(np.ones((m, 1)), getitem(v, (slice(None), slice(0, n - 1))), axis=1)
        d = 1
        while d < n - 1:
            out = mul(out, concatenate(np.ones((m, d)), getitem(out, (slice(None), slice(0, n - d))), axis=1))
            d *= 2
        return out

    backwards = (slice(None), slice(None, None, -1))
    others = mul(exclusive(flat), getitem(exclusive(getitem(flat, backwards)), backwards))
    return transpose(reshape(others, moved_shape), tuple(np.argsort(perm)))


def _kept_shape(x: Any, axis: Any) -> tuple[int, ...]:
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(a % np.ndim(x) for a in axes)
    return tuple(1 if i in axes else n for i, n in enumerate(shape_of(x)))


defrules(prod,
         lambda g, ans, i, x, axis=None, keepdims=False:
             mul(_expand_reduced(g, x, axis, keepdims), _prod_others(ans, x, axis, keepdims)),
         lambda t, ans, x, axis=None, keepdims=False:
             sum_(mul(t[0], _prod_others(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims))


def _logsumexp_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if _foreign(x):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    x = np.asarray(x, dtype=float)
    m = x.max(axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()).item())


logsumexp = Primitive("logsumexp", _logsumexp_impl)


def _shift(x: Any, axis: Any) -> np.ndarray:
    """max x along ``axis`` (kept), 0 where it is not finite: a constant to subtract before exp."""
    m = np.max(np.asarray(raw(x)), axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0.0)


def _softmax_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """exp(x - m) / sum exp(x - m), m = max x: a few ulps. Not exp(x - ans): ans = log sum exp x is rounded
    to ulp(ans), which exp turns into a relative error of |ans| ulps (200 at x = 700). Any constant m gives
    the same function, so the choice by value holds at every order."""
    e = exp(sub(x, _shift(x, axis)))
    return div(e, sum_(e, axis=axis, keepdims=True))


def _logsumexp_vjp(g: Any, ans: Any, i: int, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """g * softmax(x), with g put back on x's reduced axes."""
    if g.__class__ is not np.ndarray or ans.__class__ is not np.ndarray or x.__class__ is not np.ndarray:
        return mul(_expand_reduced(g, x, axis, keepdims), _softmax_weights(ans, x, axis, keepdims))
    if axis is not None and not keepdims:  # plain arrays: numpy's broadcasting expands them
        g = g.reshape(_kept_shape(x, axis))
    e = np.exp(x - _shift(x, axis))
    e /= e.sum(axis=axis, keepdims=True)
    e *= g
    return e


defrules(logsumexp, _logsumexp_vjp,
         lambda t, ans, x, axis=None, keepdims=False:
             sum_(mul(t[0], _softmax_weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims))


def softmax(x: Any, axis: int = -1) -> Any:
    """Numerically stable softmax along ``axis``: exp(x - m) / sum exp(x - m) with m = max x, to a few ulps
    (exp(x - logsumexp x) loses |logsumexp x| ulps to the rounding of logsumexp)."""
    return _softmax_weights(None, x, axis, True)


# ---- linear algebra -----------------------------------------------------------------------
matmul = Primitive("matmul", np.matmul)
dot = Primitive("dot", np.dot)


def _swap_last(a: Any) -> Any:
    nd = np.ndim(a)
    if nd < 2:
        return a
    axes = list(range(nd))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(a, tuple(axes))


def _matmul_vjp(g: Any, ans: Any, i: int, a: Any, b: Any) -> Any:
    """VJP of ``a @ b`` for 1-D and n-D operands (numpy's promotion rules undone)."""
    if g.__class__ is np.ndarray and g.ndim == 2:
        # plain 2-D matrices (a layer's weights): straight to BLAS, without the primitives' dispatch
        if i == 0 and b.__class__ is np.ndarray and b.ndim == 2:
            return g @ b.T
        if i == 1 and a.__class__ is np.ndarray and a.ndim == 2:
            return a.T @ g
    na, nb = np.ndim(a), np.ndim(b)
    if na == 1 and nb == 1:
        return mul(g, b) if i == 0 else mul(g, a)
    if i == 0:
        if nb == 1:  # (..., n, k) @ (k,) -> (..., n)
            return mul(reshape(g, shape_of(g) + (1,)), b)
        if na == 1:  # (k,) @ (..., k, m) -> (..., m)
            return unbroadcast(reshape(matmul(b, reshape(g, shape_of(g) + (1,))), shape_of(b)[:-1]), a)
        return unbroadcast(matmul(g, _swap_last(b)), a)
    if na == 1:  # (k,) @ (..., k, m)
        return unbroadcast(mul(reshape(a, (-1, 1)), reshape(g, shape_of(g)[:-1] + (1,) + shape_of(g)[-1:])), b)
    if nb == 1:  # (..., n, k) @ (k,) -> (..., n): d/db = sum of a^T g over everything but k, one matvec
        k = shape_of(a)[-1]
        return matmul(reshape(g, (-1,)), reshape(a, (-1, k)))
    return unbroadcast(matmul(_swap_last(a), g), b)


def _bilinear_jvp(op: Primitive) -> Callable[..., Any]:
    def jvp(t: Any, ans: Any, a: Any, b: Any) -> Any:
        out = None
        if t[0] is not None:
            out = op(t[0], b)
        if t[1] is not None:
            term = op(a, t[1])
            out = term if out is None else add(out, term)
        return out

    return jvp


defrules(matmul, _matmul_vjp, _bilinear_jvp(matmul))


def _dot_vjp(g: Any, ans: Any, i: int, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(mul(g, b if i == 0 else a), a if i == 0 else b)
    if np.ndim(b) <= 2:  # np.dot agrees with matmul here
        return _matmul_vjp(g, ans, i, a, b)
    raise NotImplementedError("dot with a >2-D second operand is not differentiable here; use matmul")


defrules(dot, _dot_vjp, _bilinear_jvp(dot))


# the 2-norm of all elements: one BLAS pass forward (no x * x array), x * (g / |x|) back
norm = Primitive("norm", lambda x: np.linalg.norm(x) if isinstance(x, np.ndarray) else abs(x))


def _rescaled(ans: Any, x: Any) -> tuple[Any, Any]:
    """(x, |x|), or (x / m, |x / m|) with m = max |x_i| where |x| under- or overflowed: np.linalg.norm does
    not rescale (the norm of [1e-200, 3e-200] is 0.0, so x / |x| was inf). x / |x| is the same vector for
    any constant m > 0, so the choice by value holds at every order."""
    r = abs(raw(ans)) if np.ndim(raw(ans)) == 0 else _TINY
    if _TINY <= r < np.inf:
        return x, ans
    m = float(np.max(np.abs(np.asarray(raw(x))), initial=0.0))
    if not 0.0 < m < np.inf:
        return x, ans
    u = div(x, m)
    return u, norm(u)


defrules(norm,
         lambda g, ans, i, x: (lambda u, n: mul(u, div(g, n)))(*_rescaled(ans, x)),
         lambda t, ans, x: (lambda u, n: div(sum_(mul(t[0], u)), n))(*_rescaled(ans, x)))


# ---- what the rules read (a lean tape keeps only that) ----------------------------------------
def _nothing(nargs: int) -> Callable[[tuple[int, ...]], tuple[bool, tuple[bool, ...]]]:
    """Rules that read only shapes: add, sub, neg, sum, reshape (their partials are constants)."""
    keep = (False,) * nargs
    return lambda argnums: (False, keep)


def _the_other(argnums: tuple[int, ...]) -> tuple[bool, tuple[bool, ...]]:
    """Bilinear rules (mul, matmul): d/da reads b and d/db reads a; the product itself is not read."""
    return False, (1 in argnums, 0 in argnums)


add.saves = sub.saves = _nothing(2)
neg.saves = sum_.saves = _nothing(1)
reshape.saves = _nothing(2)
getitem.saves = lambda argnums: (False, (False, True))  # the index (maybe an array) is read
mul.saves = matmul.saves = _the_other
pow_.saves = lambda argnums: (1 in argnums, (True, True))  # ans only for d/dy = ans log x


def _linear_square(i: int, x: Any, y: Any = 2) -> tuple[float, Any] | None:
    """d(x**2)/dx = 2 * x: the backward pass folds the 2 into the adjoint's factor."""
    if i == 0 and not isinstance(y, Box) and y.__class__ in (int, float) and y == 2:
        return 2.0, x
    return None


pow_.linear = square.linear = _linear_square

# ---- elementwise results into reused buffers (large float64 arrays on lean tapes) -------------
for _prim, _ufunc in ((add, np.add), (sub, np.subtract), (mul, np.multiply), (div, np.true_divide),
                      (neg, np.negative), (exp, np.exp), (log, np.log), (log1p, np.log1p), (expm1, np.expm1),
                      (sin, np.sin), (cos, np.cos), (tan, np.tan), (tanh, np.tanh), (sinh, np.sinh),
                      (cosh, np.cosh), (arcsin, np.arcsin), (arccos, np.arccos), (arctan, np.arctan),
                      (sqrt, np.sqrt), (abs_, np.absolute), (square, np.square), (reciprocal, np.reciprocal),
                      (maximum, np.maximum), (minimum, np.minimum)):
    _prim.into = _ufunc


def _pow_into(x: Any, y: Any, out: np.ndarray) -> np.ndarray:
    if y.__class__ in (int, float) and y == 2 and x.__class__ is np.ndarray:
        return np.multiply(x, x, out=out)  # as _pow_impl: x * x
    return np.power(x, y, out=out)


pow_.into = _pow_into


# ---- numpy dispatch -----------------------------------------------------------------------
# Every keyword numpy accepts is either honoured or refused by name (issue 12 item 1): a keyword the
# traced version ignored gave numpy's answer's look-alike with a wrong value or gradient.
_NO = np._NoValue  # numpy's "not given" default


def _nondiff(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args, **kw: fn(*[raw(a) for a in args], **kw)


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
    return where(raw(condition), x, y)


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

UFUNCS: dict[Any, Callable[..., Any]] = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.divide: div,
    np.power: pow_, np.float_power: pow_, np.negative: neg, np.positive: lambda x: x,
    np.exp: exp, np.log: log, np.log1p: log1p, np.expm1: expm1,
    np.sin: sin, np.cos: cos, np.tan: tan, np.tanh: tanh, np.sinh: sinh, np.cosh: cosh,
    np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan, np.sqrt: sqrt, np.absolute: abs_,
    np.square: square, np.reciprocal: reciprocal, np.maximum: maximum, np.minimum: minimum,
    np.matmul: matmul, np.conjugate: lambda x: x.conj(),
}
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
                           "see diffcompare.ad.primitives.FUNCTIONS for what is")
    return fn(*args, **kwargs)


# ---- operators and methods of traced values ------------------------------------------------
def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda self, other: op(raw(self), raw(other))


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


def _install_operators() -> None:
    B = Box
    B.__add__ = lambda s, o: add(s, o)
    B.__radd__ = lambda s, o: add(o, s)
    B.__sub__ = lambda s, o: sub(s, o)
    B.__rsub__ = lambda s, o: sub(o, s)
    B.__mul__ = lambda s, o: mul(s, o)
    B.__rmul__ = lambda s, o: mul(o, s)
    B.__truediv__ = lambda s, o: div(s, o)
    B.__rtruediv__ = lambda s, o: div(o, s)
    B.__pow__ = lambda s, o: pow_(s, o)
    B.__rpow__ = lambda s, o: pow_(o, s)
    B.__matmul__ = lambda s, o: matmul(s, o)
    B.__rmatmul__ = lambda s, o: matmul(o, s)
    B.__neg__ = lambda s: neg(s)
    B.__pos__ = lambda s: s
    B.__abs__ = lambda s: abs_(s)
    B.__getitem__ = lambda s, idx: getitem(s, idx)
    B.__lt__ = _compare(operator.lt)
    B.__le__ = _compare(operator.le)
    B.__gt__ = _compare(operator.gt)
    B.__ge__ = _compare(operator.ge)
    B.__eq__ = _compare(operator.eq)
    B.__ne__ = _compare(operator.ne)
    # the methods take numpy's arguments, in ndarray's order, through the same checks as the functions
    B.sum = lambda s, *a, **k: _sum(s, *a, **k)
    B.mean = lambda s, *a, **k: _mean(s, *a, **k)
    B.prod = lambda s, *a, **k: _prod(s, *a, **k)
    B.max = lambda s, *a, **k: FUNCTIONS[np.max](s, *a, **k)
    B.min = lambda s, *a, **k: FUNCTIONS[np.min](s, *a, **k)
    B.dot = lambda s, o, out=None: FUNCTIONS[np.dot](s, o, out)
    B.reshape = lambda s, *shape, order="C", copy=None: _reshape(s, shape[0] if len(shape) == 1 else shape, order)
    B.transpose = lambda s, *axes: _transpose(s, (axes[0] if len(axes) == 1 else axes) or None)
    B.T = property(lambda s: transpose(s, None))
    B.ravel = B.flatten = lambda s, order="C": _ravel(s, order)
    B.squeeze = lambda s, axis=None: FUNCTIONS[np.squeeze](s, axis)
    # numpy applies np.exp to a list of traced values element by element, through a method named exp
    for name in ("exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos",
                 "arctan", "sqrt", "exp2", "log2", "log10", "arcsinh", "arccosh", "arctanh", "cbrt"):
        setattr(B, name, _in_a_list(name))
    # real and complex parts, for real values only (complex ones: see _real_valued)
    B.real = property(lambda s: _real_valued(s, "the real part (.real, np.real)"))
    B.imag = property(_imag)
    B.conj = B.conjugate = lambda s: _real_valued(s, "the complex conjugate (.conj(), np.conj)")
    B.norm = lambda s: _norm(s)  # torch's spelling, as in the lecture's Exercise 3


_install_operators()
_core._getitem = getitem  # the backward pass scatters getitem's adjoint in place when it can
_core._sum = sum_  # a full sum of a deferred array is deferred too
Box.__array_ufunc__ = lambda self, ufunc, method, *inputs, **kw: dispatch_ufunc(ufunc, method, inputs, kw)
Box.__array_function__ = lambda self, func, types, args, kwargs: dispatch_function(func, args, kwargs)

# the scalar fast path overrides some of the methods above, so it is installed last
from diffcompare.ad import scalar as _scalar  # noqa: E402, F401
