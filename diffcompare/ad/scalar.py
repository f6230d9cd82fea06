"""The scalar fast path of reverse and forward mode: operators on traced Python floats.

Python-level overhead per operation is what makes AD slow on scalar code (the logistic map,
a sum of sines). For a reverse-mode value holding a Python float, the common operators compute
the result and its local partial derivatives directly with float arithmetic and record one tape
row; the backward pass then needs one multiply-add per edge (``RNode.local``); a dual number pushes
its tangent through the same partials. Anything else (arrays, nested traces, a value outside the
fast path's domain: x/0, a negative base to a fractional power) falls through to the primitive's
general rule, so results are the same either way: the tests run the same functions through both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.ad import primitives as P
from diffcompare.ad.core import Box, RNode, zero_times_inf

_FLOAT = float
_INT = int


def _general(prim: P.Primitive, self: Box, other: Any, args: tuple[Any, Any]) -> Any:
    """The general rule, skipping the level search when ``other`` is a constant or of our own trace.

    For reverse (RNode) and forward (FNode) values alike: ``other`` of the same kind and trace."""
    if other.__class__ is self.__class__:
        if other.trace is self.trace:
            return self.process(prim, args, _NO_KW)
    elif not isinstance(other, Box):
        return self.process(prim, args, _NO_KW)
    return prim(*args)


_NO_KW: dict[str, Any] = {}


def _binary(prim: P.Primitive, fast: Callable[[float, float], tuple[float, float, float] | None],
            reflected: bool = False) -> Callable[[RNode, Any], Any]:
    """An operator method: ``fast(a, b)`` returns (ans, d/da, d/db) or None to take the general path."""

    def method(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                if reflected:
                    r = fast(other, a)
                    if r is not None:
                        return RNode(r[0], self.trace, prim, (self,), (1,), (other, a), None, (r[2],))
                else:
                    r = fast(a, other)
                    if r is not None:
                        return RNode(r[0], self.trace, prim, (self,), (0,), (a, other), None, (r[1],))
            elif not reflected and oc is RNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                r = fast(a, b)
                if r is not None:
                    return RNode(r[0], self.trace, prim, (self, other), (0, 1), (a, b), None, (r[1], r[2]))
        return _general(prim, self, other, (other, self) if reflected else (self, other))

    return method


def _div(a: float, b: float) -> tuple[float, float, float] | None:
    if b == 0.0:
        return None
    ans = a / b
    return ans, 1.0 / b, -ans / b


def _pow(a: float, b: float) -> tuple[float, float, float] | None:
    if a <= 0.0:
        return None  # negative bases and 0 ** y: the general rule's conventions
    try:
        ans = a**b
        if (b - 1.0) + 1.0 != b and _TINY <= abs(ans) < _INF:  # y - 1 rounds: as the general rule, y ans / x
            return ans, ((b * ans) / a if -1.0 <= b <= 1.0 else b * (ans / a)), ans * math.log(a)
        return ans, b * a ** (b - 1), ans * math.log(a)
    except OverflowError:  # the general rule gives numpy's inf (or a finite product) instead
        return None


_TINY = 2.2250738585072014e-308  # the smallest normal float
_INF = math.inf


_UNARY: dict[Any, tuple[P.Primitive, Callable[[float], tuple[float, float]]]] = {}


def _unary(ufunc: Any, prim: P.Primitive, fast: Callable[[float], tuple[float, float]]) -> None:
    _UNARY[ufunc] = (prim, fast)


def _unary_fast(value: Any, ufunc: Any, method: str, inputs: Any, kwargs: Any) -> tuple[Any, float, float] | None:
    """(primitive, f(a), f'(a)) for ``np.sin(x)`` and friends on a float value; None otherwise."""
    entry = _UNARY.get(ufunc)
    if entry is None or value.__class__ is not _FLOAT or len(inputs) != 1 or kwargs or method != "__call__":
        return None
    try:
        y, d = entry[1](value)
    except (ValueError, OverflowError, ZeroDivisionError):
        return None  # outside the domain: numpy's nan/inf through the general path
    return entry[0], y, d


def _install() -> None:
    import numpy as np

    R = RNode
    add, sub, mul = P.add, P.sub, P.mul

    # the hottest operators, written out: no helper call, no tuple unpacking
    def __add__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return RNode(a + other, self.trace, add, (self,), (0,), (a, other), None, (1.0,))
            if oc is RNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return RNode(a + b, self.trace, add, (self, other), (0, 1), (a, b), None, (1.0, 1.0))
        return _general(add, self, other, (self, other))

    def __radd__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return RNode(other + a, self.trace, add, (self,), (1,), (other, a), None, (1.0,))
        return _general(add, self, other, (other, self))

    def __sub__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return RNode(a - other, self.trace, sub, (self,), (0,), (a, other), None, (1.0,))
            if oc is RNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return RNode(a - b, self.trace, sub, (self, other), (0, 1), (a, b), None, (1.0, -1.0))
        return _general(sub, self, other, (self, other))

    def __rsub__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return RNode(other - a, self.trace, sub, (self,), (1,), (other, a), None, (-1.0,))
        return _general(sub, self, other, (other, self))

    def __mul__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return RNode(a * other, self.trace, mul, (self,), (0,), (a, other), None, (other,))
            if oc is RNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return RNode(a * b, self.trace, mul, (self, other), (0, 1), (a, b), None, (b, a))
        return _general(mul, self, other, (self, other))

    def __rmul__(self: RNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return RNode(other * a, self.trace, mul, (self,), (1,), (other, a), None, (other,))
        return _general(mul, self, other, (other, self))

    R.__add__, R.__radd__, R.__sub__, R.__rsub__ = __add__, __radd__, __sub__, __rsub__
    R.__mul__, R.__rmul__ = __mul__, __rmul__
    R.__truediv__ = _binary(P.div, _div)
    R.__rtruediv__ = _binary(P.div, _div, reflected=True)
    R.__pow__ = _binary(P.pow_, _pow)
    R.__rpow__ = _binary(P.pow_, _pow, reflected=True)

    def neg(self: RNode) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            return RNode(-a, self.trace, P.neg, (self,), (0,), (a,), None, (-1.0,))
        return P.neg(self)

    R.__neg__ = neg

    def sin(x: float) -> tuple[float, float]:
        return math.sin(x), math.cos(x)

    def cos(x: float) -> tuple[float, float]:
        return math.cos(x), -math.sin(x)

    def exp(x: float) -> tuple[float, float]:
        y = math.exp(x)
        return y, y

    def log(x: float) -> tuple[float, float]:
        return math.log(x), 1.0 / x

    def tanh(x: float) -> tuple[float, float]:
        s = P.sech(x)  # as the general rule: sech^2, not 1 - tanh^2 (which cancels)
        return math.tanh(x), s * s

    def sqrt(x: float) -> tuple[float, float]:
        y = math.sqrt(x)
        return y, 0.5 / y

    for ufunc, prim, fast in ((np.sin, P.sin, sin), (np.cos, P.cos, cos), (np.exp, P.exp, exp),
                              (np.log, P.log, log), (np.tanh, P.tanh, tanh), (np.sqrt, P.sqrt, sqrt)):
        _unary(ufunc, prim, fast)

    general = P.dispatch_ufunc

    def array_ufunc(self: RNode, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fast = _unary_fast(self.value, ufunc, method, inputs, kwargs)
        if fast is None:
            return general(ufunc, method, inputs, kwargs)
        prim, y, d = fast
        return RNode(y, self.trace, prim, (self,), (0,), (self.value,), None, (d,))

    R.__array_ufunc__ = array_ufunc


_install()


def _times(t: Any, d: float) -> Any:
    """A tangent times a local partial, a zero factor contributing nothing (0 * inf = 0), as in reverse mode."""
    c = t * d
    if c.__class__ is _FLOAT and c != c:
        return zero_times_inf(c, t, d)
    if c.__class__ is np.ndarray and c.dtype.kind in "fc" and np.isnan(c).any():
        return zero_times_inf(c, t, d)
    return c


# ---- forward mode: the same local partials, pushed forward ---------------------------------------
def _install_forward() -> None:
    """Dual numbers holding Python floats take the same shortcut: tangent = sum of t_i * d/da_i."""
    from diffcompare.ad.core import FNode

    def binary(prim: P.Primitive, fast: Callable[[float, float], Any], reflected: bool = False) -> Any:
        def method(self: FNode, other: Any) -> Any:
            a = self.value
            if a.__class__ is _FLOAT:
                oc = other.__class__
                if oc is _FLOAT or oc is _INT:
                    r = fast(other, a) if reflected else fast(a, other)
                    if r is not None:
                        return FNode(r[0], _times(self.tangent, r[2] if reflected else r[1]), self.trace)
                elif not reflected and oc is FNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                    r = fast(a, other.value)
                    if r is not None:
                        return FNode(r[0], _times(self.tangent, r[1]) + _times(other.tangent, r[2]), self.trace)
            return _general(prim, self, other, (other, self) if reflected else (self, other))

        return method

    def add(a: float, b: float) -> tuple[float, float, float]:
        return a + b, 1.0, 1.0

    def sub(a: float, b: float) -> tuple[float, float, float]:
        return a - b, 1.0, -1.0

    def mul(a: float, b: float) -> tuple[float, float, float]:
        return a * b, b, a

    F = FNode
    for name, prim, fast in (("add", P.add, add), ("sub", P.sub, sub), ("mul", P.mul, mul),
                             ("truediv", P.div, _div), ("pow", P.pow_, _pow)):
        setattr(F, f"__{name}__", binary(prim, fast))
        setattr(F, f"__r{name}__", binary(prim, fast, reflected=True))

    def neg(self: FNode) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            return FNode(-a, -self.tangent, self.trace)
        return P.neg(self)

    F.__neg__ = neg
    general_ufunc = P.dispatch_ufunc

    def array_ufunc(self: FNode, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fast = _unary_fast(self.value, ufunc, method, inputs, kwargs)
        if fast is None:
            return general_ufunc(ufunc, method, inputs, kwargs)
        return FNode(fast[1], _times(self.tangent, fast[2]), self.trace)

    F.__array_ufunc__ = array_ufunc


_install_forward()
