"""A recording: one reverse-mode run of a function, its tape, and the pullback (under the current policy).

Also what every transform does at its boundary: arguments become traced inputs (floats stay floats, for the
scalar path; arrays become float arrays), the user's function is called, and its result must be a number or
an array of them (what is not is refused, never differentiated as 0).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad import policy as _policy
from diffcompare.ad import reverse
from diffcompare.ad.fast import backward as fast_backward
from diffcompare.ad.fast import memory
from diffcompare.ad.fast.lean import RArray, pooled_copy
from diffcompare.ad.fast.scalar import FastRNode
from diffcompare.ad.forward import FNode
from diffcompare.ad.policy import Policy
from diffcompare.ad.reverse import RNode, tape_row
from diffcompare.ad.rules import stack
from diffcompare.ad.tracer import (
    Box, Primitive, Trace, depth, differentiating_depth, paused_gc, raw, shape_of, stale_value,
)
from diffcompare.errors import TracingError


def as_input(x: Any) -> Any:
    """Python and numpy scalars become floats (the fast path); everything else a float array."""
    if isinstance(x, Box):
        return _staged_input(x) if getattr(x, "stages", False) else x
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool):
        return float(x)
    arr = np.asarray(x)
    if arr.dtype == object:
        return stack(*list(arr.ravel())).reshape(arr.shape) if arr.size else arr.astype(float)
    return arr.astype(float) if arr.dtype.kind in "biu" else arr


AS_INPUT = Primitive("as_input", as_input)


def _staged_input(x: Any) -> Any:
    """A jitted argument converted as the plain one is (an int or a numpy scalar to a float, an int array to
    floats): a row of the program, so that jit(grad(f))(3) gives grad(f)(3)'s floats, not ints or float32s."""
    plain = x.concrete
    converted = as_input(plain)
    if converted.__class__ is plain.__class__ and np.result_type(converted) == np.result_type(plain):
        return x
    return AS_INPUT(x)


def call(f: Callable[..., Any], args: Sequence[Any], who: str) -> Any:
    """``f(*args)`` as one traced value, or a refusal that says what f did wrong (see :func:`as_output`).

    numpy reports a traced value assigned into a plain array (``y[0] = x[0]``) as "setting an array
    element with a sequence", with the engine's own explanation as the cause: that explanation is raised.
    """
    try:
        y = f(*args)
    except ValueError as exc:
        if isinstance(exc.__cause__, TracingError) and not isinstance(exc, TracingError):
            raise exc.__cause__ from None
        raise
    except RecursionError:
        if differentiating_depth() < 2:
            raise  # f's own recursion, not nested transforms (jit's staging trace does not count)
        raise TracingError(f"transforms nested {differentiating_depth()} or more deep ran out of Python's stack "
                           f"(sys.getrecursionlimit() = {sys.getrecursionlimit()}, about 100 nested grads): "
                           "nest fewer, or raise the limit with sys.setrecursionlimit") from None
    return as_output(y, who)


def as_output(y: Any, who: str = "the transform") -> Any:
    """Lists, tuples and object arrays of traced values become one traced array; what is not a number
    (None from a missing ``return``, a str, a dict, a bool) is refused, never differentiated as 0."""
    if isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype == object):
        arr = np.asarray(y, dtype=object)
        if any(isinstance(e, Box) for e in arr.ravel()):
            return stack(*[as_output(e, who) for e in arr.ravel()]).reshape(arr.shape)
        for e in arr.ravel():
            as_output(e, who)
        numbers = np.array(arr.tolist()) if arr.size else np.zeros(arr.shape)
        return numbers if numbers.dtype.kind in "fc" else numbers.astype(float)  # complex stays complex
    if isinstance(y, Box):
        if y.trace.closed:  # returned a value kept from an earlier call: it is not f's value at these arguments
            raise stale_value()
        if getattr(y, "stages", False) and np.dtype(y.dtype).kind == "b":  # a comparison jit stages
            raise TracingError(f"{who} needs f to return {_NEEDS.get(who, 'a number or an array of numbers')}; "
                               "f returned a bool array: a comparison has no derivative; return the number it "
                               "compares")
        return y
    if isinstance(y, (float, int, complex, np.number, np.ndarray)) and np.asarray(y).dtype.kind in "fiuc" \
            and not isinstance(y, bool):
        return y
    raise TracingError(f"{who} needs f to return {_NEEDS.get(who, 'a number or an array of numbers')}; "
                       f"f returned {described(y)}")


