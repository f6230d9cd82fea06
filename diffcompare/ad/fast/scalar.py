"""The scalar fast path of reverse and forward mode: operators on traced Python floats.

Python-level overhead per operation is what makes AD slow on scalar code (the logistic map, a sum of
sines). For a traced value holding a Python float, the operators compute the result and its local partial
derivatives directly with float arithmetic and record one tape row holding them (``RNode.local``); the
reverse pass then needs one multiply-add per edge, and a dual number pushes its tangent through the same
partials. Anything else (arrays, nested traces, a value outside the fast rule's domain: x/0, a negative
base to a fractional power) falls through to the primitive's general rule.

The rules come from the table (:mod:`diffcompare.ad.rules`): a primitive's ``fast`` hint where it has one
(checked against its partials by the tests), else its ``math`` implementation and its partial evaluated on
floats. add, sub and mul, the hottest, are written out below (also checked against the table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.ad.fast import forward as forward_fast
from diffcompare.ad.fast import lean
from diffcompare.ad.forward import FNode
from diffcompare.ad.kinks import has_nan, zero_times_inf
from diffcompare.ad.numpy_api import dispatch_ufunc
from diffcompare.ad.reverse import RNode
from diffcompare.ad.rules import RULES, add, div, mul, neg, pow_, sub, ufunc_table
from diffcompare.ad.tracer import Box, Primitive

_FLOAT = float
_INT = int
_NO_KW: dict[str, Any] = {}


def _general(prim: Primitive, self: Box, other: Any, args: tuple[Any, Any]) -> Any:
    """The general rule, skipping the level search when ``other`` is a constant or of our own trace."""
    if other.__class__ is self.__class__:
        if other.trace is self.trace:
            return self.process(prim, args, _NO_KW)
    elif not isinstance(other, Box):
        return self.process(prim, args, _NO_KW)
    return prim(*args)


def unary_rule(prim: Primitive) -> Callable[[float], tuple[float, float]] | None:
    """``x -> (f(x), f'(x))`` on a float for an elementwise primitive: its ``fast`` hint, or derived from its
    ``math`` implementation and its partial (None where the partial is not a float there)."""
    if prim.fast is not None:
        return prim.fast
    if prim.math is None or prim.partials is None or len(prim.partials) != 1:
        return None
    f, partial = prim.math, prim.partials[0]

    def derived(x: float) -> tuple[float, float]:
        y = f(x)
        d = partial(y, x)
        if d.__class__ is not _FLOAT:
            raise ValueError  # not a plain float partial: the general rule
        return y, d

    return derived


# numpy's unary ufuncs on a traced float: (the table's primitive, its x -> (f(x), f'(x)) rule)
UNARY_RULES: dict[Any, tuple[Primitive, Callable[[float], tuple[float, float]]]] = {
    u: (p, r) for u, p in ufunc_table().items() if p.partials is not None and (r := unary_rule(p)) is not None}


def _unary_fast(value: Any, ufunc: Any, method: str, inputs: Any, kwargs: Any) -> tuple[Any, float, float] | None:
    """(primitive, f(a), f'(a)) for ``np.sin(x)`` and friends on a float value; None otherwise."""
    entry = UNARY_RULES.get(ufunc)
    if entry is None or value.__class__ is not _FLOAT or len(inputs) != 1 or kwargs or method != "__call__":
        return None
    try:
        y, d = entry[1](value)
    except (ValueError, OverflowError, ZeroDivisionError):
        return None  # outside the domain: numpy's nan/inf through the general path
    return entry[0], y, d


class FastRNode(RNode):
    """A reverse-mode row of the fast layer: float operators record their partials; arrays go lean."""

    __slots__ = ()

    def process(self, prim: Primitive, args: Any, kw: dict[str, Any]) -> Box:
        return lean.record(self, self, prim, args, kw)

    # the hottest operators, written out: no helper call, no tuple unpacking
    def __add__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return FastRNode(a + other, self.trace, add, (self,), (0,), (a, other), None, (1.0,))
            if oc is FastRNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return FastRNode(a + b, self.trace, add, (self, other), (0, 1), (a, b), None, (1.0, 1.0))
        return _general(add, self, other, (self, other))

    def __radd__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return FastRNode(other + a, self.trace, add, (self,), (1,), (other, a), None, (1.0,))
        return _general(add, self, other, (other, self))

    def __sub__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return FastRNode(a - other, self.trace, sub, (self,), (0,), (a, other), None, (1.0,))
            if oc is FastRNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return FastRNode(a - b, self.trace, sub, (self, other), (0, 1), (a, b), None, (1.0, -1.0))
        return _general(sub, self, other, (self, other))

    def __rsub__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return FastRNode(other - a, self.trace, sub, (self,), (1,), (other, a), None, (-1.0,))
        return _general(sub, self, other, (other, self))

    def __mul__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                return FastRNode(a * other, self.trace, mul, (self,), (0,), (a, other), None, (other,))
            if oc is FastRNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                return FastRNode(a * b, self.trace, mul, (self, other), (0, 1), (a, b), None, (b, a))
        return _general(mul, self, other, (self, other))

    def __rmul__(self, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT and (other.__class__ is _FLOAT or other.__class__ is _INT):
            return FastRNode(other * a, self.trace, mul, (self,), (1,), (other, a), None, (other,))
        return _general(mul, self, other, (other, self))

    def __neg__(self) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            return FastRNode(-a, self.trace, neg, (self,), (0,), (a,), None, (-1.0,))
        return neg(self)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fast = _unary_fast(self.value, ufunc, method, inputs, kwargs)
        if fast is None:
            return dispatch_ufunc(ufunc, method, inputs, kwargs)
        prim, y, d = fast
        return FastRNode(y, self.trace, prim, (self,), (0,), (self.value,), None, (d,))


def _reverse_binary(prim: Primitive, reflected: bool) -> Callable[[FastRNode, Any], Any]:
    """An operator method from the table's two-argument ``fast`` rule: (ans, d/da, d/db) or None."""
    fast = prim.fast

    def method(self: FastRNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                if reflected:
                    r = fast(other, a)
                    if r is not None:
                        return FastRNode(r[0], self.trace, prim, (self,), (1,), (other, a), None, (r[2],))
                else:
                    r = fast(a, other)
                    if r is not None:
                        return FastRNode(r[0], self.trace, prim, (self,), (0,), (a, other), None, (r[1],))
            elif not reflected and oc is FastRNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                b = other.value
                r = fast(a, b)
                if r is not None:
                    return FastRNode(r[0], self.trace, prim, (self, other), (0, 1), (a, b), None, (r[1], r[2]))
        return _general(prim, self, other, (other, self) if reflected else (self, other))

    return method


def _times(t: Any, d: float) -> Any:
    """A tangent times a local partial, a zero factor contributing nothing (0 * inf = 0), as in reverse mode."""
    c = t * d
    if c.__class__ is _FLOAT and c != c:
        return zero_times_inf(c, t, d)
    if c.__class__ is np.ndarray and c.dtype.kind in "fc" and has_nan(c):
        return zero_times_inf(c, t, d)
    return c


def _add(a: float, b: float) -> tuple[float, float, float]:
    return a + b, 1.0, 1.0


def _sub(a: float, b: float) -> tuple[float, float, float]:
    return a - b, 1.0, -1.0


def _mul(a: float, b: float) -> tuple[float, float, float]:
    return a * b, b, a


class FastFNode(FNode):
    """A dual number of the fast layer: float operators push the tangent through the same local partials;
    batched array tangents go through the fast layer's push (:mod:`diffcompare.ad.fast.forward`)."""

    __slots__ = ()
    push = staticmethod(forward_fast.push_forward)

    def __neg__(self) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            return FastFNode(-a, -self.tangent, self.trace)
        return neg(self)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fast = _unary_fast(self.value, ufunc, method, inputs, kwargs)
        if fast is None:
            return dispatch_ufunc(ufunc, method, inputs, kwargs)
        return FastFNode(fast[1], _times(self.tangent, fast[2]), self.trace)


def _forward_binary(prim: Primitive, fast: Callable[[float, float], Any], reflected: bool) -> Any:
    def method(self: FastFNode, other: Any) -> Any:
        a = self.value
        if a.__class__ is _FLOAT:
            oc = other.__class__
            if oc is _FLOAT or oc is _INT:
                r = fast(other, a) if reflected else fast(a, other)
                if r is not None:
                    return FastFNode(r[0], _times(self.tangent, r[2] if reflected else r[1]), self.trace)
            elif not reflected and oc is FastFNode and other.trace is self.trace and other.value.__class__ is _FLOAT:
                r = fast(a, other.value)
                if r is not None:
                    return FastFNode(r[0], _times(self.tangent, r[1]) + _times(other.tangent, r[2]), self.trace)
        return _general(prim, self, other, (other, self) if reflected else (self, other))

    return method


# the operators of the two-argument primitives with a fast rule, generated from the table (div, pow)
for _rule in RULES.values():
    _prim = _rule.prim
    if _prim.fast is not None and len(_rule.ops) == 2:
        _op, _rop = _rule.ops
        setattr(FastRNode, _op, _reverse_binary(_prim, reflected=False))
        setattr(FastRNode, _rop, _reverse_binary(_prim, reflected=True))
for _prim, _fast in ((add, _add), (sub, _sub), (mul, _mul), (div, div.fast), (pow_, pow_.fast)):
    _op, _rop = RULES[_prim.name].ops
    setattr(FastFNode, _op, _forward_binary(_prim, _fast, reflected=False))
    setattr(FastFNode, _rop, _forward_binary(_prim, _fast, reflected=True))

