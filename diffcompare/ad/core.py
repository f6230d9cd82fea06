"""The AD engine's core: traced values, primitives, tape rows, and the per-edge rules.

One function, many interpretations: a user's plain-numpy function is run with traced values
in place of numbers. Every operation on a traced value goes through a :class:`Primitive`,
which knows its numpy implementation and its derivative rules. Two kinds of trace exist:

* reverse mode (:class:`RNode`): each result is appended to a *tape*; the reverse pass
  (:mod:`diffcompare.ad.reverse`) walks the tape backwards (creation order is a topological
  order, so no recursion and no sort) and accumulates adjoints;
* forward mode (:class:`FNode`): each value carries its tangent, computed as it goes.

Nesting: every transform opens a trace one *level* above the innermost open one. A primitive
applied to values of several levels is handled by the highest level; values of lower levels
are constants to it, and the primitive is re-applied to the unwrapped values, which lets the
lower levels record it in their turn. Derivative rules are written with primitives, so the
derivatives of derivatives come out of the same mechanism (forward over reverse, reverse over
reverse, ...).
"""

from __future__ import annotations

import gc
import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad import memory
from diffcompare.ad.refcount import REFCOUNTS_EXACT



class _TraceState(threading.local):
    """Per thread, how many traces are open: a new trace gets level ``depth + 1``. Levels order one
    thread's nested transforms; another thread's traces are not nested in them (a shared count let
    a thread's inner trace take its outer trace's level, and its derivative came out 0)."""

    depth = 0


_state = _TraceState()

# Partials that are exactly +1 or -1 (add, sub, neg) are returned as these objects, so the
# backward pass passes the adjoint on (or negates it) instead of multiplying whole arrays by 1.
ONE = float("1.0")
MINUS_ONE = float("-1.0")


class Primitive:
    """An operation with known derivatives.

    ``impl(*args, **kw)`` computes it on plain values. Derivatives come in one of two forms:

    * ``partials``: for elementwise operations, one function per argument giving
      d(ans)/d(arg) elementwise as ``partial(ans, *args, **kw)``; both the VJP
      (``g * partial``, with broadcasting undone) and the JVP (``sum(t * partial)``) follow;
    * ``vjp(g, ans, argnum, *args, **kw)`` and ``jvp(tangents, ans, *args, **kw)`` written out,
      where ``tangents[i]`` is None for an argument that is not being differentiated.

    ``saves(argnums)``, if given, says which values the rules read when the arguments at
    ``argnums`` are differentiated: ``(keep_ans, keep_args)``, one bool per argument. A lean tape
    keeps only those, so that a large intermediate no rule needs is freed as soon as the user's
    code lets go of it, as in plain numpy (None: the rules may read everything).


    ``linear(i, *args)``, if given, may state d(ans)/d(arg i) as ``(k, a)``, meaning the constant
    ``k`` times ``a`` (an argument, or None for 1), so that the backward pass folds ``k`` into the
    adjoint's factor instead of multiplying arrays by it (``x ** 2``: ``(2, x)``); None: no such form.


    ``into(*args, out=buffer)``, if given, computes the same as ``impl`` into a float64 buffer (the
    elementwise ufuncs), so that a lean tape can take large results from :mod:`~diffcompare.ad.memory`.
    """

    __slots__ = ("impl", "into", "jvp", "linear", "name", "partials", "saves", "vjp")

    def __init__(self, name: str, impl: Callable[..., Any]) -> None:
        self.name = name
        self.impl = impl
        self.partials: tuple[Callable[..., Any] | None, ...] | None = None
        self.vjp: Callable[..., Any] | None = None
        self.jvp: Callable[..., Any] | None = None
        self.saves: Callable[[tuple[int, ...]], tuple[bool, tuple[bool, ...]]] | None = None
        self.linear: Callable[..., tuple[float, Any] | None] | None = None
        self.into: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kw: Any) -> Any:
        top = None
        level = 0
        for a in args:
            if isinstance(a, Box):
                lv = a.trace.level
                if lv > level:
                    top = a
                    level = lv
        if top is None:
            return self.impl(*args, **kw)
        return top.process(self, args, kw)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def defpartials(prim: Primitive, *partials: Callable[..., Any] | None) -> None:
    prim.partials = partials


