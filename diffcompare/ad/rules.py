"""The rules table: one statement per primitive. Everything else about a primitive is generated from it.

A statement ``name = defprim("name", numpy impl, *partials, ...)`` gives a primitive its numpy implementation,
its implementation on one Python float (``math=``), its derivative (``partials`` for elementwise ones, one
function per argument written with primitives, so they differentiate again; ``vjp=``/``jvp=`` otherwise),
how the lecture's trace writes it (``text=``, ``partial_text=``), its sympy counterpart (``sympy=``), the
names the expression parser accepts (``parse=``), the Python operators that call it (``ops=``) and any speed
hints. Generated from it: the numpy dispatch tables and operators of traced values
(:mod:`diffcompare.ad.numpy_api`), the scalar fast path (:mod:`diffcompare.ad.fast.scalar`), the trace
tables' text, the symbolic backend's mapping to sympy and the parser's list of names. Hints that can be
derived are: ``into`` (the ufunc itself) and the scalar fast path of every primitive with ``math=`` (from
its partial); the hand-written ``fast=`` rules are checked against the partials by the tests.

Conventions at non-differentiable points, as in JAX:
  * ``abs`` at 0 has derivative +1 (the right derivative);
  * ``maximum``/``minimum`` at a tie give each argument half of the gradient;
  * ``max``/``min`` reductions share the gradient equally among tied maxima/minima;
  * ``sqrt`` at 0 has derivative inf; ``x ** y`` has derivative 0 with respect to ``y`` at ``x == 0``.
Comparisons, ``sign``, ``floor`` and friends are not differentiable: they act on the raw values and
return constants (see :mod:`diffcompare.ad.numpy_api`).
"""

from __future__ import annotations

import math as _math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.ad.kinks import times
from diffcompare.ad.tracer import MINUS_ONE, ONE, Box, Primitive, raw, shape_of


@dataclass(frozen=True)
class Rule:
    """What a statement says about a primitive beyond its runtime behaviour (read by the generators)."""

    prim: Primitive
    ufuncs: tuple[Any, ...] = ()  # the numpy ufuncs that call it on traced values
    ops: tuple[str, ...] = ()  # the Python operators: "__add__" calls prim(self, other), "__radd__" prim(other, self)
    sympy: str | Callable[..., Any] | None = None  # a sympy function's name, or f(sp, *args)
    text: str | None = None  # how a trace row writes it: "{0} + {1}" (None: name({0}, ...))
    partial_text: tuple[str, ...] | None = None  # its partials in a trace's names: {a} {b} arguments, {v} itself
    parse: tuple[str, ...] = ()  # names the expression parser accepts for it


RULES: dict[str, Rule] = {}
_DERIVED = object()


