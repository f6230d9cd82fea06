"""The fast reverse pass: the reference sweep (:mod:`diffcompare.ad.reverse`) with its adjoints kept scaled.

Array adjoints travel as :class:`Scaled` values, ``k * arr`` with the constant factor ``k`` not yet
applied. On large inputs the backward pass is bound by passes over memory, and most of those an
eager implementation makes are spent on constants: a sum's cotangent broadcast back as an array
of ones, negations (sub, neg), constant factors (``100 * x``, the 2 of ``x ** 2``). Folded into
``k`` they cost nothing until two adjoints meet, a rule needs the array, or the result is handed
out. Everything else (floats, traced adjoints of nested transforms, complex arrays, 0-d values)
goes through the per-edge rule :func:`pull_back` as it is (the reference's, updating a temporary partial
in place where nobody else holds it). On a lean tape, a row's deferred values
(:class:`~diffcompare.ad.fast.lean.Deferred`) are computed just before its rules run.

Reference counts (``sys.getrefcount``) say when an array is a temporary nobody else holds; each count below
is what the call itself holds, and :mod:`~diffcompare.ad.fast.refcount` says where they can be trusted.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.fast import memory, refcount
from diffcompare.ad.fast.lean import Deferred, force, forced
from diffcompare.ad.kinks import NAN_CHECKED, has_nan, zero_times_inf
from diffcompare.ad.reverse import RNode
from diffcompare.ad.rules import is_basic_index, unbroadcast
from diffcompare.ad.tracer import MINUS_ONE, ONE, Box, gc_pause, shape_of

_F64 = np.dtype(np.float64)
_ONE_BUFFER = np.ones(1)


class Scaled:
    """``k * arr``, an array adjoint whose constant factor is not applied yet.

    ``owned``: ``arr`` was made by this backward pass and nobody else holds it, so it may be
    updated in place. ``uniform``: ``arr`` is a read-only broadcast of 1.0 (the cotangent a sum
    sends back), so multiplying by it is multiplying by ``k``.
    """

    __slots__ = ("arr", "k", "owned", "uniform")

    def __init__(self, arr: np.ndarray, k: float, owned: bool, uniform: bool = False) -> None:
        self.arr = arr
        self.k = k
        self.owned = owned
        self.uniform = uniform


def _ones(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of ones of any shape, without memory (every stride 0)."""
    ones = np.ndarray(shape, dtype=_F64, buffer=_ONE_BUFFER, strides=(0,) * len(shape))
    ones.flags.writeable = False
    return ones


def _wrap(c: Any, fresh: bool) -> Any:
    """A dense float64 array adjoint as a Scaled one; anything else as it is."""
    if c.__class__ is not np.ndarray or c.dtype is not _F64 or not c.ndim:
        return c
    if c.size and not any(c.strides):  # a broadcast scalar (a sum's or mean's cotangent): keep the scalar
        return Scaled(_ones(c.shape), float(c.flat[0]), False, True)
    return Scaled(c, 1.0, fresh)


def dense(s: Scaled) -> np.ndarray:
    """``k * arr`` as an array of its own: the owned buffer scaled in place, or a fresh product."""
    if s.owned:
        if s.k != 1.0:
            np.multiply(s.arr, s.k, out=s.arr)
            s.k = 1.0
        return s.arr
    return np.multiply(s.arr, s.k, out=memory.empty(s.arr.shape))


def _readable(s: Scaled) -> np.ndarray:
    """``k * arr`` for a rule that only reads it: no copy where the factor is 1 or the array uniform."""
    if s.uniform:
        value = np.ndarray(s.arr.shape, dtype=_F64, buffer=np.array([s.k]), strides=s.arr.strides)
        value.flags.writeable = False
        return value
    return s.arr if s.k == 1.0 else dense(s)


def _release(s: Scaled) -> None:
    """``s`` is used up: a large buffer of it goes back to the pool if nothing else holds it (the
    next buffer of its shape is then one still in cache). Call it only where ``s.arr.size`` is large."""
    arr = s.arr
    s.arr = None
    if not s.uniform:
        memory.give_back(arr)


def _add_into(base: np.ndarray, c: Scaled) -> None:
    """``base += c`` (``base`` an owned array of c's shape, or a view into one); c is used up."""
    if c.uniform:
        base += c.k
    elif c.k == 1.0:
        base += c.arr
    elif c.owned:
        base += np.multiply(c.arr, c.k, out=c.arr)
    else:
        scratch = np.multiply(c.arr, c.k, out=memory.empty(c.arr.shape))
        base += scratch
        memory.give_back(scratch)
    if c.arr.size >= memory.MIN_SIZE:
        _release(c)


