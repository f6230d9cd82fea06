"""Forward mode, the reference: dual numbers, each value carrying its tangent, computed as it goes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.kinks import PLAIN_SCALARS, has_nan, times, zero_times_inf
from diffcompare.ad.numpy_api import Traced
from diffcompare.ad.rules import broadcast_to
from diffcompare.ad.tracer import Primitive, Trace, shape_of, stale_value


class FNode(Traced):
    """A forward-mode traced value: a primal with its tangent (a dual number)."""

    __slots__ = ("tangent",)

    def __init__(self, value: Any, tangent: Any, trace: Trace) -> None:
        if trace.closed:  # the fast path builds results here directly, without process()
            raise stale_value()
        self.value = value
        self.tangent = tangent
        self.trace = trace

    def process(self, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> FNode:
        trace = self.trace
        if trace.closed:
            raise stale_value()
        vals = []
        tangents: list[Any] = []
        nested = False  # values of lower levels among the arguments: let them record too
        for a in args:
            if isinstance(a, Traced) and a.trace is trace:
                vals.append(a.value)
                tangents.append(a.tangent)
                nested = nested or isinstance(a.value, Traced)
                continue
            nested = nested or isinstance(a, Traced)
            vals.append(a)
            tangents.append(None)
        ans = prim(*vals, **kw) if nested else prim.impl(*vals, **kw)
        return self.__class__(ans, push_forward(prim, ans, vals, tangents, kw), trace)


def push_forward(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any],
                 kw: dict[str, Any]) -> Any:
    """The tangent of ``ans = prim(*args)`` given the arguments' tangents (None: not differentiated).

    Forward mode's one rule, used by :class:`FNode` and by the evaluation-trace tables.
    """
    partials = prim.partials
    if partials is None:
        return prim.jvp(tangents, ans, *args, **kw)
    tangent = None
    for i, t in enumerate(tangents):
        # a plain zero tangent (a Jacobian's basis) adds nothing, even through an infinite partial: d(x^y)/dy
        # at x = 0 is then 0 in forward mode as in reverse mode, where that argument receives no term at all
        if t is not None and not (t.__class__ in PLAIN_SCALARS and t == 0):
            d = partials[i](ans, *args, **kw)
            term = t * d
            if term.__class__ is np.ndarray and term.dtype.kind in "fc" and has_nan(term):
                term = zero_times_inf(term, t, d)  # 0 * inf: a zero factor contributes nothing (kinks.py)
            elif getattr(term, "stages", False):  # staged by jit: the program applies the convention when it runs
                term = times(t, d)
            tangent = term if tangent is None else tangent + term
    if tangent is None:
        tangent = np.zeros(shape_of(ans)) if shape_of(ans) else 0.0
    if shape_of(tangent) != shape_of(ans):  # an input was broadcast up to the result
        tangent = broadcast_to(tangent, np.shape(ans))
    return tangent