_NEEDS = {"grad": "a float or a 0-d array", "value_and_grad": "a float or a 0-d array"}


def described(y: Any) -> str:
    """What f returned, in the user's terms, with the likely slip."""
    if y is None:
        return "None (did you forget a `return`?)"
    if isinstance(y, (bool, np.bool_)) or (isinstance(y, np.ndarray) and y.dtype == bool):
        return f"a bool ({y!r}): a comparison has no derivative; return the number it compares"
    return f"a {type(y).__name__} ({y!r:.40})"


def zeros_like(x: Any) -> Any:
    x = raw(x)
    return 0.0 if isinstance(x, float) else np.zeros(np.shape(x), np.result_type(x, float))


def argnums_tuple(argnums: int | Sequence[int]) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def is_complex(x: Any) -> bool:
    """Complex dtype, read from a traced value's dtype (without computing what was deferred)."""
    c = x.__class__
    if c is float or c is int or ((c is RNode or c is FNode) and x.value.__class__ is float):
        return False
    return (x.dtype if isinstance(x, Box) else np.result_type(x)).kind == "c"


def check_complex_input(who: str, x: Any, holomorphic: bool) -> None:
    """As JAX: complex inputs only with ``holomorphic=True`` (f promised holomorphic), and then only complex.

    The rules compute df/dz as if f were holomorphic, so without that promise the real part of a complex
    derivative would be all that is left of it after a float Jacobian: never give that silently.
    """
    if is_complex(as_input(x)) == holomorphic:
        return
    if holomorphic:
        raise TracingError(f"{who}(f, holomorphic=True) needs complex inputs; this one is real: pass it as "
                           "complex (x + 0j), or drop holomorphic=True")
    raise TracingError(f"{who} got a complex input: if f is holomorphic, pass {who}(f, holomorphic=True) for "
                       "df/dz; otherwise use jvp or vjp, which take complex tangents and cotangents")


def check_argnums(who: str, argnums: tuple[int, ...], nargs: int) -> None:
    """Every argnum names a positional argument of this call (as JAX checks, instead of an IndexError)."""
    for i in argnums:
        if not -nargs <= i < nargs:
            raise TracingError(f"{who}(f, argnums={i}) differentiates with respect to positional argument {i}, "
                               f"but f was called with {nargs} positional argument(s): pass that argument, "
                               "or choose argnums among them")


