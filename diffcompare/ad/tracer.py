"""Tracing: primitives, traced values (boxes) and trace levels. The textbook part of the engine.

One function, many interpretations: a user's plain-numpy function is run with traced values in place of
numbers. Every operation on a traced value goes through a :class:`Primitive`, which knows its numpy
implementation and its derivative rules (:mod:`diffcompare.ad.rules`). A primitive applied to traced values
hands itself to the traced argument of the highest *level* (``Box.process``); values of lower levels are
constants to it, and the primitive is applied again to their unwrapped values, which lets the lower levels
record it in their turn. Every transform opens a trace one level above the innermost open one, so nested
transforms (the derivatives of derivatives) never confuse each other's perturbations.
"""

from __future__ import annotations

import functools
import gc
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class _TraceState(threading.local):
    """Per thread, how many traces are open: a new trace gets level ``depth + 1``. Levels order one
    thread's nested transforms; another thread's traces are not nested in them (a shared count let
    a thread's inner trace take its outer trace's level, and its derivative came out 0)."""

    depth = 0
    staging = 0  # how many of them are jit's staging traces (they stage, they do not differentiate)


_state = _TraceState()


def depth() -> int:
    """How many traces this thread has open (0: no transform is running)."""
    return _state.depth


def differentiating_depth() -> int:
    """How many of this thread's open traces differentiate (jit's staging traces left out)."""
    return _state.depth - _state.staging


# Partials that are exactly +1 or -1 (add, sub, neg) are returned as these objects, so that a backward
# pass may pass the adjoint on (or negate it) instead of multiplying whole arrays by 1.
ONE = float("1.0")
MINUS_ONE = float("-1.0")


class Primitive:
    """An operation with known derivatives (one statement of :mod:`diffcompare.ad.rules` makes each).

    ``impl(*args, **kw)`` computes it on plain values. Derivatives come in one of two forms:

    * ``partials``: for elementwise operations, one function per argument giving d(ans)/d(arg)
      elementwise as ``partial(ans, *args, **kw)``; the VJP (``g * partial``, broadcasting undone)
      and the JVP (``sum(t * partial)``) both follow;
    * ``vjp(g, ans, argnum, *args, **kw)`` and ``jvp(tangents, ans, *args, **kw)`` written out,
      where ``tangents[i]`` is None for an argument that is not being differentiated. ``batched``: this
      ``jvp`` also takes tangents with one leading batch axis (k directions at once) and keeps it in front;
      True, or a test ``batched(*args, **kw)`` for the calls it covers. Without it, forward mode pushes a
      batch through ``jvp`` one direction at a time (elementwise primitives batch through their partials).

    The other attributes are speed hints read only by the fast layer (:mod:`diffcompare.ad.fast`);
    the reference core ignores them, and the tests compare both. ``math``: the implementation on one
    Python float. ``fast``: ``x -> (f(x), f'(x))`` on a float, checked against ``partials``.
    ``saves(argnums)``: which values the rules read, ``(keep_ans, keep_args)``. ``linear(i, *args)``:
    d(ans)/d(arg i) as ``(k, a)``, a constant times an argument. ``into(*args, out=)``: the same
    elementwise result into a float64 buffer. ``scatters``: the VJP adds the adjoint into a part of the
    argument's (getitem). ``defers``: a full reduction that may wait for a deferred argument (sum).
    """

    __slots__ = ("batched", "defers", "fast", "impl", "into", "jvp", "linear", "math", "name", "partials", "saves",
                 "scatters", "vjp")

    def __init__(self, name: str, impl: Callable[..., Any]) -> None:
        self.name = name
        self.impl = impl
        self.partials: tuple[Callable[..., Any], ...] | None = None
        self.vjp: Callable[..., Any] | None = None
        self.jvp: Callable[..., Any] | None = None
        self.batched: bool | Callable[..., bool] = False
        self.math: Callable[[float], float] | None = None
        self.fast: Callable[[float], tuple[float, float]] | None = None
        self.saves: Callable[[tuple[int, ...]], tuple[bool, tuple[bool, ...]]] | None = None
        self.linear: Callable[..., tuple[float, Any] | None] | None = None
        self.into: Callable[..., Any] | None = None
        self.scatters = False
        self.defers = False

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

    def takes_batch(self, *args: Any, **kw: Any) -> bool:
        """Whether ``jvp`` takes this call's tangents with a leading batch axis (see ``batched``)."""
        b = self.batched
        return b if b.__class__ is bool else bool(b(*args, **kw))

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape`` without numpy's dispatch overhead (floats have shape ())."""
    s = getattr(x, "shape", None)
    return () if s is None else s


class Box:
    """A traced value: what a transform passes to the user's function in place of a number or array.

    Operators and numpy functions on it are routed to primitives by :class:`diffcompare.ad.numpy_api.Traced`;
    this base holds the value, its trace, and the queries that read the value without tracing.
    """

    __slots__ = ("trace", "value")
    __array_priority__ = 100.0

    def process(self, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Any:
        raise NotImplementedError  # each kind of trace says how it applies a primitive

    @property
    def level(self) -> int:
        return self.trace.level

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.value)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> Any:
        return np.result_type(raw(self))

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


def raw(x: Any) -> Any:
    """The plain number or array under any number of trace levels."""
    while isinstance(x, Box):
        x = x.value
    return x


class PausedGC:
    """Pause Python's cyclic garbage collector while tapes are recorded or walked (reentrant).

    A tape is a large, growing web of small objects: the collector would traverse it again and
    again (every 700 allocations) for nothing: the logistic map's gradient (1000 steps) took 1.4x as long
    with it running. Reference
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


gc_pause = PausedGC()


def paused_gc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the collector paused, so that a tape is also freed before it resumes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        with gc_pause:
            return fn(*args, **kw)

    return wrapper


class Trace:
    """One transform's recording context: its level, its tape (reverse mode) and its policy.

    ``policy`` (:class:`diffcompare.ad.policy.Policy`) says which speed tricks this trace may use;
    ``lean``: record only what the derivative rules read (see ``Primitive.saves``).
    """

    __slots__ = ("closed", "deferred", "lean", "level", "policy", "row", "tape")
    differentiates = True  # jit's staging trace: False

    def __init__(self, record: bool = True, policy: Any = None) -> None:
        self.level = _state.depth + 1
        self.tape: list[Any] | None = [] if record else None
        self.policy = policy
        self.lean = bool(policy is not None and policy.lean)
        self.row: Any = None  # the class of the tape's rows (the fast layer's, or the reference's)
        self.deferred = False  # some value on the tape waits to be computed (see fast.lean.Deferred)
        self.closed = False  # its transform has returned: its values are stale (see stale_value)

    def __enter__(self) -> Trace:
        _state.depth += 1
        _state.staging += not self.differentiates
        gc_pause.__enter__()  # no cyclic collections while the tape grows
        return self

    def __exit__(self, *exc: object) -> None:
        _state.depth -= 1
        _state.staging -= not self.differentiates
        self.closed = True
        gc_pause.__exit__()


def stale_value() -> Exception:
    """The error for a traced value used after its transform returned (kept in a global, a list, a closure)."""
    from diffcompare.errors import TracingError

    return TracingError("a traced value was used after the transform that made it returned (it was kept from inside "
                        "f, in a global, a list or a closure): it no longer carries a derivative; use what the "
                        "transform returned, or compute the value again inside the function being differentiated")
