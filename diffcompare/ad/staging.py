"""The staging trace: record a function once as a program of primitives, for :mod:`diffcompare.ad.codegen`.

A staged value (:class:`Staged`) is a traced value like the others (a trace level of its own, so grad, jacfwd
and hessian run inside it and are recorded too), holding the concrete value of the first call and the name of
its row. Every primitive applied to it appends one row ``out = prim(args, **kw)`` to the trace's tape.

What cannot be replayed is refused or reported, never frozen silently:

* Python control flow on a staged value (``if x > 0``, ``while``, ``float(x)``) is refused, naming the line
  of the user's code and suggesting ``np.where`` (or no jit), as JAX does;
* a rule that reads a concrete value to choose between formulas (the conventions at kinks, comparisons
  that make constant masks) marks the trace *value-dependent*: its program would be right only at these
  values, so :func:`diffcompare.ad.jitting.jit` runs that signature eagerly instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from diffcompare.ad import kinks
from diffcompare.ad.numpy_api import Traced
from diffcompare.ad.tracer import Box, Primitive, Trace, shape_of, stale_value
from diffcompare.errors import TracingError

_F64 = np.dtype(np.float64)
_NO_KW: Any = MappingProxyType({})  # a row without keywords (shared: read only)


@dataclass(slots=True)
class Row:
    """One staged operation: ``out = prim(*args, **kw)``; an argument is a :class:`Var` or a constant."""

    out: Var
    prim: Primitive
    args: tuple[Any, ...]
    kw: dict[str, Any]


@dataclass(eq=False, slots=True)
class Var:
    """A variable of the staged program: its index in creation order, shape, dtype and Python kind."""

    index: int
    shape: tuple[int, ...]
    dtype: Any
    is_float: bool  # a Python float (math and operators), else a numpy value
    name: str = ""


@dataclass
class Program:
    """A staged function: inputs, rows in creation order, the output structure (Vars and constants in nested
    tuples/lists), and where its concrete values were read (``value_reads``: non-empty means value-dependent)."""

    inputs: list[Var]
    rows: list[Row]
    output: Any
    value_reads: list[str] = field(default_factory=list)


class StagingTrace(Trace):
    """A trace whose tape is the staged program's rows."""

    __slots__ = ("count", "errstate", "reads", "rows", "values")
    differentiates = False  # a level of its own, but not a derivative (see tracer.differentiating_depth)

    def __init__(self) -> None:
        super().__init__(record=False)
        self.rows: list[Row] = []
        self.count = 0
        self.reads: list[str] = []
        self.values: dict[int, Any] = {}  # each Var's concrete value (the tracing call's)
        self.errstate = np.geterr()  # numpy's error settings when f was called (the program runs under the caller's)

    def new_var(self, value: Any) -> Var:
        count = self.count
        c = value.__class__
        if c is float:
            v = Var(count, (), _F64, True)
        elif c is np.ndarray:
            v = Var(count, value.shape, value.dtype, False)
        else:
            v = Var(count, shape_of(value), np.result_type(value), False)
        self.values[count] = value
        self.count = count + 1
        return v


def user_line() -> str:
    """``file:line: code`` of the innermost frame outside diffcompare and numpy: the user's line."""
    import linecache

    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        path = fname.replace("\\", "/")
        if not any(part in path for part in ("/diffcompare/", "/numpy/", "/site-packages/", "<frozen")):
            code = linecache.getline(fname, frame.f_lineno).strip()
            return f"{fname}:{frame.f_lineno}" + (f": {code}" if code else "")
        frame = frame.f_back
    return "<unknown line>"


_METADATA = ("shape_of(raw(", "np.shape(raw(", "np.ndim(raw(", "np.size(raw(", "np.result_type(raw(")


def _value_reader() -> str | None:
    """Which function reads a staged value's concrete value to choose by it (``_pow_dx in rules.py``); None
    where it reads only its shape or dtype (the transforms' bookkeeping, ``shape_of(raw(x))``)."""
    import linecache
    import os

    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.endswith(("tracer.py", "staging.py")) \
            and frame.f_code.co_name in ("raw", "dtype", "value"):
        if frame.f_code.co_name == "dtype":  # Box.dtype of an outer level (np.result_type of the value): metadata
            return None
        frame = frame.f_back
    if frame is None:
        return "?"
    fname = frame.f_code.co_filename
    if fname.replace("\\", "/").endswith(("/ad/transforms.py", "/ad/recording.py")):
        return None
    if any(m in linecache.getline(fname, frame.f_lineno) for m in _METADATA):
        return None
    return f"{frame.f_code.co_name} in {os.path.basename(fname)}"