def defrules(prim: Primitive, vjp: Callable[..., Any], jvp: Callable[..., Any]) -> None:
    prim.vjp = vjp
    prim.jvp = jvp


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape`` without numpy's dispatch overhead (floats have shape ())."""
    s = getattr(x, "shape", None)
    return () if s is None else s


def unbroadcast(g: Any, target: Any) -> Any:
    """Sum ``g`` down to the shape of ``target`` (undoing numpy broadcasting in a VJP)."""
    gshape = shape_of(g)
    tshape = shape_of(target)
    if gshape == tshape:
        return g
    # a plain array is summed by its own method; a traced one through the primitive, to be differentiable
    if g.__class__ is np.ndarray:
        total = np.ndarray.sum
    else:
        from diffcompare.ad.primitives import sum_ as total
    extra = len(gshape) - len(tshape)
    if extra > 0:
        g = total(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(tshape) if n == 1 and shape_of(g)[i] != 1)
    if axes:
        g = total(g, axis=axes, keepdims=True)
    return g


class Box:
    """A traced value: numpy operators and functions on it are routed to primitives."""

    __slots__ = ("trace", "value")
    __array_priority__ = 100.0

    @property
    def level(self) -> int:
        return self.trace.level

    # shape and type queries read the wrapped value
    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.value)

    @property
    def ndim(self) -> int:
        return np.ndim(self.value)

    @property
    def size(self) -> int:
        return np.size(self.value)

    @property
    def dtype(self) -> Any:
        v = self.value
        while isinstance(v, Box):
            v = v.value
        return np.result_type(v)

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        for i in range(len(self.value)):
            yield self[i]

    # control flow on traced values decides on the value itself
    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        from diffcompare.errors import TracingError

        # numpy reports this, for y[0] = x[0], np.asarray(x, float) and np.float64(x[0]), as "setting an array
        # element with a sequence" caused by this error; the transforms raise this one instead
        raise TracingError(
            "a traced value was turned into a plain float (float(), a math-module function, np.float64, "
            "np.asarray(x, float), or y[i] = x[j] into a numpy array), which drops its derivative: use numpy "
            "functions on it, and build arrays from traced values (np.stack, np.concatenate, np.where, a + b) "
            "instead of assigning into plain ones"
        )

    __complex__ = __int__ = __float__

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r}, level={self.level})"

    # __array_ufunc__ and __array_function__ are installed by diffcompare.ad.primitives, with the table


class PausedGC:
    """Pause Python's cyclic garbage collector while tapes are recorded or walked (reentrant).

    A tape is a large, growing web of small objects: the collector would traverse it again and
    again (every 700 allocations) for nothing, which doubled the cost of scalar code. Reference
    counting frees the tape once its Recording lets go of it (the Recording detaches the tape
    from its trace, so no cycle is left); the collector is restored on the way out.
    The collector is one per process, so the pause is counted over all threads under a lock: the
    first to enter pauses it, the last to leave restores it (an unlocked count could leave it off).
    """

    def __init__(self) -> None:
        self.depth = 0
        self.was_enabled = False
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.depth += 1

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.was_enabled:
                gc.enable()


_gc_pause = PausedGC()


def paused_gc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the collector paused, so that a tape is also freed before it resumes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        with _gc_pause:
            return fn(*args, **kw)

    return wrapper


class Trace:
    """One transform's recording context."""

    # ``lean``: record only what the derivative rules read (see Primitive.saves); a tape made to be
    # looked at (the lecture's evaluation trace) keeps every value.
    __slots__ = ("closed", "deferred", "lean", "level", "tape")

    def __init__(self, record: bool = True, lean: bool = False) -> None:
        self.level = _state.depth + 1
        self.tape: list[RNode] | None = [] if record else None
        self.lean = lean
        self.deferred = False  # some value on the tape waits to be computed (see Deferred)
        self.closed = False  # its transform has returned: its values are stale (see stale_value)

    def __enter__(self) -> Trace:
        _state.depth += 1
        _gc_pause.__enter__()  # no cyclic collections while the tape grows
        return self

    def __exit__(self, *exc: object) -> None:
        _state.depth -= 1
        self.closed = True
        _gc_pause.__exit__()