def _scalar_or_numpy(math_fn: Callable[[float], float], np_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``math_fn`` on a Python float (several times faster than numpy there), ``np_fn`` on anything else;
    outside math's domain numpy's answer (nan or inf, and its warning), as plain numpy would give."""
    def impl(x: Any) -> Any:
        if x.__class__ is float:
            try:
                return math_fn(x)
            except (ValueError, OverflowError, ZeroDivisionError):
                return float(np_fn(x))
        return np_fn(x)

    return impl


def defprim(name: str, impl: Callable[..., Any], *partials: Callable[..., Any], vjp: Callable[..., Any] | None = None,
            jvp: Callable[..., Any] | None = None, math: Callable[[float], float] | None = None,
            ufuncs: tuple[Any, ...] | None = None, ops: tuple[str, ...] = (), sympy: Any = None,
            text: str | None = None, partial_text: tuple[str, ...] | None = None, parse: tuple[str, ...] = (),
            fast: Callable[..., tuple[float, ...] | None] | None = None, saves: Any = None, linear: Any = None,
            into: Any = _DERIVED, batched: bool | Callable[..., bool] = False) -> Primitive:
    """One statement of the table: make the primitive ``name`` and register what the generators read.

    ``into`` defaults to ``impl`` when that is a one-output numpy ufunc of an elementwise primitive;
    ``ufuncs`` to ``(impl,)`` when ``impl`` is a ufunc. ``batched``: the ``jvp`` takes tangents with a leading
    batch axis (see :class:`~diffcompare.ad.tracer.Primitive`); elementwise primitives need not say it.
    """
    if bool(partials) == (vjp is not None):
        raise TypeError(f"{name}: give either partials (elementwise) or vjp and jvp")
    prim = Primitive(name, _scalar_or_numpy(math, impl) if math is not None else impl)
    if partials:
        prim.partials = partials
    else:
        prim.vjp, prim.jvp = vjp, jvp
    is_ufunc = isinstance(impl, np.ufunc)
    if into is _DERIVED:
        into = impl if partials and is_ufunc and impl.nout == 1 else None
    prim.math, prim.fast, prim.saves, prim.linear, prim.into = math, fast, saves, linear, into
    prim.batched = batched
    if ufuncs is None:
        ufuncs = (impl,) if is_ufunc else ()
    if name in RULES:
        raise ValueError(f"primitive {name!r} is defined twice")
    RULES[name] = Rule(prim, ufuncs, ops, sympy, text, partial_text, parse)
    return prim


# ---- generated views of the table, for the rest of the package ----------------------------------------------
def ufunc_table() -> dict[Any, Primitive]:
    """numpy ufunc -> primitive, for ``__array_ufunc__``."""
    return {u: r.prim for r in RULES.values() for u in r.ufuncs}


def op_texts() -> dict[str, str]:
    """Primitive name -> how a trace row writes it, where that is not ``name(...)``."""
    return {n: r.text for n, r in RULES.items() if r.text is not None}


def partial_texts() -> dict[str, tuple[str, ...]]:
    """Primitive name -> its local partials in a trace's names (the numbers come from the rules, not these)."""
    return {n: r.partial_text for n, r in RULES.items() if r.partial_text is not None}


def sympy_table(sp: Any) -> dict[str, Callable[..., Any]]:
    """numpy ufunc name -> the sympy function the symbolic backend applies (``sp`` is the sympy module)."""
    out: dict[str, Callable[..., Any]] = {}
    for r in RULES.values():
        if r.sympy is None:
            continue
        fn = getattr(sp, r.sympy) if isinstance(r.sympy, str) else (lambda *a, _f=r.sympy: _f(sp, *a))
        for u in r.ufuncs:
            out[u.__name__] = fn
    return out


def parser_names() -> dict[str, Any]:
    """Name the expression parser accepts -> the numpy ufunc it calls (None: a primitive without one)."""
    return {alias: (r.ufuncs[0] if r.ufuncs else None) for r in RULES.values() for alias in r.parse}


# ---- implementations the table refers to ---------------------------------------------------------------------
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


def _pow_into(x: Any, y: Any, out: np.ndarray) -> np.ndarray:
    if y.__class__ in (int, float) and y == 2 and x.__class__ is np.ndarray:
        return np.multiply(x, x, out=out)  # as _pow_impl: x * x
    return np.power(x, y, out=out)


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
            return 1.0 / (1.0 + _math.exp(-x))
        z = _math.exp(x)
        return z / (1.0 + z)
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out[()] if out.ndim == 0 else out  # a numpy scalar stays a numpy scalar


def _sech_impl(x: Any) -> Any:
    """1 / cosh(x); 0 where cosh overflows (|x| > 710: sech is below 3e-309 there), without a warning."""
    if x.__class__ is float or x.__class__ is int:
        try:
            return 1.0 / _math.cosh(x)
        except OverflowError:
            return 0.0
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(x)


def _one(ans: Any, *args: Any, **kw: Any) -> float:
    return ONE


def _minus_one(ans: Any, *args: Any, **kw: Any) -> float:
    return MINUS_ONE


# ---- speed hints: what the rules read (a lean tape keeps only that), constant factors ------------------------
def _nothing(nargs: int) -> Callable[[tuple[int, ...]], tuple[bool, tuple[bool, ...]]]:
    """Rules that read only shapes: add, sub, neg, sum, reshape (their partials are constants)."""
    keep = (False,) * nargs
    return lambda argnums: (False, keep)


def _the_other(argnums: tuple[int, ...]) -> tuple[bool, tuple[bool, ...]]:
    """Bilinear rules (mul, matmul): d/da reads b and d/db reads a; the product itself is not read."""
    return False, (1 in argnums, 0 in argnums)


def _linear_square(i: int, x: Any, y: Any = 2) -> tuple[float, Any] | None:
    """d(x**2)/dx = 2 * x: the backward pass folds the 2 into the adjoint's factor."""
    if i == 0 and not isinstance(y, Box) and y.__class__ in (int, float) and y == 2:
        return 2.0, x
    return None


def _fast_div(a: float, b: float) -> tuple[float, float, float] | None:
    """(a / b, d/da, d/db) on floats; None (the general rule's inf and warning) at b = 0."""
    if b == 0.0:
        return None
    ans = a / b
    return ans, 1.0 / b, -ans / b


def _fast_pow(a: float, b: float) -> tuple[float, float, float] | None:
    """(a ** b, d/da, d/db) on floats, as the general rule computes them; None outside a > 0 (negative
    bases, 0 ** y: the general rule's conventions) and on overflow (numpy's inf there)."""
    if a <= 0.0:
        return None
    try:
        ans = a**b
        if (b - 1.0) + 1.0 != b and _TINY <= abs(ans) < _math.inf:  # y - 1 rounds: as the general rule, y ans / x
            return ans, ((b * ans) / a if -1.0 <= b <= 1.0 else b * (ans / a)), ans * _math.log(a)
        return ans, b * a ** (b - 1), ans * _math.log(a)
    except OverflowError:
        return None


def _fast_sin(x: float) -> tuple[float, float]:
    return _math.sin(x), _math.cos(x)


def _fast_cos(x: float) -> tuple[float, float]:
    return _math.cos(x), -_math.sin(x)


def _fast_exp(x: float) -> tuple[float, float]:
    y = _math.exp(x)
    return y, y


def _fast_log(x: float) -> tuple[float, float]:
    return _math.log(x), 1.0 / x


def _fast_sqrt(x: float) -> tuple[float, float]:
    y = _math.sqrt(x)
    return y, 0.5 / y


def _fast_tanh(x: float) -> tuple[float, float]:
    s = _sech_impl(x)  # as the rule: sech^2, not 1 - tanh^2 (which cancels)
    return _math.tanh(x), s * s


# ---- the table: elementwise arithmetic -----------------------------------------------------------------------
add = defprim("add", operator.add, _one, _one, ufuncs=(np.add,), ops=("__add__", "__radd__"), saves=_nothing(2),
              into=np.add, sympy=lambda sp, a, b: a + b, text="{0} + {1}", partial_text=("1", "1"))
sub = defprim("sub", operator.sub, _one, _minus_one, ufuncs=(np.subtract,), ops=("__sub__", "__rsub__"),
              saves=_nothing(2), into=np.subtract, sympy=lambda sp, a, b: a - b, text="{0} - {1}",
              partial_text=("1", "-1"))
mul = defprim("mul", operator.mul, lambda ans, x, y: y, lambda ans, x, y: x, ufuncs=(np.multiply,),
              ops=("__mul__", "__rmul__"), saves=_the_other, into=np.multiply, sympy=lambda sp, a, b: a * b,
              text="{0} * {1}", partial_text=("{b}", "{a}"))
div = defprim("div", _div_impl, lambda ans, x, y: reciprocal(y), lambda ans, x, y: neg(div(ans, y)),
              ufuncs=(np.true_divide, np.divide), ops=("__truediv__", "__rtruediv__"), into=np.true_divide,
              fast=_fast_div,
              sympy=lambda sp, a, b: a / b, text="{0} / {1}", partial_text=("1/{b}", "-{v}/{b}"))
pow_ = defprim("pow", _pow_impl, lambda ans, x, y: _pow_dx(ans, x, y), lambda ans, x, y: _pow_dy(ans, x, y),
               ufuncs=(np.power, np.float_power), ops=("__pow__", "__rpow__"), into=_pow_into,
               saves=lambda argnums: (1 in argnums, (True, True)),  # ans only for d/dy = ans log x
               linear=_linear_square, fast=_fast_pow, sympy=lambda sp, a, b: a**b, text="{0}**{1}")
neg = defprim("neg", operator.neg, _minus_one, ufuncs=(np.negative,), ops=("__neg__",), saves=_nothing(1),
              into=np.negative, sympy=lambda sp, a: -a, text="-{0}", partial_text=("-1",))

# ---- elementwise functions -------------------------------------------------------------------------------------
sin = defprim("sin", np.sin, lambda ans, x: cos(x), math=_math.sin, fast=_fast_sin, sympy="sin",
              partial_text=("cos({a})",), parse=("sin",))
cos = defprim("cos", np.cos, lambda ans, x: neg(sin(x)), math=_math.cos, fast=_fast_cos, sympy="cos",
              partial_text=("-sin({a})",), parse=("cos",))
tan = defprim("tan", np.tan, lambda ans, x: add(1.0, mul(ans, ans)), math=_math.tan, sympy="tan",
              partial_text=("1 + {v}^2",), parse=("tan",))
exp = defprim("exp", np.exp, lambda ans, x: ans, math=_math.exp, fast=_fast_exp, sympy="exp",
              partial_text=("{v}",), parse=("exp",))
log = defprim("log", np.log, lambda ans, x: reciprocal(x), math=_math.log, fast=_fast_log, sympy="log",
              text="ln({0})", partial_text=("1/{a}",), parse=("log",))
log1p = defprim("log1p", np.log1p, lambda ans, x: reciprocal(add(1.0, x)), math=_math.log1p,
                sympy=lambda sp, a: sp.log(1 + a), partial_text=("1/(1 + {a})",), parse=("log1p",))
# not ans + 1: that is 0 where ans rounds to -1 (x < -37)
expm1 = defprim("expm1", np.expm1, lambda ans, x: exp(x), math=_math.expm1, sympy=lambda sp, a: sp.exp(a) - 1,
                partial_text=("exp({a})",), parse=("expm1",))
tanh = defprim("tanh", np.tanh, lambda ans, x: _sech_squared(x), math=_math.tanh, fast=_fast_tanh, sympy="tanh",
               partial_text=("sech({a})^2",), parse=("tanh",))
sinh = defprim("sinh", np.sinh, lambda ans, x: cosh(x), math=_math.sinh, sympy="sinh", partial_text=("cosh({a})",),
               parse=("sinh",))
cosh = defprim("cosh", np.cosh, lambda ans, x: sinh(x), math=_math.cosh, sympy="cosh", partial_text=("sinh({a})",),
               parse=("cosh",))
arcsin = defprim("arcsin", np.arcsin, lambda ans, x: reciprocal(sqrt(_one_minus_square(x))), math=_math.asin,
                 sympy="asin", partial_text=("1/sqrt(1 - {a}^2)",), parse=("arcsin", "asin"))
arccos = defprim("arccos", np.arccos, lambda ans, x: neg(reciprocal(sqrt(_one_minus_square(x)))), math=_math.acos,
                 sympy="acos", partial_text=("-1/sqrt(1 - {a}^2)",), parse=("arccos", "acos"))
arctan = defprim("arctan", np.arctan, lambda ans, x: _arctan_partial(x), math=_math.atan, sympy="atan",
                 partial_text=("1/(1 + {a}^2)",), parse=("arctan", "atan"))
arcsinh = defprim("arcsinh", np.arcsinh, lambda ans, x: _arcsinh_partial(x), math=_math.asinh, sympy="asinh",
                  partial_text=("1/sqrt(1 + {a}^2)",), parse=("arcsinh", "asinh"))
sqrt = defprim("sqrt", np.sqrt, lambda ans, x: div(0.5, _plus_zero(ans)), math=_math.sqrt, fast=_fast_sqrt,
               sympy="sqrt", partial_text=("1/(2 {v})",), parse=("sqrt",))
abs_ = defprim("abs", np.absolute, lambda ans, x: _abs_partial(ans, x), math=abs, ops=("__abs__",), sympy="Abs",
               text="|{0}|", partial_text=("sign({a})",), parse=("abs",))
square = defprim("square", np.square, lambda ans, x: mul(2.0, x), math=lambda x: x * x, linear=_linear_square,
                 sympy=lambda sp, a: a**2, text="{0}**2", partial_text=("2 {a}",))


def _minus_times_square(g: Any, ans: Any) -> Any:
    """reciprocal's term -g ans^2, as -(g ans) ans: the partial -ans^2 alone is beyond the float64 range from
    |ans| = 1.3e154 or 1e-154 where the term need not be (the Hessian of log(1e200 x) at 1 is -1: the
    tangent of log's partial 1/u is -(1e200 * 1e-200) * 1e-200, while -(1e-200)^2 gave 0). |g ans| is the
    geometric mean of |g| and the term's magnitude, so in range where both are; 0 * inf is 0 (kinks.times)."""
    return neg(times(times(g, ans), ans))


# written-out VJP and JVP rather than the partial -ans^2 (see _minus_times_square); elementwise all the same
reciprocal = defprim("reciprocal", lambda x: _div_impl(1.0, x), vjp=lambda g, ans, i, x: _minus_times_square(g, ans),
                     jvp=lambda t, ans, x: _minus_times_square(t[0], ans), batched=True,
                     ufuncs=(np.reciprocal,), into=np.reciprocal, sympy=lambda sp, a: 1 / a, text="1 / {0}",
                     partial_text=("-{v}^2",))
# s (1 - s) = sech^2(x / 2) / 4: no cancellation where s rounds to 1 (x > 37), and none in its derivatives
sigmoid = defprim("sigmoid", _sigmoid_impl, lambda ans, x: mul(0.25, _sech_squared(mul(0.5, x))),
                  partial_text=("sech({a}/2)^2 / 4",), parse=("sigmoid",))
# not a numpy function: the rules of tanh and sigmoid are written with it (their 1 - tanh^2 and s (1 - s) cancel)
sech = defprim("sech", _sech_impl, lambda ans, x: neg(mul(ans, tanh(x))))
maximum = defprim("maximum", np.maximum, lambda ans, x, y: _balanced(x, y, np.greater),
                  lambda ans, x, y: _balanced(y, x, np.greater), sympy="Max")
minimum = defprim("minimum", np.minimum, lambda ans, x, y: _balanced(x, y, np.less),
                  lambda ans, x, y: _balanced(y, x, np.less), sympy="Min")


# ---- partials the statements above refer to ------------------------------------------------------------------
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



def _plus_zero(v: Any) -> Any:
    """v with -0.0 made +0.0 (v + 0.0; only where v has a zero): sqrt(-0.0) is -0.0, and 0.5 / -0.0 = -inf
    gave sqrt's derivative at x = -0.0 as -inf (the one-sided derivative is +inf, as at +0.0)."""
    r = raw(v)
    if (r == 0) if r.__class__ is float else np.any(np.asarray(r) == 0):
        return add(v, 0.0)
    return v


def _sech_squared(x: Any) -> Any:
    """sech^2 x: 1 - tanh^2 x without the cancellation (0 from |x| > 19, where it is 1.7e-17 and less)."""
    s = sech(x)
    return mul(s, s)



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



def _abs_partial(ans: Any, x: Any) -> Any:
    rx = raw(x)
    if rx.__class__ is float:
        return 1.0 if rx >= 0 else -1.0
    if np.iscomplexobj(rx):  # |z| is not holomorphic: no derivative of the kind the rules multiply by
        raise TypeError("abs of complex values is not differentiable by diffcompare (|z| is not holomorphic)")
    return np.where(rx >= 0, 1.0, -1.0)



def _balanced(x: Any, y: Any, pick: Callable[[Any, Any], Any]) -> Any:
    """1 where ``pick`` selects x, 1/2 at ties, 0 elsewhere (JAX's convention)."""
    rx, ry = np.asarray(raw(x)), np.asarray(raw(y))
    mask = pick(rx, ry, out=np.empty(np.broadcast_shapes(rx.shape, ry.shape)))  # 1.0 / 0.0 in one pass
    tie = rx == ry
    if tie.any():
        mask[np.broadcast_to(tie, mask.shape)] = 0.5
    return float(mask) if mask.ndim == 0 and not isinstance(raw(x), np.ndarray) else mask



def _arcsinh_partial(x: Any) -> Any:
    """1 / sqrt(1 + x^2); as |u| / sqrt(1 + u^2) with u = 1/x for |x| > 1, where x^2 would overflow from
    |x| = 1e154 (and its derivatives sooner)."""
    def large(v: Any) -> Any:
        u = reciprocal(v)
        return div(abs_(u), sqrt(add(1.0, square(u))))

    return _by_size(x, 1.0, lambda v: reciprocal(sqrt(add(1.0, mul(v, v)))), large)



# ---- structure: linear operations ---------------------------------------------------------
def unbroadcast(g: Any, target: Any) -> Any:
    """Sum ``g`` down to the shape of ``target`` (undoing numpy broadcasting in a VJP)."""
    gshape = shape_of(g)
    tshape = shape_of(target)
    if gshape == tshape:
        return g
    # a plain array is summed by its own method; a traced one through the primitive, to be differentiable
    total = np.ndarray.sum if g.__class__ is np.ndarray else sum_
    extra = len(gshape) - len(tshape)
    if extra > 0:
        g = total(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(tshape) if n == 1 and shape_of(g)[i] != 1)
    if axes:
        g = total(g, axis=axes, keepdims=True)
    return g


def is_basic_index(idx: Any) -> bool:
    """Ints, slices, None and Ellipsis select each element at most once (no duplicates)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all((isinstance(i, (int, np.integer, slice)) and not isinstance(i, bool)) or i is None or i is Ellipsis
               for i in items)  # x[True] is a new axis with a copy, not a view


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




def _scatter_impl(g: Any, idx: Any, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape, dtype=np.result_type(g, float))
    if is_basic_index(idx):
        out[idx] = g  # a view: each element at most once, so assignment is the sum
    else:
        np.add.at(out, idx, g)  # integer/boolean arrays may repeat an element: accumulate
    return out




def _expand_reduced(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduction's cotangent back to the shape of its input."""
    shape = shape_of(x)
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        newshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = reshape(g, newshape)
    return broadcast_to(g, shape)


def _inverse_axes(axes: Any) -> Any:
    return None if axes is None else tuple(np.argsort(axes))


# ---- batched tangents: the structural jvps act on the trailing axes, past a leading batch axis --------------
def _lead_shape(t: Any, x: Any) -> tuple[int, ...]:
    """The batch axes a tangent carries in front of its argument's shape: ``(k,)`` or ``()``."""
    st = shape_of(t)
    return st[: len(st) - len(shape_of(x))]


def _as_shape(shape: Any) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)


