"""The fast layer's forward push: the reference rule without the work that cannot change its result.

:func:`diffcompare.ad.forward.push_forward` is written once for one direction and for a batch of k, so every
push asks the shape of every argument and tangent. Here the question is asked once per push: one direction
(``jvp``, ``hvp``) takes the direct rule, which asks no shapes; a batch of plain-array tangents (``jacfwd``,
``hessian``) takes the batched rule below. In the batched rule, whose products are k times the size of the
partials: a partial of exactly +1 or -1 (add, sub, neg) passes the tangent on or negates it, no product at
all; the nan check is skipped where the partial is finite and non-zero (the product's nans are then the
tangent's own, which the convention keeps); and a sum of terms is accumulated in place into the term this push
made. Anything else (traced values, non-elementwise primitives) takes the reference rule. The tests compare
both on random programs (tests/test_batched_tangents.py, tests/test_fast_vs_reference.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad import forward
from diffcompare.ad.kinks import PLAIN_SCALARS, has_nan, times, zero_times_inf
from diffcompare.ad.rules import broadcast_to
from diffcompare.ad.tracer import MINUS_ONE, ONE, Box, Primitive, shape_of

_ND = np.ndarray
_FLOAT = float


def push_forward(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any],
                 kw: dict[str, Any]) -> Any:
    """:func:`diffcompare.ad.forward.push_forward`, the batch decided once: one direction takes the direct
    rule, a batch of plain arrays the batched one, anything else the reference."""
    batch = _batch(args, tangents)
    if batch is None:
        return push_one(prim, ans, args, tangents, kw)
    if prim.partials is None or ans.__class__ is not _ND or not _plain(args, tangents):
        return forward.push_forward(prim, ans, args, tangents, kw)
    return _push_batch(prim, ans, args, tangents, kw, batch)


def _batch(args: Sequence[Any], tangents: Sequence[Any]) -> tuple[int, ...] | None:
    """``(k,)`` when a tangent carries a leading batch axis (one axis more than its argument), else None;
    a float tangent is one direction, an array's rank is read without ``shape_of``."""
    for x, t in zip(args, tangents):
        if t is None or t.__class__ is _FLOAT:
            continue
        nt = t.ndim if t.__class__ is _ND else len(shape_of(t))
        if nt and nt > (x.ndim if x.__class__ is _ND else len(shape_of(x))):
            return shape_of(t)[:1]
    return None


def push_one(prim: Primitive, ans: Any, args: Sequence[Any], tangents: Sequence[Any], kw: dict[str, Any]) -> Any:
    """The reference rule for one direction (no batch axis anywhere), without its batch bookkeeping."""
    partials = prim.partials
    if partials is None:
        return prim.jvp(tangents, ans, *args, **kw)
    tangent = None
    for i, t in enumerate(tangents):
        if t is not None and not (t.__class__ in PLAIN_SCALARS and t == 0):  # a plain zero adds nothing
            d = partials[i](ans, *args, **kw)
            term = t * d
            if term.__class__ is _ND:
                if term.dtype.kind in "fc" and has_nan(term):
                    term = zero_times_inf(term, t, d)  # 0 * inf: a zero factor contributes nothing (kinks.py)
            elif getattr(term, "stages", False):  # staged by jit: the program applies the convention when it runs
                term = times(t, d)
            tangent = term if tangent is None else tangent + term
    shape = shape_of(ans)
    if tangent is None:
        return np.zeros(shape) if shape else 0.0
    if shape_of(tangent) != shape:  # an input was broadcast up to the result
        return broadcast_to(tangent, np.shape(ans))
    return tangent


def _plain(args: Sequence[Any], tangents: Sequence[Any]) -> bool:
    """No value of a lower level among the arguments (the reference rule records their rows) and every
    tangent a plain array or None."""
    for x, t in zip(args, tangents):
        if isinstance(x, Box) or (t is not None and t.__class__ is not _ND):
            return False
    return True


def _push_batch(prim: Primitive, ans: np.ndarray, args: Sequence[Any], tangents: Sequence[Any], kw: dict[str, Any],
                batch: tuple[int, ...]) -> Any:
    """k directions through an elementwise rule: each partial once, the terms summed in place where possible."""
    partials = prim.partials
    nd = ans.ndim
    tangent = None
    owned = False  # tangent is an array this push made (may be updated in place)
    for i, t in enumerate(tangents):
        if t is None:
            continue
        xshape = shape_of(args[i])
        if t.ndim > len(xshape) and len(xshape) < nd:  # aligned to the result's axes, as in the reference rule
            t = t.reshape(batch + (1,) * (nd - len(xshape)) + xshape)
        d = partials[i](ans, *args, **kw)
        if d is ONE or d is MINUS_ONE:
            tangent, owned = _add_signed(tangent, owned, t, d is ONE)
            continue
        term = t * d
        if term.__class__ is not _ND:
            return forward.push_forward(prim, ans, args, tangents, kw)
        if term.dtype.kind in "fc" and not _harmless(d) and has_nan(term):
            term = _zero_times_inf_per_direction(term, t, d, len(xshape))
        tangent, owned = _add_signed(tangent, owned, term, True, made=True)
    if tangent is None:
        return np.zeros(batch + ans.shape)
    if tangent.shape != batch + ans.shape:
        tangent = np.broadcast_to(tangent, batch + ans.shape)
    return tangent


def _add_signed(tangent: Any, owned: bool, t: np.ndarray, plus: bool, made: bool = False) -> tuple[Any, bool]:
    """``tangent + t`` (or ``- t``), into ``tangent`` when this push made it and the sum keeps its shape and
    dtype; ``made``: ``t`` is this push's own array (a product), so it may become the sum itself."""
    if tangent is None:
        if plus:
            return t, made
        return np.negative(t), True
    if owned and tangent.shape == np.broadcast_shapes(tangent.shape, t.shape) and np.can_cast(t.dtype, tangent.dtype):
        (np.add if plus else np.subtract)(tangent, t, out=tangent)
        return tangent, True
    return (tangent + t if plus else tangent - t), True


def _zero_times_inf_per_direction(term: np.ndarray, t: np.ndarray, d: Any, xnd: int) -> np.ndarray:
    """The convention at 0 * inf for a batched product; a scalar argument's zero direction adds nothing even
    through a nan partial (as a plain zero tangent in the reference rule)."""
    term = zero_times_inf(term, t, d)
    if t.ndim > xnd and xnd == 0:
        term = np.where(t == 0, 0.0, term)
    return term


def _harmless(d: Any) -> bool:
    """A partial whose product with any tangent has no nan but the tangent's own: finite and non-zero."""
    if d.__class__ is float:
        return d != 0.0 and d - d == 0.0
    if d.__class__ is _ND and d.dtype.kind == "f":
        return bool(d.all()) and not has_nan(d - d)  # inf - inf is nan
    return False