class Recording:
    """One reverse-mode run of ``f``: its tape, inputs and output, and the pullback.

    ``tape`` lists every recorded operation in creation order (the inputs first): it is the
    lecture's evaluation trace, and ``len(tape)`` is what reverse mode had to store. ``policy``
    (:mod:`diffcompare.ad.policy`) picks the speed tricks; by default the current one without lean rows,
    so that every row keeps its values to be looked at (the transforms pass the current policy itself).
    """

    def __init__(self, f: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int] = 0,
                 who: str = "record", holomorphic: bool | None = None, policy: Policy | None = None) -> None:
        if policy is None:
            current = _policy.current()
            policy = Policy(current.fast_nodes, False, current.scaled)
        self.policy = policy
        self.argnums = argnums_tuple(argnums)
        check_argnums(who, self.argnums, len(args))
        args = list(args)
        if holomorphic is not None:
            for i in self.argnums:
                if holomorphic or args[i].__class__ is not float:  # a float is real: nothing to check
                    check_complex_input(who, args[i], holomorphic)
        if policy.lean and depth() == 0:
            memory.recycle()  # the buffers of earlier gradients that nobody holds any more
        with Trace(policy=policy) as trace:
            trace.row = FastRNode if policy.fast_nodes else RNode
            self.inputs = []
            for i in self.argnums:
                x = as_input(args[i])
                if x is args[i] and x.__class__ is np.ndarray:  # the user's own array, which f may change in
                    # place (through a closure) after the rules' last look at it: keep a copy
                    x = pooled_copy(x) if policy.lean else x.copy()
                node = trace.row(x, trace)
                args[i] = node
                self.inputs.append(node)
            out = call(f, args, who)
            if holomorphic is False and is_complex(out):
                raise TracingError(f"{who} needs f to return real values; f returned complex ones: if f is "
                                   f"holomorphic, pass {who}(f, holomorphic=True) for df/dz, otherwise use vjp")
        self.trace = trace
        # the tape now belongs to this Recording: detached from the trace, no node <-> trace
        # cycle keeps it alive after the Recording is gone (reference counting frees it at once)
        self.tape = trace.tape
        trace.tape = None
        self.output = out
        self.grads: list[Any] | None = None

    @property
    def value(self) -> Any:
        """f's value (on a lean recording, what was deferred is computed now, if not before)."""
        out = self.output
        return out.value if self._traced(out) else out

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of f's value, without computing it."""
        out = self.output
        return out.shape if out.__class__ is RArray else shape_of(raw(self.value))

    def __repr__(self) -> str:
        return (f"<Recording: {len(self.inputs)} input(s), {self.operations} operations, "
                f"output {raw(self.value)!r}>")

    def _traced(self, y: Any) -> bool:
        return isinstance(y, (RNode, RArray)) and y.trace is self.trace

    @property
    def operations(self) -> int:
        """Recorded primitive operations (the inputs are not counted)."""
        return len(self.tape) - len(self.inputs)

    def pullback(self, cotangent: Any = None, last: bool = False) -> list[Any]:
        """The VJP: cotangent (of the output's shape; 1.0 for a scalar) to one gradient per input.

        ``last``: no pullback follows on this recording, so the pass lets go of the tape's values
        as it goes, and of f's value if it was not computed yet: the recording is spent (its rows
        no longer hold their arguments, and ``value`` is None).
        """
        out_shape = self.output_shape
        if cotangent is None:
            if out_shape != ():
                raise TracingError(
                    f"the output has shape {out_shape}: give a cotangent of that shape "
                    "(as in the lecture's Exercise 3), or use jacrev/jacfwd for the whole Jacobian"
                )
            cotangent = 1.0
        elif shape_of(raw(cotangent)) != out_shape:
            raise TracingError(f"the pullback was given a cotangent of shape {shape_of(raw(cotangent))}, but f's "
                               f"output has shape {out_shape}: give one cotangent of the output's shape")
        for node in self.inputs:
            node.grad = None
        if self._traced(self.output):
            row = tape_row(self.output)
            if last:  # what only f's value needed is freed before the pass, to be reused in it
                self.output = None
            if self.policy.scaled:
                fast_backward.backward(self.tape, row, cotangent, self.trace.deferred, consume=last)
            else:
                reverse.backward(self.tape, row, cotangent)
        grads = []
        for node in self.inputs:
            g = node.grad
            node.grad = None
            if g is None:
                g = zeros_like(node.value)
            elif isinstance(node.value, float) and not isinstance(g, Box):
                g = float(g)
            grads.append(g)
        return grads

    def backward(self, cotangent: Any = None, accumulate: bool = False) -> list[Any]:
        """PyTorch-style: store the gradients in ``self.grads``, adding to them if ``accumulate``."""
        grads = self.pullback(cotangent)
        if accumulate and self.grads is not None:
            grads = [a + b for a, b in zip(self.grads, grads)]
        self.grads = grads
        return grads


def record(f: Callable[..., Any], *args: Any, argnums: int | Sequence[int] | None = None) -> Recording:
    """Run ``f(*args)`` once in reverse mode (all arguments traced unless ``argnums`` says)."""
    return Recording(f, args, tuple(range(len(args))) if argnums is None else argnums)


@paused_gc
def tape_size(f: Callable[..., Any], *args: Any) -> int:
    """How many operations reverse mode records for ``f(*args)`` (the inputs not counted): the length of the
    tape a gradient stores, for cost tables. One recording, as the transforms make it."""
    return Recording(f, args, tuple(range(len(args))), who="tape_size", policy=_policy.current()).operations