# comparisons and the other functions without a derivative: staged as rows, so that a branch on their result
# is seen (and refused) instead of being decided once at the tracing call
_COMPARISONS = {"__lt__": np.less, "__le__": np.less_equal, "__gt__": np.greater, "__ge__": np.greater_equal,
                "__eq__": np.equal, "__ne__": np.not_equal}
_REFLECTED = {"__lt__": np.greater, "__le__": np.greater_equal, "__gt__": np.less, "__ge__": np.less_equal,
              "__eq__": np.equal, "__ne__": np.not_equal}
_NONDIFF_UFUNCS = {*_COMPARISONS.values(), np.sign, np.floor, np.ceil, np.rint, np.isfinite, np.isnan, np.isinf,
                   np.logical_and, np.logical_or, np.logical_not, np.trunc}
_NONDIFF_FUNCTIONS = {np.argmax, np.argmin, np.allclose, np.isclose, np.all, np.any}
NONDIFF: dict[Any, Primitive] = {fn: Primitive(fn.__name__, fn) for fn in _NONDIFF_UFUNCS | _NONDIFF_FUNCTIONS}


def _staged_compare(name: str) -> Callable[[Any, Any], Any]:
    def compare(self: Staged, other: Any) -> Any:
        if isinstance(other, Box) and not isinstance(other, Staged):
            return NotImplemented  # the other side's level decides (and lowers to this one)
        return NONDIFF[_COMPARISONS[name]](self, other)

    return compare