def _accumulate(parent: RNode, c: Any) -> None:
    pg = parent.grad
    if pg is None:
        parent.grad = c
    elif pg.__class__ is Scaled and c.__class__ is Scaled and pg.arr.shape == c.arr.shape:
        if pg.arr is c.arr or (pg.uniform and c.uniform):  # k1 a + k2 a = (k1 + k2) a (x * x, x + x)
            parent.grad = Scaled(pg.arr, pg.k + c.k, False, pg.uniform)
            return
        base = dense(pg)
        _add_into(base, c)
        parent.grad = Scaled(base, 1.0, True)
    else:  # floats, traced (nested) adjoints, complex arrays: out of place, as they come
        parent.grad = (dense(pg) if pg.__class__ is Scaled else pg) + (dense(c) if c.__class__ is Scaled else c)


def _fresh(d: np.ndarray) -> bool:
    """``d`` is a temporary nobody else holds. Three references: the caller's name, this parameter, and
    getrefcount's argument (a partial the row or the user's code also holds has a fourth)."""
    return refcount.REFCOUNTS_EXACT and sys.getrefcount(d) <= 3 and d.base is None and d.flags.writeable


def pull_back(node: RNode, i: int, g: Any) -> tuple[Any, bool]:
    """The reference's :func:`~diffcompare.ad.reverse.pull_back`, as (term, fresh): ``fresh`` says the term
    is a new array nobody else holds (so the pass may update it in place), and a partial that is such a
    temporary holds the product (one array allocated fewer: on large arrays fresh pages cost more than
    the arithmetic). Two references make a temporary: the name ``c`` or ``d`` and getrefcount's argument.
    """
    prim, args, kw = node.prim, node.args, node.kw or {}
    partials = prim.partials
    if partials is None:
        c = prim.vjp(g, node.value, i, *args, **kw)  # fresh: a new array (a product, a scatter), not a view
        fresh = refcount.REFCOUNTS_EXACT and c.__class__ is np.ndarray and c.base is None and sys.getrefcount(c) <= 2
        return c, fresh
    d = partials[i](node.value, *args, **kw)
    if d is ONE:
        c, fresh = g, False
    elif d is MINUS_ONE:
        c, fresh = -g, True
    elif (refcount.REFCOUNTS_EXACT and d.__class__ is np.ndarray and g.__class__ is np.ndarray
          and d.shape == g.shape
          and sys.getrefcount(d) <= 2 and d.base is None and d.flags.writeable
          and d.dtype == np.result_type(g, d)):
        # the partial is a temporary nobody else holds (2 * x, cos(x), ...): multiply into it
        # instead of allocating the product (on large arrays, fresh pages cost more than the math)
        c, fresh = np.multiply(g, d, out=d), True
        if has_nan(c):  # 0 * inf: the factor was overwritten, so compute it again (rare)
            c = zero_times_inf(c, g, partials[i](node.value, *args, **kw))
    else:
        c, fresh = g * d, True
        if c.__class__ in NAN_CHECKED and c != c or (c.__class__ is np.ndarray and c.dtype.kind in "fc"
                                                      and has_nan(c)):
            c = zero_times_inf(c, g, d)
    if c.__class__ is not float:
        c2 = unbroadcast(c, args[i])
        fresh = fresh or c2 is not c
        c = c2
    return c, fresh


def _partial_as_factor(node: RNode, i: int) -> tuple[float, np.ndarray | None, bool] | None:
    """d(ans)/d(arg i) of an elementwise row as ``(k, a, fresh)``: a constant ``k`` times a float64 array ``a``
    (None: the partial is the constant k), ``fresh`` when ``a`` is a temporary nobody else holds. None where
    the argument is traced (nested) or complex, or the partial is neither: the general rule then."""
    prim, args = node.prim, node.args
    target = args[i]
    if isinstance(target, Box) or (target.__class__ is not float and getattr(target, "dtype", None) != _F64):
        return None
    lin = prim.linear(i, *args) if prim.linear is not None else None
    if lin is not None:  # a constant times an argument, read without computing anything
        k, a = lin
        if a is None or a.__class__ is float or a.__class__ is int:
            return k * (1.0 if a is None else a), None, False
        return (k, a, False) if a.__class__ is np.ndarray and a.dtype is _F64 else None
    a = prim.partials[i](node.value, *args, **(node.kw or {}))
    if a is ONE or a is MINUS_ONE or a.__class__ is float:
        return a, None, False
    if a.__class__ is np.ndarray and a.dtype is _F64:
        fresh = _fresh(a)  # asked before the result tuple is built: its items on the stack would count
        return 1.0, a, fresh
    return None


