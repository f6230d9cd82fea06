"""The fast layer's forward push for batched array tangents: the reference rule without the work that cannot
change its result.

:func:`diffcompare.ad.forward.push_forward` multiplies every tangent by its partial and checks every product
for a nan (the convention at 0 * inf). With k directions in one pass those products are k times the size of
the partials, so here: a partial of exactly +1 or -1 (add, sub, neg) passes the tangent on or negates it,
no product at all; the nan check is skipped where the partial is finite and non-zero (the product's nans
are then the tangent's own, which the convention keeps); and a sum of terms is accumulated in place into the
term this push made. Anything else (unbatched tangents, traced ones, non-elementwise primitives) takes the
reference rule. The tests compare both on random programs (tests/test_batched_tangents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad import forward
from diffcompare.ad.kinks import has_nan, zero_times_inf
from diffcompare.ad.tracer import MINUS_ONE, ONE, Box, Primitive, shape_of

_ND = np.ndarray


def _harmless(d: Any) -> bool:
    """A partial whose product with any tangent has no nan but the tangent's own: finite and non-zero."""
    if d.__class__ is float:
        return d != 0.0 and d - d == 0.0
    if d.__class__ is _ND and d.dtype.kind == "f":
        return bool(d.all()) and not has_nan(d - d)  # inf - inf is nan
    return False


def push_forward(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any],
                 kw: dict[str, Any]) -> Any:
    """:func:`diffcompare.ad.forward.push_forward`, faster for batched plain-array tangents."""
    partials = prim.partials
    if partials is None or ans.__class__ is not _ND:
        return forward.push_forward(prim, ans, args, tangents, kw)
    nd = ans.ndim
    batch = None
    for x, t in zip(args, tangents):
        if isinstance(x, Box):  # values of lower levels: their rows as the reference rule records them
            return forward.push_forward(prim, ans, args, tangents, kw)
        if t is not None:
            if t.__class__ is not _ND:
                return forward.push_forward(prim, ans, args, tangents, kw)
            if batch is None and t.ndim > len(shape_of(x)):
                batch = t.shape[:1]
    if batch is None:  # unbatched: the reference rule, as before
        return forward.push_forward(prim, ans, args, tangents, kw)
    tangent = None
    owned = False  # tangent is an array this push made (may be updated in place)
    for i, t in enumerate(tangents):
        if t is None:
            continue
        xnd = len(shape_of(args[i]))
        if t.ndim > xnd and xnd < nd:  # aligned to the result's axes, as in the reference rule
            t = t.reshape(batch + (1,) * (nd - xnd) + shape_of(args[i]))
        d = partials[i](ans, *args, **kw)
        if d is ONE or d is MINUS_ONE:
            if tangent is None:
                tangent, owned = (t, False) if d is ONE else (np.negative(t), True)
            elif owned and tangent.shape == np.broadcast_shapes(tangent.shape, t.shape) \
                    and np.can_cast(t.dtype, tangent.dtype):
                (np.add if d is ONE else np.subtract)(tangent, t, out=tangent)
            else:
                tangent, owned = (tangent + t if d is ONE else tangent - t), True
            continue
        term = t * d
        if term.__class__ is not _ND:
            return forward.push_forward(prim, ans, args, tangents, kw)
        if term.dtype.kind in "fc" and not _harmless(d) and has_nan(term):
            term = zero_times_inf(term, t, d)
            if t.ndim > xnd and xnd == 0:
                term = np.where(t == 0, 0.0, term)
        if tangent is None:
            tangent, owned = term, True
        elif owned and tangent.shape == np.broadcast_shapes(tangent.shape, term.shape) \
                and np.can_cast(term.dtype, tangent.dtype):
            np.add(tangent, term, out=tangent)
        else:
            tangent, owned = tangent + term, True
    if tangent is None:
        return np.zeros(batch + ans.shape)
    if tangent.shape != batch + ans.shape:
        tangent = np.broadcast_to(tangent, batch + ans.shape)
    return tangent
