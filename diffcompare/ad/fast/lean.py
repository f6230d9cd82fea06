"""Lean tapes: rows that keep only what the rules read, results computed when first read, pooled buffers.

The fast layer's recording (the transforms' default, :mod:`diffcompare.ad.policy`). On a lean tape an array
result gets a handle (:class:`RArray`) for the user's code and a row for the reverse pass; the row keeps a
value only if a derivative rule reads it (``Primitive.saves``), so an intermediate array nobody needs is
freed when the user's code drops it, as in plain numpy. Large elementwise results are computed into reused
buffers (:mod:`~diffcompare.ad.fast.memory`) or deferred (:class:`Deferred`: computed on first read; a
gradient reads only what its rules need, so the rest of f never runs). Guards: nothing is deferred on an
array the user's code holds (it could change before being read) or where numpy is set to raise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.fast import memory
from diffcompare.ad.numpy_api import Traced
from diffcompare.ad.reverse import RNode, copied_constants
from diffcompare.ad.tracer import Box, Primitive, Trace, shape_of

_F64 = np.dtype(np.float64)


class RArray(Traced):
    """A reverse-mode traced array on a lean tape: the user's handle on the value.

    Its tape row ``node`` keeps the value only if a derivative rule reads it, so an intermediate
    array nobody needs is freed when the user's code drops this handle. The value itself may be
    :class:`Deferred` (computed when first read): shape and dtype are known without it.
    """

    __slots__ = ("node", "v")

    def __init__(self, value: Any, trace: Trace, node: RNode) -> None:
        self.v = value
        self.trace = trace
        self.node = node

    @property
    def value(self) -> Any:  # type: ignore[override]
        v = self.v
        if v.__class__ is Deferred:
            v = self.v = force(v)
        return v

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.v)

    @property
    def ndim(self) -> int:
        return len(shape_of(self.v))

    @property
    def size(self) -> int:
        return math.prod(shape_of(self.v))

    @property
    def dtype(self) -> Any:
        return self.v.dtype

    def process(self, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Box:
        return record(self, self.node, prim, args, kw)


class Deferred:
    """A result on a lean tape that is computed only when something reads it.

    Elementwise operations (and a full sum) on large arrays are recorded with their shape and
    computed on first use: by the user's code (a comparison, printing), by a derivative rule that
    reads the value, or by asking for f's value. A gradient needs only what its rules read, so the
    rest of f is never computed: JAX's compiler drops such dead code; here it simply never runs.
    numpy's floating-point error settings where it was recorded apply when it is computed; where
    they say raise, nothing is deferred. Only values the trace computed itself are deferred on (not
    the user's arrays, which could change before they are read).
    """

    __slots__ = ("args", "dtype", "errstate", "kw", "ndim", "prim", "shape", "size", "value")

    def __init__(self, prim: Primitive, args: tuple[Any, ...], kw: dict[str, Any] | None,
                 shape: tuple[int, ...]) -> None:
        self.prim = prim
        self.args = args
        self.kw = kw
        self.shape = shape
        self.ndim = len(shape)
        self.size = math.prod(shape)
        self.dtype = _F64
        self.value = None
        self.errstate: dict[str, str] | None = None  # numpy's error settings where it was recorded


def force(x: Any) -> Any:
    """The value of ``x``: x itself, or a Deferred's value, computed with what it needs (no recursion)."""
    if x.__class__ is not Deferred:
        return x
    if x.value is not None:
        return x.value
    stack = [x]
    while stack:
        d = stack[-1]
        if d.value is not None:
            stack.pop()
            continue
        pending = [a for a in d.args if a.__class__ is Deferred and a.value is None]
        if pending:
            stack.extend(pending)
            continue
        vals = [a.value if a.__class__ is Deferred else a for a in d.args]
        prim = d.prim
        with np.errstate(**d.errstate):  # warn (or not) as numpy would have where it was recorded
            if d.shape and prim.into is not None:
                d.value = prim.into(*vals, out=memory.empty(d.shape))
            else:
                d.value = prim.impl(*vals, **(d.kw or {}))
        d.args = None  # what it was made of may be freed now
        stack.pop()
    return x.value


def forced(vals: tuple[Any, ...]) -> tuple[Any, ...]:
    """``vals`` with every Deferred among them computed."""
    for v in vals:
        if v.__class__ is Deferred:
            return tuple(force(v) for v in vals)
    return vals


class ShapeOnly:
    """Stands in a lean tape row for an argument whose value no rule reads (its shape is kept)."""

    __slots__ = ("dtype", "ndim", "shape")

    def __init__(self, a: np.ndarray) -> None:
        self.shape = a.shape
        self.ndim = a.ndim
        self.dtype = a.dtype


def record(box: Box, row: RNode, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Box:
    """Apply ``prim`` with ``box`` the highest-level traced argument (its row ``row``), and record it on its tape."""
    trace = box.trace
    if len(args) == 1:  # the common unary case, without the loop
        return _record_unary(box, row, prim, kw)
    vals = []
    parents = []
    argnums = []
    nested = False  # values of lower levels among the arguments: let them record too
    lean = trace.lean and prim.into is not None
    defer = lean
    waiting = False  # a deferred value among the arguments
    held = False
    for i, a in enumerate(args):
        if isinstance(a, Box):
            if a.trace is trace:
                if a.__class__ is RArray:  # only large results get these handles
                    a_value = a.v
                    a_row = a.node
                    waiting = waiting or a_value.__class__ is Deferred
                else:
                    a_value = a.value
                    a_row = a
                    nested = nested or isinstance(a_value, Box)
                parents.append(a_row)
                vals.append(a_value)
                argnums.append(i)
                defer = defer and _ours(a_value, a_row)
                continue
            nested = True
        elif a.__class__ is not float and (a.__class__ is tuple or isinstance(a, np.ndarray)):
            held = True  # an array of the user's code (or an index holding one): the row keeps a copy
            if a.__class__ is not tuple:
                defer = False  # an array the user's code holds: it could change before a deferred result is read
        vals.append(a)
    if nested:  # lower levels get plain values: what was deferred is computed first
        ans = prim(*(forced(tuple(vals)) if waiting else vals), **kw)
    else:
        ans = _apply(prim, vals, kw, lean, defer, waiting)
    return _row(ans, trace, prim, tuple(parents), tuple(argnums), tuple(vals), kw, held)


def _record_unary(box: Box, row: RNode, prim: Primitive, kw: dict[str, Any]) -> Box:
    """:func:`record` for a one-argument primitive (``box`` is the argument)."""
    trace = box.trace
    v = box.v if box.__class__ is RArray else box.value
    if isinstance(v, Box):  # a value of a lower level: it records the operation too
        ans = prim(v, **kw)
    else:
        ans = None
        if trace.lean and (prim.into is not None or prim.defers) and (
                v.__class__ is Deferred or (v.__class__ is np.ndarray and v.size >= memory.MIN_SIZE)):
            ans = _lean_result(prim, (v,), kw, _ours(v, row))
        if ans is None:
            if v.__class__ is Deferred:
                v = force(v)
            ans = prim.impl(v, **kw)
    return _row(ans, trace, prim, (row,), (0,), (v,), kw or None)


def _apply(prim: Primitive, vals: list[Any], kw: dict[str, Any], lean: bool, defer: bool, waiting: bool) -> Any:
    """``prim`` on plain values: on a lean tape with a large argument, deferred or into a pooled buffer (see
    :func:`_lean_result`); otherwise by numpy, after computing what was deferred (``waiting``)."""
    if lean:
        for v in vals:  # is an argument large?
            if v.__class__ is Deferred or (v.__class__ is np.ndarray and v.size >= memory.MIN_SIZE):
                ans = _lean_result(prim, vals, kw, defer)
                if ans is not None:
                    return ans
                break
    return prim.impl(*(forced(tuple(vals)) if waiting else vals), **kw)


def _ours(value: Any, row: RNode) -> bool:
    """``value`` can wait to be read: deferred, a number, or a large array this trace computed (not
    the user's input array or a view of it, which the user's code could change before it is read)."""
    c = value.__class__
    if c is Deferred:
        return True
    if c is np.ndarray:
        return value.base is None and row.prim is not None
    return not isinstance(value, Box)


def _lean_result(prim: Primitive, vals: Sequence[Any], kw: dict[str, Any], defer: bool) -> Any:
    """On a lean tape: a large float64 elementwise result deferred (if ``defer``: see :class:`Deferred`)
    or computed now into a pooled buffer (:mod:`~diffcompare.ad.fast.memory`: the warmest free one); the
    full sum of a deferred array deferred. None: neither, numpy computes it as usual.
    Nothing is deferred when numpy is set to raise (or call) on a floating-point error: the user's code
    around the operation must see it happen. Otherwise the error settings in force now go with it.
    """
    if prim.into is None:
        if defer and prim.defers and vals[0].__class__ is Deferred and not kw.get("keepdims") \
                and kw.get("axis") is None:
            return _with_errstate(Deferred(prim, tuple(vals), kw or None, ()))
        return None
    shape = _large_shape(vals)
    if shape is None:
        return None
    if defer:
        d = _with_errstate(Deferred(prim, tuple(vals), None, shape))
        if d is not None:
            return d
    return prim.into(*forced(tuple(vals)), out=memory.empty(shape))


def _large_shape(vals: Sequence[Any]) -> tuple[int, ...] | None:
    """The shape of an elementwise result on ``vals`` if it is large and float64 (None otherwise)."""
    shape = None
    for v in vals:
        c = v.__class__
        if c is np.ndarray or c is Deferred:
            if v.dtype is not _F64:
                return None
            if shape is None:
                shape = v.shape
            elif v.shape != shape:
                shape = np.broadcast_shapes(shape, v.shape)
        elif c is not float and c is not int:
            return None
    if shape is None or len(shape) == 0 or math.prod(shape) < memory.MIN_SIZE:
        return None
    return shape


try:  # numpy >= 2 keeps its error settings in a context variable, a new object whenever they change
    from numpy._core._ufunc_config import _extobj_contextvar as _np_errstate
except ImportError:  # numpy 1.x: ask every time
    _np_errstate = None
_errstate_seen: tuple[Any, dict[str, str] | None] = (None, None)  # settings object, and its dict


def _with_errstate(d: Deferred) -> Deferred | None:
    """``d`` with numpy's error settings in force now; None if they say raise or call."""
    global _errstate_seen
    if _np_errstate is None:
        errors = _errors_unless_raising()
    else:  # np.geterr builds a dict each time (microseconds): look again only when the settings object changed
        current = _np_errstate.get()
        seen, errors = _errstate_seen  # one tuple, read and written whole (threads)
        if current is not seen:
            errors = _errors_unless_raising()
            _errstate_seen = (current, errors)
    if errors is None:
        return None
    d.errstate = errors
    return d


def _errors_unless_raising() -> dict[str, str] | None:
    errors = np.geterr()
    return None if "raise" in errors.values() or "call" in errors.values() else errors


# Below this many elements an array is cheaper to keep than to leave out of a lean tape row: the split (a
# handle, a shape-only stand-in) costs microseconds of Python per operation (Rosenbrock's gradient at n = 1000
# took 8 µs more per operation with every row lean, on a loaded 2-core VM), and small arrays neither crowd the
# caches nor fault pages.
LEAN_MIN_SIZE = 1 << 14


def _row(ans: Any, trace: Trace, prim: Primitive, parents: tuple[RNode, ...], argnums: tuple[int, ...],
         vals: tuple[Any, ...], kw: dict[str, Any] | None, held: bool = False) -> Box:
    """A new tape row for ``ans``; on a lean tape, an array result keeps only what the rules read.
    ``held``: plain arrays of the user's code among the arguments (see ``reverse.copied_constants``)."""
    saves = prim.saves
    if ans.__class__ is Deferred:  # always behind a handle: its value is computed when read
        trace.deferred = True
        lean = saves is not None
    else:
        lean = saves is not None and trace.lean and ans.__class__ is np.ndarray and ans.size >= LEAN_MIN_SIZE
    keep_ans = True
    if lean:
        keep_ans, keep_args = saves(argnums)
        vals = tuple(v if keep or (v.__class__ is not np.ndarray and v.__class__ is not Deferred) else ShapeOnly(v)
                     for v, keep in zip(vals, keep_args))
    if held:
        vals = copied_constants(vals, argnums, pooled_copy)
    node = trace.row(ans if keep_ans else None, trace, prim, parents, argnums, vals, kw or None)
    return RArray(ans, trace, node) if lean or ans.__class__ is Deferred else node


def pooled_copy(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` the user's code cannot reach; a large float64 one in a pooled buffer (one in cache)."""
    if a.__class__ is np.ndarray and a.dtype is _F64 and a.size >= memory.MIN_SIZE:
        buf = memory.empty(a.shape)
        np.copyto(buf, a)
        return buf
    return a.copy()