class Staged(Traced):
    """A staged value: the concrete value of the tracing call (read by the rules only through ``value``, which
    notes the read) and its variable in the program."""

    __slots__ = ("concrete", "var")
    stages = True

    def stage_times(self, g: Any, d: Any) -> Any:
        """kinks.times asks the staged operand to record ``g * d`` (kinks knows no staging: no import cycle)."""
        return staged_times(g, d)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kw: Any) -> Any:
        if ufunc in _NONDIFF_UFUNCS and method == "__call__" and not kw:
            return NONDIFF[ufunc](*inputs)
        return super().__array_ufunc__(ufunc, method, *inputs, **kw)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if func in _NONDIFF_FUNCTIONS:
            return NONDIFF[func](*args, **kwargs)
        return super().__array_function__(func, types, args, kwargs)

    def __init__(self, concrete: Any, var: Var, trace: StagingTrace) -> None:
        self.concrete = concrete
        self.var = var
        self.trace = trace

    @property  # type: ignore[override]
    def value(self) -> Any:
        reader = _value_reader()
        if reader is not None:
            self.trace.reads.append(f"{reader}, for {user_line()}")
        return self.concrete

    @property
    def shape(self) -> tuple[int, ...]:
        return self.var.shape

    @property
    def dtype(self) -> Any:
        return self.var.dtype

    def __len__(self) -> int:
        if not self.var.shape:
            raise TypeError("len() of unsized object")
        return self.var.shape[0]

    def __bool__(self) -> bool:
        raise TracingError(
            f"jit: Python control flow on a traced value at {user_line()} (an if, while, and/or, or bool() of "
            "a value that depends on f's inputs) cannot be staged: its branch would be frozen at the first "
            "call's values. Use np.where(cond, a, b) to compute both branches, mark the argument static "
            "(static_argnums), or call f without jit")

    def __float__(self) -> float:
        raise TracingError(
            f"jit: float() (or int(), a math-module function) of a traced value at {user_line()} cannot be "
            "staged: use numpy functions on it (np.sin, not math.sin), or call f without jit")

    __int__ = __complex__ = __index__ = __float__

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TracingError(
            f"jit: assignment into a traced value at {user_line()} cannot be staged (the program computes new "
            "values, as JAX's arrays are immutable): build a new array (np.where, np.concatenate), or call f "
            "without jit")
    __hash__ = Traced.__hash__

    def process(self, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> Staged:
        trace = self.trace
        if trace.closed:
            raise stale_value()
        vals, refs = [], []
        for a in args:
            c = a.__class__
            if c is Staged and a.trace is trace:
                vals.append(a.concrete)
                refs.append(a.var)
            elif c is float or c is int:
                vals.append(a)
                refs.append(a)
            elif isinstance(a, Staged) and a.trace is trace:
                vals.append(a.concrete)
                refs.append(a.var)
            elif isinstance(a, Box):
                raise TracingError("jit: f uses a traced value of an outer transform that it did not receive as "
                                   f"an argument (a closure) at {user_line()}: pass it to the jitted function")
            else:
                vals.append(a)
                refs.append(_frozen(a))
        if np.geterr() != trace.errstate:  # f set np.errstate around this operation: the program would not
            trace.reads.append(f"np.errstate set inside f, for {user_line()}")  # (see jitting: runs eagerly)
        if kw:
            ans = prim.impl(*vals, **kw)
            kw = dict(kw)
        else:
            ans = prim.impl(*vals)
            kw = _NO_KW
        count = trace.count  # trace.new_var(ans), inline: the most frequent call of a trace
        if ans.__class__ is float:
            var = Var(count, (), _F64, True)
            trace.values[count] = ans
            trace.count = count + 1
        else:
            var = trace.new_var(ans)
        trace.rows.append(Row(var, prim, tuple(refs), kw))
        return Staged(ans, var, trace)


def _frozen(a: Any) -> Any:
    """A constant argument as the program keeps it: arrays copied (the caller may change theirs later)."""
    if isinstance(a, np.ndarray):
        return a.copy()
    return a


def _structure(y: Any, trace: StagingTrace) -> Any:
    """f's output with staged values replaced by their Vars (tuples and lists kept)."""
    if isinstance(y, (tuple, list)):
        return type(y)(_structure(e, trace) for e in y)
    if isinstance(y, Staged):
        if y.trace is not trace:
            raise stale_value()
        return y.var
    if isinstance(y, Box):
        raise TracingError("jit: f returned a traced value of an outer transform: pass it to the jitted function")
    if isinstance(y, np.ndarray) and y.dtype == object:
        raise TracingError("jit: f returned an object array; return np.stack([...]) of its elements")
    return _frozen(y)


def concrete_of(y: Any) -> Any:
    """f's output with staged values replaced by their concrete values (the tracing call's result)."""
    if isinstance(y, (tuple, list)):
        return type(y)(concrete_of(e) for e in y)
    return y.concrete if isinstance(y, Staged) else y


def stage(f: Callable[..., Any], args: Sequence[Any], dynamic: Sequence[bool]) -> tuple[Program, Any]:
    """Run ``f(*args)`` once with staged values for the ``dynamic`` arguments, under the reference policy (the
    textbook rows: the generated program is optimised by the code generator, not by the fast layer).

    Returns the program and the call's result.
    """
    from diffcompare.ad import policy

    with policy.scoped(policy.REFERENCE), StagingTrace() as trace:  # this thread only (see policy.scoped)
        boxed, inputs = [], []
        for a, dyn in zip(args, dynamic):
            if dyn:
                var = trace.new_var(a)
                inputs.append(var)
                boxed.append(Staged(a, var, trace))
            else:
                boxed.append(a)
        y = f(*boxed)
        out = _structure(y, trace)
    return Program(inputs, trace.rows, out, trace.reads), concrete_of(y)


for _name in _COMPARISONS:
    setattr(Staged, _name, _staged_compare(_name))


# g * d under the engine's convention at kinks (0 * inf = 0, see kinks.py): the reverse pass's products and
# forward mode's terms, staged as a row of their own so that the program applies the convention at every call
TIMES = Primitive("times", kinks.times)


def staged_times(g: Any, d: Any) -> Any:
    """The product ``g * d`` as a ``times`` row (called by kinks.times on staged values, no operand of a higher
    level: the staged one records it, without the primitive's search for the highest level)."""
    return (g if g.__class__ is Staged else d).process(TIMES, (g, d), _NO_KW) if Staged in (g.__class__, d.__class__) \
        else TIMES(g, d)