def _product(node: RNode, i: int, g: Scaled, k: float, a: np.ndarray, fresh: bool) -> Scaled | None:
    """``g * (k a)`` computed: into the partial ``a`` if it is a temporary of g's shape, else into a pooled buffer
    (g's shape is the result's; ``a`` broadcasts to it). None: an infinite factor, for the general rule (rare)."""
    if not math.isfinite(g.k * k):
        return None
    if fresh and a.shape == g.arr.shape:
        prod = np.multiply(a, g.arr, out=a)
        if has_nan(prod):  # 0 * inf: the partial was overwritten, so compute it again (rare)
            prod = zero_times_inf(prod, g.arr, node.prim.partials[i](node.value, *node.args, **(node.kw or {})))
    else:
        prod = np.multiply(g.arr, a, out=memory.empty(g.arr.shape))
        if has_nan(prod):
            prod = zero_times_inf(prod, g.arr, a)
    return Scaled(prod, g.k * k, True)


def _shaped_like(c: Scaled, target: Any) -> Any:
    """A contribution in the shape of its argument ``target`` (broadcasting undone): a Scaled array, or a
    number for a 0-d or float argument."""
    tshape = shape_of(target)
    if c.arr.shape == tshape:
        return c if tshape else dense(c)
    if not tshape:  # down to a number: it travels as one
        return c.k * c.arr.size if c.uniform else unbroadcast(c.arr, target) * c.k
    if c.uniform:
        return Scaled(_ones(tshape), c.k * (c.arr.size // max(int(np.prod(tshape)), 1)), False, True)
    return Scaled(unbroadcast(c.arr, target), c.k, True)


def _pull_scaled(node: RNode, g: Scaled) -> list[tuple[RNode, Any]] | None:
    """Contributions of an elementwise node's Scaled adjoint to its parents; None: not here (the general rule).

    Each partial is a constant factor (folded into k: no pass over memory), an array that meets a uniform
    adjoint (kept as the factor's array: still nothing computed), the same array as the previous argument's
    (x * x: the product shared), or an array multiplied in."""
    shared = len(node.parents) > 1  # a passed-on array then belongs to several adjoints: read-only
    out: list[tuple[RNode, Any]] = []
    last_a = None
    for parent, i in zip(node.parents, node.argnums):
        factor = _partial_as_factor(node, i)
        if factor is None:
            return None
        k, a, fresh = factor
        if a is None:  # a constant factor: fold it
            if not math.isfinite(k) or not math.isfinite(g.k):  # inf * 0 = 0 inside g: the general rule (rare)
                return None
            c = Scaled(g.arr, g.k * k, g.owned and not shared, g.uniform)
        elif g.uniform and a.shape == g.arr.shape:  # g * a = (g.k k) a: nothing to compute yet
            if not math.isfinite(g.k * k):  # inf kept apart would meet a's zeros as inf * 0 = nan when applied
                return None  # (sqrt(sum(x*x)) at 0 gave nan, the reference 0): the general rule (rare)
            # a zero cotangent contributes nothing, even through an infinite partial
            c = Scaled(_ones(a.shape), 0.0, False, True) if g.k * k == 0.0 else Scaled(a, g.k * k, fresh)
        elif out and out[-1][0] is parent and a is last_a:  # x * x: the same product g * x again
            first = out[-1][1]
            first.owned = False  # shared by both contributions, which then add up as factors
            c = Scaled(first.arr, g.k * k, False)
        else:
            c = _product(node, i, g, k, a, fresh)
            if c is None:
                return None
        last_a = a
        shape = getattr(node.args[i], "shape", ())  # the argument's: most often c's own (no broadcasting to undo)
        out.append((parent, c if shape and c.arr.shape == shape else _shaped_like(c, node.args[i])))
    return out


def _scatter(node: RNode, g: Scaled) -> None:
    """getitem's VJP for a basic index: add g into the selected part of the parent's adjoint."""
    parent, (x, idx) = node.parents[0], node.args
    pg = parent.grad
    if pg.__class__ is Scaled:
        base = dense(pg)  # the owned buffer, or a fresh one when the adjoint was shared
        _add_into(base[idx], g)
        parent.grad = Scaled(base, 1.0, True)
        return
    shape = shape_of(x)
    if idx.__class__ is slice and idx.step in (None, 1):  # x[a:b]: zero only what the slice misses
        start, stop, _ = idx.indices(shape[0])
        base = memory.empty(shape)
        base[:start] = 0.0
        base[max(stop, start):] = 0.0
    else:
        base = memory.zeros(shape)
    if g.uniform:
        base[idx] = g.k
    else:  # written, not added: one pass fewer than 0 + g
        np.multiply(g.arr, g.k, out=base[idx])
    parent.grad = Scaled(base, 1.0, True)


def backward(tape: Sequence[RNode], output: RNode, cotangent: Any, deferred: bool = True,
             consume: bool = False) -> None:
    """Accumulate adjoints into ``node.grad`` for every node of ``tape`` that ``output`` depends on.

    Iterative: one pass over the tape in reverse creation order, so a tape of millions of
    operations needs no recursion. Interior adjoints are released once used; the inputs' are
    left as plain values. ``deferred``: the tape may hold values not computed yet. ``consume``:
    the tape is walked only this once (grad), so a row lets go of its arguments once its rules
    have run, and an array nobody needs any more is reused while it is still in cache.
    """
    with gc_pause:
        _backward(tape, output, cotangent, deferred, consume)


def _backward(tape: Sequence[RNode], output: RNode, cotangent: Any, deferred: bool, consume: bool) -> None:
    output.grad = _wrap(cotangent, False)
    for node in reversed(tape):
        g = node.grad
        if g is None:
            continue
        local = node.local
        if local is not None:  # scalar fast path: adjoint += g * d(node)/d(parent)
            node.grad = None
            for parent, d in zip(node.parents, local):
                c = g * d
                if c.__class__ is float and c != c:  # 0 * inf: a zero factor contributes nothing (rare)
                    c = zero_times_inf(c, g, d)
                pg = parent.grad
                parent.grad = c if pg is None else pg + c
        elif node.prim is None:  # an input of the trace: keep its adjoint, as a plain array of its own
            node.grad = _input_adjoint(g)
        else:
            node.grad = None
            _array_row(node, g, deferred, consume)


def _input_adjoint(g: Any) -> Any:
    """An input's adjoint as the caller may keep it: an array of its own (the owned buffer, or a copy of a view,
    of the cotangent itself, of an array the tape holds)."""
    if g.__class__ is Scaled:
        return dense(g)  # the owned buffer, or a product of its own
    # four references: the input's node.grad, the caller's name g, this parameter, getrefcount's argument;
    # a fifth: held elsewhere too
    if g.__class__ is np.ndarray and not (
            refcount.REFCOUNTS_EXACT and g.base is None and g.flags.writeable and sys.getrefcount(g) <= 4):
        return g.copy()
    return g


def _array_row(node: RNode, g: Any, deferred: bool, consume: bool) -> None:
    """Pass an array row's adjoint on, after computing what the row deferred: a Scaled one folded into its
    parents' factors where the rule allows (elementwise partials, a basic-index scatter), through the per-edge
    rule otherwise. A consuming pass then lets go of the row's arguments, and gives a large adjoint buffer back
    to the pool while it is still in cache."""
    if deferred:
        node.args = forced(node.args)
        if node.value.__class__ is Deferred:
            node.value = force(node.value)
    if g.__class__ is not Scaled:  # floats, complex arrays, traced adjoints of nested transforms
        for parent, i in zip(node.parents, node.argnums):
            c, fresh = pull_back(node, i, g)
            _accumulate(parent, _wrap(c, fresh))
    elif not _fold_scaled(node, g):
        readable = _readable(g)
        for parent, i in zip(node.parents, node.argnums):
            c, fresh = pull_back(node, i, readable)
            _accumulate(parent, _wrap(c, fresh))
        readable = c = None  # no name of this pass may hold the buffer _release gives back (give_back counts them)
    if consume:
        node.args = ()
        if g.__class__ is Scaled and g.arr is not None and g.arr.size >= memory.MIN_SIZE:
            _release(g)


def _fold_scaled(node: RNode, g: Scaled) -> bool:
    """Pass ``g`` on without applying its factor, where the rule allows: elementwise partials (folded into
    the parents' factors) or a basic-index getitem (a scatter into the parent's adjoint). False: not here."""
    prim = node.prim
    if prim.partials is not None:
        pulled = _pull_scaled(node, g)
        if pulled is None:
            return False
        for parent, c in pulled:
            _accumulate(parent, c)
        return True
    if (prim.scatters and getattr(node.args[0], "dtype", None) == _F64 and is_basic_index(node.args[1])
            and node.parents[0].grad.__class__ in (Scaled, type(None))):
        _scatter(node, g)
        return True
    return False


__all__ = ["Scaled", "backward", "dense"]