def stale_value() -> Exception:
    """The error for a traced value used after its transform returned (kept in a global, a list, a closure)."""
    from diffcompare.errors import TracingError

    return TracingError("a traced value was used after the transform that made it returned (it was kept from inside "
                        "f, in a global, a list or a closure): it no longer carries a derivative; use what the "
                        "transform returned, or compute the value again inside the function being differentiated")


class RNode(Box):
    """A reverse-mode traced value: one row of the tape."""

    # ``local``: for scalar (Python float) operations, the local partial derivatives computed
    # while recording (floats; one per parent), so the backward pass is a multiply-add per edge.
    # None otherwise: the primitive's rules are applied to ``args`` in the backward pass.
    __slots__ = ("argnums", "args", "grad", "kw", "local", "parents", "prim")

    def __init__(self, value: Any, trace: Trace, prim: Primitive | None = None,
                 parents: tuple[RNode, ...] = (), argnums: tuple[int, ...] = (),
                 args: tuple[Any, ...] = (), kw: dict[str, Any] | None = None,
                 local: tuple[float, ...] | None = None) -> None:
        self.value = value
        self.trace = trace
        self.prim = prim
        self.parents = parents
        self.argnums = argnums
        self.args = args
        self.kw = kw
        self.grad = None
        self.local = local
        try:
            trace.tape.append(self)
        except AttributeError:  # the tape was handed to its Recording when the trace closed
            raise stale_value() from None

    def process(self, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Box:
        return _record(self, self, prim, args, kw)


class RArray(Box):
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
        return _record(self, self.node, prim, args, kw)


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


def tape_row(box: Box) -> RNode:
    """The tape row of a reverse-mode value (an RArray's ``node``, an RNode itself)."""
    return box.node if box.__class__ is RArray else box


def _record(box: Box, row: RNode, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Box:
    """Apply ``prim`` with ``box`` the highest-level traced argument, and record it on its tape."""
    trace = box.trace
    if len(args) == 1:  # the common unary case, without the loop
        v = box.v if box.__class__ is RArray else box.value
        if isinstance(v, Box):
            ans = prim(v, **kw)
        else:
            ans = None
            if trace.lean and (prim.into is not None or prim is _sum) and (
                    v.__class__ is Deferred or (v.__class__ is np.ndarray and v.size >= memory.MIN_SIZE)):
                ans = _lean_result(prim, (v,), kw, _ours(v, row))
            if ans is None:
                if v.__class__ is Deferred:
                    v = force(v)
                ans = prim.impl(v, **kw)
        return _row(ans, trace, prim, (row,), (0,), (v,), kw or None)
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
        ans = None
        if lean:
            for v in vals:  # is an argument large?
                if v.__class__ is Deferred or (v.__class__ is np.ndarray and v.size >= memory.MIN_SIZE):
                    ans = _lean_result(prim, vals, kw, defer)
                    break
        if ans is None:
            if waiting:
                vals = forced(vals)
            ans = prim.impl(*vals, **kw)
    return _row(ans, trace, prim, tuple(parents), tuple(argnums), tuple(vals), kw, held)


_F64 = np.dtype(np.float64)


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
    or computed now into a pooled buffer (:mod:`~diffcompare.ad.memory`: the warmest free one); the
    full sum of a deferred array deferred. None: neither, numpy computes it as usual.
    Nothing is deferred when numpy is set to raise (or call) on a floating-point error: the user's code
    around the operation must see it happen. Otherwise the error settings in force now go with it.
    """
    if prim.into is None:
        if defer and prim is _sum and vals[0].__class__ is Deferred and not kw.get("keepdims") \
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
    else:  # np.geterr builds a dict each time (~1 µs): look again only when the settings object changed
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


_sum: Any = None  # set by primitives: the full sum may be deferred too


# Below this many elements an array is cheaper to keep than to leave out of a lean tape row: the
# split costs ~2 µs of Python per operation, and small arrays neither crowd the caches nor fault pages.
LEAN_MIN_SIZE = 1 << 14


def _row(ans: Any, trace: Trace, prim: Primitive, parents: tuple[RNode, ...], argnums: tuple[int, ...],
         vals: tuple[Any, ...], kw: dict[str, Any] | None, held: bool = False) -> Box:
    """A new tape row for ``ans``; on a lean tape, an array result keeps only what the rules read.
    ``held``: plain arrays of the user's code among the arguments (see :func:`_copied_constants`)."""
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
        vals = _copied_constants(vals, argnums)
    node = RNode(ans if keep_ans else None, trace, prim, parents, argnums, vals, kw or None)
    return RArray(ans, trace, node) if lean or ans.__class__ is Deferred else node


def _copied_constants(vals: tuple[Any, ...], argnums: tuple[int, ...]) -> tuple[Any, ...]:
    """``vals`` with a copy of each plain array passed in as a constant (and of those in an index tuple).

    The rules read a row's arguments in the backward pass, after the rest of f has run: the user's code
    may have changed such an array in place by then (``y = sin(x) * s; s[:] = 5`` gave 5x the gradient).
    numpy has no version counter to detect that with (torch refuses such a change); a copy costs less
    than a checksum taken twice, and gives the right gradient instead of an error. Values of the trace
    are not copied: the user's code holds them only through traced values, which cannot be written to.
    """
    out = None
    for i, v in enumerate(vals):
        c = v.__class__
        if c is float or c is int or c is ShapeOnly or i in argnums:
            continue
        if c is tuple:
            if not any(isinstance(e, np.ndarray) for e in v):
                continue
            copy = tuple(_copy(e) if isinstance(e, np.ndarray) else e for e in v)
        elif isinstance(v, np.ndarray):
            copy = _copy(v)
        else:
            continue
        if out is None:
            out = list(vals)
        out[i] = copy
    return vals if out is None else tuple(out)


def _copy(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` the user's code cannot reach; a large float64 one in a pooled buffer (one in cache)."""
    if a.__class__ is np.ndarray and a.dtype is _F64 and a.size >= memory.MIN_SIZE:
        buf = memory.empty(a.shape)
        np.copyto(buf, a)
        return buf
    return a.copy()


class FNode(Box):
    """A forward-mode traced value: a primal with its tangent (a dual number)."""

    __slots__ = ("tangent",)

    def __init__(self, value: Any, tangent: Any, trace: Trace) -> None:
        if trace.closed:  # the scalar fast path builds results here directly, without process()
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
            if isinstance(a, Box):
                if a.trace is trace:
                    a_value = a.value
                    vals.append(a_value)
                    tangents.append(a.tangent)
                    nested = nested or isinstance(a_value, Box)
                    continue
                nested = True
            vals.append(a)
            tangents.append(None)
        ans = prim(*vals, **kw) if nested else prim.impl(*vals, **kw)
        tangent = push_forward(prim, ans, vals, tangents, kw)
        return FNode(ans, tangent, trace)


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
        if t is not None and not (t.__class__ in _PLAIN_SCALARS and t == 0):
            d = partials[i](ans, *args, **kw)
            term = t * d
            if term.__class__ is np.ndarray and term.dtype.kind in "fc" and has_nan(term):
                term = zero_times_inf(term, t, d)
            tangent = term if tangent is None else tangent + term
    if tangent is None:
        tangent = np.zeros(shape_of(ans)) if shape_of(ans) else 0.0
    if shape_of(tangent) != shape_of(ans):  # an input was broadcast up to the result
        from diffcompare.ad.primitives import broadcast_to

        tangent = broadcast_to(tangent, np.shape(ans))
    return tangent


_PLAIN_SCALARS = (float, int, np.float64)
_NAN_CHECKED = (float, np.float64, complex, np.complex128)


def has_nan(c: np.ndarray) -> bool:
    """Whether an array holds a nan, cheaply: for float64 one BLAS pass with no temporary (c . c is nan iff an
    element is: squares are >= 0, so infinities never cancel), about a third of np.isnan(c).any()'s time."""
    if c.dtype == _F64:
        r = c.reshape(-1)
        s = r.dot(r)
        return s != s
    return bool(np.isnan(c).any())


_F64 = np.dtype(np.float64)


def zero_times_inf(c: Any, g: Any, d: Any) -> Any:
    """The product ``c = g * d`` with each 0 * inf taken as 0: a zero factor contributes nothing.

    The convention at kinks (README): forward mode skips a zero tangent, so reverse mode must not turn
    a zero cotangent or zero partial times an infinite one into nan (sqrt(2x - x^2) at 0: +inf, not nan;
    jacrev(sqrt) at [0, 4]: 0 off the diagonal). A nan that came from a nan factor stays. Called only
    where the product has a nan (the rare path), so ``g`` and ``d`` must be the factors' values.
    """
    if c.__class__ is not np.ndarray:
        return c.__class__(0) if c != c and g == g and d == d else c
    from_nan = np.isnan(g) | np.isnan(d)  # broadcasts to c's shape
    return np.where(np.isnan(c) & ~from_nan, 0.0, c)


def pull_back(node: RNode, i: int, g: Any, keep_partial: bool = False) -> tuple[Any, Any, bool]:
    """The contribution of ``node``'s adjoint ``g`` to its argument ``i``: (term, local partial, fresh).

    Reverse mode's one rule for an edge, used by the reverse pass and by the evaluation-trace
    tables. The partial is None for a primitive with a written-out VJP (and, unless
    ``keep_partial``, where the term was computed in the partial's own buffer); ``fresh`` says the
    term is a new array nobody else holds (so the backward pass may update it in place).
    """
    prim, args, kw = node.prim, node.args, node.kw or {}
    partials = prim.partials
    if partials is None:
        c = prim.vjp(g, node.value, i, *args, **kw)  # fresh: a new array (a product, a scatter), not a view
        fresh = REFCOUNTS_EXACT and c.__class__ is np.ndarray and c.base is None and sys.getrefcount(c) <= 2
        return c, None, fresh
    d = partials[i](node.value, *args, **kw)
    if d is ONE:
        c, fresh = g, False
    elif d is MINUS_ONE:
        c, fresh = -g, True
    elif (REFCOUNTS_EXACT and not keep_partial and d.__class__ is np.ndarray and g.__class__ is np.ndarray
          and d.shape == g.shape
          and sys.getrefcount(d) <= 2 and d.base is None and d.flags.writeable
          and d.dtype == np.result_type(g, d)):
        # the partial is a temporary nobody else holds (2 * x, cos(x), ...): multiply into it
        # instead of allocating the product (on large arrays, fresh pages cost more than the math)
        c, fresh = np.multiply(g, d, out=d), True
        if has_nan(c):  # 0 * inf: the factor was overwritten, so compute it again (rare)
            c = zero_times_inf(c, g, partials[i](node.value, *args, **kw))
        d = None  # its values are now the product's
    else:
        c, fresh = g * d, True
        if c.__class__ in _NAN_CHECKED and c != c or (c.__class__ is np.ndarray and c.dtype.kind in "fc"
                                                      and has_nan(c)):
            c = zero_times_inf(c, g, d)
    if c.__class__ is not float:
        c2 = unbroadcast(c, args[i])
        fresh = fresh or c2 is not c
        c = c2
    return c, d, fresh


def is_basic_index(idx: Any) -> bool:
    """Ints, slices, None and Ellipsis select each element at most once (no duplicates)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all((isinstance(i, (int, np.integer, slice)) and not isinstance(i, bool)) or i is None or i is Ellipsis
               for i in items)  # x[True] is a new axis with a copy, not a view


_getitem: Any = None  # set by primitives: getitem, whose VJP the reverse pass scatters in place