def _aligned(t: Any, x: Any, nd: int) -> Any:
    """A batched tangent of x reshaped to (k, 1, .., 1, *x.shape) with nd trailing axes, so that it broadcasts
    against a result of nd axes as x does; an unbatched one as it is."""
    lead = _lead_shape(t, x)
    sx = shape_of(x)
    if not lead or len(sx) >= nd:
        return t
    return reshape(t, lead + (1,) * (nd - len(sx)) + sx)


def _sum_tangent(t: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """``sum(t, axis)`` for a tangent of x: the axes of x, past the batch axis if t has one."""
    n = len(_lead_shape(t, x))
    if not n:
        return sum_(t, axis=axis, keepdims=keepdims)
    nd = len(shape_of(x))
    axes = range(nd) if axis is None else ((axis,) if np.ndim(axis) == 0 else axis)
    return sum_(t, axis=tuple(a % nd + n for a in axes), keepdims=keepdims)


def _lead_axes(t: Any, x: Any, axes: Any) -> Any:
    """transpose's axes for a tangent of x: the batch axis stays in front."""
    n = len(_lead_shape(t, x))
    if not n:
        return axes
    nd = len(shape_of(x))
    axes = range(nd - 1, -1, -1) if axes is None else axes
    return tuple(range(n)) + tuple(a % nd + n for a in axes)


def _lead_index(t: Any, x: Any, idx: Any) -> Any:
    """An index of x as an index of its batched tangent: a full slice over the batch axis in front."""
    n = len(_lead_shape(t, x))
    if not n:
        return idx
    return (slice(None),) * n + (idx if isinstance(idx, tuple) else (idx,))


def _index_batches(idx: Any) -> bool:
    """Whether ``t[:, *idx]`` is ``x[idx]`` per direction: not where advanced indices (arrays, and ints among
    them) stand apart, which numpy moves in front of the batch axis.

    A Python bool is advanced, not basic (numpy reads it as a 0-d mask, not as the int it subclasses): among
    ints and slices alone it must still go through the adjacency test. An index holding a traced value (a
    Box: under jit the mask ``x > 0`` is a staged value) takes the per-direction fallback: wrapped into the
    tuple ``(slice(None), idx)`` it would be hidden from the primitive, which unwraps its direct arguments
    only, and numpy would get the Box itself (IndexError)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(isinstance(i, Box) for i in items):
        return False
    fancy = [isinstance(i, (list, np.ndarray)) or isinstance(i, bool) for i in items]
    if not any(fancy):
        return True
    fancy = [f or isinstance(i, (int, np.integer)) for f, i in zip(fancy, items)]
    where_ = [j for j, f in enumerate(fancy) if f]
    return where_[-1] - where_[0] + 1 == len(where_)


# ---- the table: structure (linear operations) ----------------------------------------------------------------
sum_ = defprim("sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
               vjp=lambda g, ans, i, x, axis=None, keepdims=False: _expand_reduced(g, x, axis, keepdims),
               jvp=lambda t, ans, x, axis=None, keepdims=False: _sum_tangent(t[0], x, axis, keepdims),
               saves=_nothing(1), batched=True)
sum_.defers = True  # a full sum of a deferred array may wait too
reshape = defprim("reshape", lambda x, shape: np.reshape(x, shape),
                  vjp=lambda g, ans, i, x, shape: reshape(g, shape_of(x)),
                  jvp=lambda t, ans, x, shape: reshape(t[0], _lead_shape(t[0], x) + _as_shape(shape)),
                  saves=_nothing(2), batched=True)
transpose = defprim("transpose", lambda x, axes=None: np.transpose(x, axes),
                    vjp=lambda g, ans, i, x, axes=None: transpose(g, _inverse_axes(axes)),
                    jvp=lambda t, ans, x, axes=None: transpose(t[0], _lead_axes(t[0], x, axes)), batched=True)
broadcast_to = defprim("broadcast_to", _broadcast_impl, vjp=lambda g, ans, i, x, shape: unbroadcast(g, x),
                       jvp=lambda t, ans, x, shape: broadcast_to(_aligned(t[0], x, len(_as_shape(shape))),
                                                                 _lead_shape(t[0], x) + _as_shape(shape)),
                       batched=True)
getitem = defprim("getitem", lambda x, idx: x[idx], vjp=lambda g, ans, i, x, idx: scatter_add(g, idx, shape_of(x)),
                  jvp=lambda t, ans, x, idx: getitem(t[0], _lead_index(t[0], x, idx)), ops=("__getitem__",),
                  saves=lambda argnums: (False, (False, True)),  # the index (maybe an array) is read
                  batched=lambda x, idx: _index_batches(idx))
getitem.scatters = True  # its VJP adds g into part of the argument's adjoint: in place, where the pass can
# zeros(shape) with g added at idx
scatter_add = defprim("scatter_add", _scatter_impl, vjp=lambda g, ans, i, x, idx, shape: getitem(g, idx),
                      jvp=lambda t, ans, x, idx, shape: scatter_add(t[0], _lead_index(t[0], x, idx),
                                                                    _lead_shape(t[0], x) + _as_shape(shape)),
                      batched=lambda x, idx, shape: _index_batches(idx))


def _split_vjp(g: Any, ans: Any, i: int, *xs: Any, axis: int = 0) -> Any:
    start = sum(shape_of(x)[axis] for x in xs[:i])
    idx = [slice(None)] * np.ndim(ans)
    idx[axis] = slice(start, start + shape_of(xs[i])[axis])
    return getitem(g, tuple(idx))


def _zeros_for_missing(tangents: Any, xs: Any) -> list[Any]:
    """Each argument's tangent, zeros for those not differentiated (with the batch axis of the others)."""
    lead = next((_lead_shape(t, x) for t, x in zip(tangents, xs) if t is not None), ())
    return [np.zeros(lead + shape_of(x)) if t is None else t for t, x in zip(tangents, xs)]


def _joined_tangent(join: Any, extra: int) -> Callable[..., Any]:
    """concatenate's and stack's jvp: the same join of the tangents, along the same axis counted past a batch
    axis (``extra``: the result's axes beyond an argument's, 1 for stack)."""
    def jvp(t: Any, ans: Any, *xs: Any, axis: int = 0) -> Any:
        ts = _zeros_for_missing(t, xs)
        lead = len(_lead_shape(ts[0], xs[0]))
        return join(*ts, axis=axis % (len(shape_of(xs[0])) + extra) + lead if lead else axis)

    return jvp


concatenate = defprim("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis), vjp=_split_vjp,
                      jvp=_joined_tangent(lambda *ts, axis: concatenate(*ts, axis=axis), 0),
                      batched=True)  # axis=None never reaches it: numpy_api flattens the arrays first


def _unstack_vjp(g: Any, ans: Any, i: int, *xs: Any, axis: int = 0) -> Any:
    idx = [slice(None)] * np.ndim(ans)
    idx[axis] = i
    return getitem(g, tuple(idx))


stack = defprim("stack", lambda *xs, axis=0: np.stack(xs, axis=axis), vjp=_unstack_vjp,
                jvp=_joined_tangent(lambda *ts, axis: stack(*ts, axis=axis), 1), batched=True)


def _where_vjp(g: Any, ans: Any, i: int, c: Any, x: Any, y: Any) -> Any:
    zero = np.zeros(shape_of(ans))
    picked = where(c, g, zero) if i == 1 else where(c, zero, g)
    return unbroadcast(picked, (x, y)[i - 1])


def _where_jvp(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    nd = len(shape_of(ans))
    tx = np.zeros(shape_of(ans)) if t[1] is None else _aligned(t[1], x, nd)
    ty = np.zeros(shape_of(ans)) if t[2] is None else _aligned(t[2], y, nd)
    return where(c, tx, ty)


where = defprim("where", lambda c, x, y: np.where(c, x, y), vjp=_where_vjp, jvp=_where_jvp, batched=True)

# ---- reductions ---------------------------------------------------------------------------


def _reduction(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x, axis=None, keepdims=False: fn(x, axis=axis, keepdims=keepdims)


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
    return _sum_tangent(mul(t[0], _extreme_weights(ans, x, axis, keepdims)), x, axis, keepdims)


amax = defprim("max", _reduction(np.max), vjp=_extreme_vjp, jvp=_extreme_jvp, batched=True)
amin = defprim("min", _reduction(np.min), vjp=_extreme_vjp, jvp=_extreme_jvp, batched=True)


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
    n = _math.prod(moved_shape[len(kept):])
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


prod = defprim("prod", _reduction(np.prod),
               vjp=lambda g, ans, i, x, axis=None, keepdims=False:
               mul(_expand_reduced(g, x, axis, keepdims), _prod_others(ans, x, axis, keepdims)),
               jvp=lambda t, ans, x, axis=None, keepdims=False:
               _sum_tangent(mul(t[0], _prod_others(ans, x, axis, keepdims)), x, axis, keepdims), batched=True)


def _logsumexp_impl(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if _foreign(x):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    x = np.asarray(x, dtype=float)
    m = x.max(axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()).item())




def decided(x: Any) -> Any:
    """What a comparison or another non-differentiable function reads: the value under every trace level,
    except a staging level's (``stages``), which records the comparison instead of deciding it (jit)."""
    while isinstance(x, Box) and not getattr(x, "stages", False):
        x = x.value
    return x


def _shift(x: Any, axis: Any) -> Any:
    """max x along ``axis`` (kept), 0 where it is not finite: a constant to subtract before exp (under jit, a
    row of the program computed from x at every call, not the first call's values)."""
    low = decided(x)
    if isinstance(low, Box):
        m = amax(low, axis=axis, keepdims=True)
        return where(np.isfinite(m), m, 0.0)
    m = np.max(np.asarray(low), axis=axis, keepdims=True, initial=-np.inf)
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


logsumexp = defprim("logsumexp", _logsumexp_impl, vjp=_logsumexp_vjp,
                    jvp=lambda t, ans, x, axis=None, keepdims=False:
                    _sum_tangent(mul(t[0], _softmax_weights(ans, x, axis, keepdims)), x, axis, keepdims),
                    batched=True)


def softmax(x: Any, axis: int = -1) -> Any:
    """Numerically stable softmax along ``axis``: exp(x - m) / sum exp(x - m) with m = max x, to a few ulps
    (exp(x - logsumexp x) loses |logsumexp x| ulps to the rounding of logsumexp)."""
    return _softmax_weights(None, x, axis, True)


# ---- linear algebra -----------------------------------------------------------------------


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


def _bilinear_jvp(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def jvp(t: Any, ans: Any, a: Any, b: Any) -> Any:
        out = None
        if t[0] is not None:
            out = op(t[0], b) if len(shape_of(t[0])) == len(shape_of(a)) else _batched_matmul(t[0], a, b, 0, ans)
        if t[1] is not None:
            term = op(a, t[1]) if len(shape_of(t[1])) == len(shape_of(b)) else _batched_matmul(t[1], a, b, 1, ans)
            out = term if out is None else add(out, term)
        return out

    return jvp


def _batched_matmul(t: Any, a: Any, b: Any, i: int, ans: Any) -> Any:
    """``t @ b`` (i = 0) or ``a @ t`` (i = 1) for a tangent t with a leading batch axis: 1-D operands made
    explicit rows (a) or columns (b), the tangent's matrices aligned under the other's stacking axes, one
    matmul, and the result reshaped to (k, *ans.shape) (the same elements in the same order)."""
    sa = shape_of(a)
    sb = shape_of(b)
    sa = (1,) + sa if len(sa) == 1 else sa
    sb = sb + (1,) if len(sb) == 1 else sb
    mine, other = (sa, sb) if i == 0 else (sb, sa)
    k = shape_of(t)[:1]
    t = reshape(t, k + (1,) * max(0, len(other) - len(mine)) + mine)
    o = reshape(b if i == 0 else a, other)
    return reshape(matmul(t, o) if i == 0 else matmul(o, t), k + shape_of(ans))


matmul = defprim("matmul", np.matmul, vjp=_matmul_vjp, jvp=_bilinear_jvp(lambda a, b: matmul(a, b)),
                 ufuncs=(np.matmul,), ops=("__matmul__", "__rmatmul__"), saves=_the_other, text="{0} @ {1}",
                 batched=True)


def _dot_vjp(g: Any, ans: Any, i: int, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(mul(g, b if i == 0 else a), a if i == 0 else b)
    if np.ndim(b) <= 2:  # np.dot agrees with matmul here
        return _matmul_vjp(g, ans, i, a, b)
    raise NotImplementedError("dot with a >2-D second operand is not differentiable here; use matmul")


dot = defprim("dot", np.dot, vjp=_dot_vjp, jvp=_bilinear_jvp(lambda a, b: dot(a, b)),
              batched=lambda a, b: len(shape_of(a)) >= 1 and 1 <= len(shape_of(b)) <= 2)  # where dot is matmul


# the 2-norm of all elements: one BLAS pass forward (no x * x array), x * (g / |x|) back


def _rescaled(ans: Any, x: Any) -> tuple[Any, Any]:
    """(x, |x|), or (x / m, |x / m|) with m = max |x_i| where |x| under- or overflowed: np.linalg.norm does
    not rescale (the norm of [1e-200, 3e-200] is 0.0, so x / |x| was inf). x / |x| is the same vector for
    any constant m > 0, so the choice by value holds at every order. Under jit the choice is staged
    (``_staged_rescaled``): a scale frozen at the tracing call's values gave 0 at [1e200, 1, .5]."""
    low = decided(x)
    if isinstance(low, Box):
        return _staged_rescaled(ans, x, low)
    r = abs(raw(ans)) if np.ndim(raw(ans)) == 0 else _TINY
    if _TINY <= r < np.inf:
        return x, ans
    m = float(np.max(np.abs(np.asarray(raw(x))), initial=0.0))
    if not 0.0 < m < np.inf:
        return x, ans
    u = div(x, m)
    return u, norm(u)


def _staged_rescaled(ans: Any, x: Any, low: Any) -> tuple[Any, Any]:
    """``_rescaled`` as rows of jit's program, decided at every call: x / s and |x / s| with s = 1 where |x| is a
    normal float (x / 1.0 is x and |x| is ans, bit for bit), else s = max |x_i| where that is finite and > 0.
    s is computed from the staged value only (``decided``): a constant for the derivative levels, as eagerly."""
    n0 = norm(low)
    ok = np.logical_and(n0 >= _TINY, n0 < np.inf)  # staged comparisons (NONDIFF rows), not decided here
    m = amax(abs_(low))
    s = where(np.logical_or(ok, np.logical_not(np.logical_and(m > 0.0, m < np.inf))), 1.0, m)
    u = div(x, s)
    return u, norm(u)


norm = defprim("norm", lambda x: np.linalg.norm(x) if isinstance(x, np.ndarray) else abs(x),
                vjp=lambda g, ans, i, x: (lambda u, n: mul(u, div(g, n)))(*_rescaled(ans, x)),
                jvp=lambda t, ans, x: (lambda u, n: div(_sum_tangent(mul(t[0], u), x, None, False), n))(
                    *_rescaled(ans, x)), batched=True)


