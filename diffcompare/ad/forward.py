"""Forward mode, the reference: dual numbers, each value carrying its tangent, computed as it goes.

A tangent may be a batch of k tangents along a leading axis (``jvp(batched=True)``, ``jacfwd``, ``hessian``):
the same pass then carries k directions, each partial computed once for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.kinks import PLAIN_SCALARS, has_nan, times, zero_times_inf
from diffcompare.ad.numpy_api import Traced
from diffcompare.ad.rules import broadcast_to, getitem, reshape, stack
from diffcompare.ad.tracer import Primitive, Trace, shape_of, stale_value


class FNode(Traced):
    """A forward-mode traced value: a primal with its tangent (a dual number)."""

    __slots__ = ("tangent",)
    push: Any = None  # the rule that pushes tangents through a primitive (push_forward; the fast layer's own)

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
        return self.__class__(ans, self.push(prim, ans, vals, tangents, kw), trace)


def push_forward(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any],
                 kw: dict[str, Any]) -> Any:
    """The tangent of ``ans = prim(*args)`` given the arguments' tangents (None: not differentiated).

    Forward mode's one rule, used by :class:`FNode` and by the evaluation-trace tables. A tangent may carry
    one leading *batch* axis more than its argument (k directions pushed at once, see ``jvp(batched=True)``):
    an elementwise partial is computed once and multiplies the whole batch (each tangent aligned to the
    result's trailing axes); a primitive whose ``jvp`` is written for leading axes (``prim.batched``) gets
    the batch as it is, any other one column at a time (correct, slower).
    """
    batch = _batch_shape(args, tangents)
    partials = prim.partials
    if partials is None:
        if batch and not prim.takes_batch(*args, **kw):
            return _column_by_column(prim, ans, args, tangents, kw, batch)
        return prim.jvp(tangents, ans, *args, **kw)
    tangent = None
    nd = len(shape_of(ans))
    for i, t in enumerate(tangents):
        # a plain zero tangent (a Jacobian's basis) adds nothing, even through an infinite partial: d(x^y)/dy
        # at x = 0 is then 0 in forward mode as in reverse mode, where that argument receives no term at all
        if t is not None and not (t.__class__ in PLAIN_SCALARS and t == 0):
            d = partials[i](ans, *args, **kw)
            xnd = len(shape_of(args[i]))
            batched = len(shape_of(t)) > xnd
            if batched and xnd < nd:  # (k, *x.shape) -> (k, 1, .., 1, *x.shape): aligned to the result's axes
                t = reshape(t, batch + (1,) * (nd - xnd) + shape_of(args[i]))
            term = t * d
            if term.__class__ is np.ndarray and term.dtype.kind in "fc" and has_nan(term):
                term = zero_times_inf(term, t, d)  # 0 * inf: a zero factor contributes nothing (kinks.py)
                if batched and xnd == 0:  # as a column's plain zero tangent above: nothing, even through nan
                    term = np.where(t == 0, 0.0, term)
            elif getattr(term, "stages", False):  # staged by jit: the program applies the convention when it runs
                term = times(t, d)
            tangent = term if tangent is None else tangent + term
    if tangent is None:
        tangent = np.zeros(batch + shape_of(ans)) if batch or shape_of(ans) else 0.0
    if shape_of(tangent) != batch + shape_of(ans):  # an input was broadcast up to the result
        tangent = broadcast_to(tangent, batch + np.shape(ans))
    return tangent


def _batch_shape(args: Sequence[Any], tangents: Sequence[Any]) -> tuple[int, ...]:
    """``(k,)`` when a tangent carries a leading batch axis of k directions (one axis more than its argument),
    else ``()``."""
    for x, t in zip(args, tangents):
        if t is not None:
            st = shape_of(t)
            if len(st) > len(shape_of(x)):
                return st[:1]
    return ()


def _column_by_column(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any], kw: dict[str, Any],
                      batch: tuple[int, ...]) -> Any:
    """The batched tangent of a primitive whose ``jvp`` knows no batch axis: its jvp once per direction,
    stacked (the fallback: right for every primitive, k calls instead of one)."""
    cols = []
    for j in range(batch[0]):
        ts = [t if t is None or len(shape_of(t)) == len(shape_of(x)) else getitem(t, j)
              for x, t in zip(args, tangents)]
        col = prim.jvp(ts, ans, *args, **kw)
        if col is None:
            col = np.zeros(shape_of(ans))
        elif shape_of(col) != shape_of(ans):
            col = broadcast_to(col, np.shape(ans))
        cols.append(col)
    return stack(*cols, axis=0)


FNode.push = staticmethod(push_forward)
