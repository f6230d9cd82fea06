"""Function transforms with JAX's names and meanings: grad, value_and_grad, vjp, jvp, jacfwd,
jacrev, jacobian, hessian, hvp, derivative; and ``record`` for a tape one can look at.

Every call records afresh: ``grad(f)(x)`` returns new values each time and never accumulates
into anything (micrograd's second ``backward()`` silently adds up; ours does only when asked,
through :meth:`Recording.backward` with ``accumulate=True``, to show the lecture's Exercise 2).
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
from diffcompare.ad.fast.scalar import FastFNode, FastRNode
from diffcompare.ad.forward import FNode
from diffcompare.ad.policy import Policy
from diffcompare.ad.reverse import RNode, tape_row
from diffcompare.ad.rules import stack
from diffcompare.ad.tracer import Box, Trace, depth, paused_gc, raw, shape_of, stale_value
from diffcompare.errors import TracingError


def _as_input(x: Any) -> Any:
    """Python and numpy scalars become floats (the fast path); everything else a float array."""
    if isinstance(x, Box):
        return x
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool):
        return float(x)
    arr = np.asarray(x)
    if arr.dtype == object:
        return stack(*list(arr.ravel())).reshape(arr.shape) if arr.size else arr.astype(float)
    return arr.astype(float) if arr.dtype.kind in "biu" else arr


def _call(f: Callable[..., Any], args: Sequence[Any], who: str) -> Any:
    """``f(*args)`` as one traced value, or a refusal that says what f did wrong (see :func:`_as_output`).

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
        if depth() < 2:
            raise  # f's own recursion, not nested transforms
        raise TracingError(f"transforms nested {depth()} or more deep ran out of Python's stack "
                           f"(sys.getrecursionlimit() = {sys.getrecursionlimit()}, about 100 nested grads): "
                           "nest fewer, or raise the limit with sys.setrecursionlimit") from None
    return _as_output(y, who)


def _as_output(y: Any, who: str = "the transform") -> Any:
    """Lists, tuples and object arrays of traced values become one traced array; what is not a number
    (None from a missing ``return``, a str, a dict, a bool) is refused, never differentiated as 0."""
    if isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype == object):
        arr = np.asarray(y, dtype=object)
        if any(isinstance(e, Box) for e in arr.ravel()):
            return stack(*[_as_output(e, who) for e in arr.ravel()]).reshape(arr.shape)
        for e in arr.ravel():
            _as_output(e, who)
        numbers = np.array(arr.tolist()) if arr.size else np.zeros(arr.shape)
        return numbers if numbers.dtype.kind in "fc" else numbers.astype(float)  # complex stays complex
    if isinstance(y, Box):
        if y.trace.closed:  # returned a value kept from an earlier call: it is not f's value at these arguments
            raise stale_value()
        return y
    if isinstance(y, (float, int, complex, np.number, np.ndarray)) and np.asarray(y).dtype.kind in "fiuc" \
            and not isinstance(y, bool):
        return y
    raise TracingError(f"{who} needs f to return {_NEEDS.get(who, 'a number or an array of numbers')}; "
                       f"f returned {_described(y)}")


_NEEDS = {"grad": "a float or a 0-d array", "value_and_grad": "a float or a 0-d array"}


def _described(y: Any) -> str:
    """What f returned, in the user's terms, with the likely slip."""
    if y is None:
        return "None (did you forget a `return`?)"
    if isinstance(y, (bool, np.bool_)) or (isinstance(y, np.ndarray) and y.dtype == bool):
        return f"a bool ({y!r}): a comparison has no derivative; return the number it compares"
    return f"a {type(y).__name__} ({y!r:.40})"


def _zeros_like(x: Any) -> Any:
    x = raw(x)
    return 0.0 if isinstance(x, float) else np.zeros(np.shape(x), np.result_type(x, float))


def _argnums_tuple(argnums: int | Sequence[int]) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _is_complex(x: Any) -> bool:
    """Complex dtype, read from a traced value's dtype (without computing what was deferred)."""
    c = x.__class__
    if c is float or c is int or ((c is RNode or c is FNode) and x.value.__class__ is float):
        return False
    return (x.dtype if isinstance(x, Box) else np.result_type(x)).kind == "c"


def _check_complex_input(who: str, x: Any, holomorphic: bool) -> None:
    """As JAX: complex inputs only with ``holomorphic=True`` (f promised holomorphic), and then only complex.

    The rules compute df/dz as if f were holomorphic, so without that promise the real part of a complex
    derivative would be all that is left of it after a float Jacobian: never give that silently.
    """
    if _is_complex(_as_input(x)) == holomorphic:
        return
    if holomorphic:
        raise TracingError(f"{who}(f, holomorphic=True) needs complex inputs; this one is real: pass it as "
                           "complex (x + 0j), or drop holomorphic=True")
    raise TracingError(f"{who} got a complex input: if f is holomorphic, pass {who}(f, holomorphic=True) for "
                       "df/dz; otherwise use jvp or vjp, which take complex tangents and cotangents")


def _check_argnums(who: str, argnums: tuple[int, ...], nargs: int) -> None:
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
        self.argnums = _argnums_tuple(argnums)
        _check_argnums(who, self.argnums, len(args))
        args = list(args)
        if holomorphic is not None:
            for i in self.argnums:
                if holomorphic or args[i].__class__ is not float:  # a float is real: nothing to check
                    _check_complex_input(who, args[i], holomorphic)
        if policy.lean and depth() == 0:
            memory.recycle()  # the buffers of earlier gradients that nobody holds any more
        with Trace(policy=policy) as trace:
            trace.row = FastRNode if policy.fast_nodes else RNode
            self.inputs = []
            for i in self.argnums:
                x = _as_input(args[i])
                if x is args[i] and x.__class__ is np.ndarray:  # the user's own array, which f may change in
                    # place (through a closure) after the rules' last look at it: keep a copy
                    x = pooled_copy(x) if policy.lean else x.copy()
                node = trace.row(x, trace)
                args[i] = node
                self.inputs.append(node)
            out = _call(f, args, who)
            if holomorphic is False and _is_complex(out):
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
                g = _zeros_like(node.value)
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


def _pick(values: list[Any], argnums: int | Sequence[int]) -> Any:
    return values[0] if isinstance(argnums, int) else tuple(values)


def _gradients(f: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int],
               with_value: bool, holomorphic: bool = False) -> tuple[Any, Any]:
    """One lean recording of a scalar-output ``f``: (f's value if ``with_value`` else None, gradient).

    Without the value, what only the value needed is never computed, and is let go of before the
    reverse pass (so that its arrays can be reused in it).
    """
    rec = Recording(f, args, argnums, policy=_policy.current(), who="value_and_grad" if with_value else "grad",
                    holomorphic=holomorphic)
    if rec.output_shape != ():
        raise TracingError(
            f"grad only applies to scalar-output functions; this one returns shape "
            f"{rec.output_shape}. Try jacrev, jacfwd or vjp."
        )
    value = rec.value if with_value else None
    return value, _pick(rec.pullback(1.0, last=True), argnums)


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   holomorphic: bool = False) -> Callable[..., tuple[Any, Any]]:
    """``f``'s value and its gradient with respect to ``argnums`` (scalar-output functions)."""

    @paused_gc
    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        return _gradients(f, args, argnums, with_value=True, holomorphic=holomorphic)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar-output ``f`` with respect to argument(s) ``argnums``, as JAX's.

    Complex inputs and outputs only with ``holomorphic=True`` (JAX's promise that f is holomorphic): then
    the result is the complex derivative df/dz.

    Only what the derivative rules read is computed: on large arrays, the part of f after the last
    value a rule needs (the loss's final sums and scalings, often most of f) never runs.
    """

    @paused_gc
    def grad_f(*args: Any) -> Any:
        return _gradients(f, args, argnums, with_value=False, holomorphic=holomorphic)[1]

    return grad_f


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), pullback)``; ``pullback(cotangent)`` gives one cotangent per primal.

    The user's code runs between the two and may change the primals or the value in place, which the
    rules read (``exp``'s is its value): the recording keeps copies of its own.
    """
    primals = tuple(p.copy() if p.__class__ is np.ndarray else p for p in primals)
    rec = Recording(f, primals, tuple(range(len(primals))), policy=_policy.current(), who="vjp")
    value = rec.value
    return (value.copy() if value.__class__ is np.ndarray else value), lambda ct: tuple(rec.pullback(ct))


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J @ tangents)`` in one forward pass."""
    return _jvp(f, primals, tangents, "jvp")


@paused_gc
def _jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], who: str) -> tuple[Any, Any]:
    if len(primals) != len(tangents):
        raise TracingError(f"{who} was given {len(primals)} primal(s) and {len(tangents)} tangent(s): "
                           "give one tangent per primal, of the primal's shape")
    node = FastFNode if _policy.current().fast_nodes else FNode
    with Trace(record=False) as trace:
        args = []
        for p, t in zip(primals, tangents):
            p = _as_input(p)
            t = _as_input(t)
            if shape_of(raw(t)) != shape_of(raw(p)):
                raise TracingError(f"{who} was given a tangent of shape {shape_of(raw(t))} for a primal of shape "
                                   f"{shape_of(raw(p))}: give each tangent its primal's shape")
            args.append(node(p, t, trace))
        out = _call(f, args, who)
    if isinstance(out, FNode) and out.trace is trace:
        tangent = out.tangent
        if tangent is None:
            tangent = _zeros_like(out.value)
        return out.value, tangent
    return out, _zeros_like(out)


def _basis(x: Any) -> Any:
    """The unit vectors of x's shape, one at a time (an n x n identity would not fit for large n)."""
    if isinstance(x, float):
        yield 1.0
        return
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1.0
        yield e.reshape(x.shape)


def _stack_results(parts: list[Any], out_shape: tuple[int, ...], in_shape: tuple[int, ...], lead: str) -> Any:
    """Assemble a Jacobian of shape out_shape + in_shape from per-input or per-output pieces."""
    if not in_shape and lead == "in":
        return parts[0]
    if not out_shape and lead == "out":
        return parts[0]
    if not parts:  # an empty input or output: an empty Jacobian of the right shape
        return np.zeros(out_shape + in_shape)
    if any(isinstance(p, Box) for p in parts):
        j = stack(*parts, axis=0)
    else:
        j = np.stack([np.asarray(p, dtype=np.result_type(p, float)) for p in parts], axis=0)  # complex stays
    if lead == "in":  # rows are inputs: (n_in, *out_shape) -> out_shape + in_shape
        j = j.reshape((int(np.prod(in_shape)),) + out_shape)
        nd = len(out_shape)
        j = j.transpose(tuple(range(1, nd + 1)) + (0,)) if nd else j
        return j.reshape(out_shape + in_shape)
    return j.reshape(out_shape + in_shape)


def _per_argnum(transform: Callable[..., Any], f: Callable[..., Any], argnums: Sequence[int],
                holomorphic: bool) -> Callable[..., Any]:
    """For a tuple of argnums, as JAX: a tuple with one result per argument."""
    parts = [transform(f, i, holomorphic) for i in argnums]
    return lambda *args: tuple(p(*args) for p in parts)


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: one JVP per input element. Shape: out.shape + in.shape."""
    if not isinstance(argnums, int):
        return _per_argnum(jacfwd, f, argnums, holomorphic)

    @paused_gc
    def jac(*args: Any) -> Any:
        _check_argnums("jacfwd", (argnums,), len(args))
        args = list(args)
        x = _as_input(args[argnums])
        _check_complex_input("jacfwd", x, holomorphic)

        def g(xi: Any) -> Any:
            a = list(args)
            a[argnums] = xi
            return f(*a)

        cols, out = [], None
        for e in _basis(raw(x)):
            out, t = _jvp(g, (x,), (e,), "jacfwd")
            cols.append(t)
        if not cols:  # an empty input: one pass for the output's shape
            out = _jvp(g, (x,), (_zeros_like(x),), "jacfwd")[0]
        out_shape = shape_of(raw(out))
        return _stack_results(cols, out_shape, shape_of(raw(x)), "in")

    return jac


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one recording, one VJP per output element."""
    if not isinstance(argnums, int):
        return _per_argnum(jacrev, f, argnums, holomorphic)

    @paused_gc
    def jac(*args: Any) -> Any:
        rec = Recording(f, args, argnums, policy=_policy.current(), who="jacrev", holomorphic=holomorphic)
        return _jacrev_from(rec)

    return jac


def _jacrev_from(rec: Recording) -> Any:
    """The Jacobian from one recording: one pullback per output element."""
    out_shape = shape_of(raw(rec.value))
    rows = [rec.pullback(e)[0] for e in _basis(raw(rec.value) if out_shape else 0.0)]
    return _stack_results(rows, out_shape, shape_of(raw(rec.inputs[0].value)), "out")


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """jacfwd when there are fewer inputs than outputs, jacrev otherwise (decided per call)."""
    if not isinstance(argnums, int):
        return _per_argnum(jacobian, f, argnums, holomorphic)

    @paused_gc
    def jac(*args: Any) -> Any:
        rec = Recording(f, args, argnums, policy=_policy.current(), who="jacobian", holomorphic=holomorphic)
        n_in, n_out = np.size(raw(rec.inputs[0].value)), np.size(raw(rec.value))
        if n_in < n_out:
            return jacfwd(f, argnums, holomorphic)(*args)
        return _jacrev_from(rec)  # the recording is already made: one pullback per output

    return jac


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """Forward over reverse: ``jacfwd(jacrev(f))``; n forward passes through one reverse pass.

    For a tuple of argnums, as JAX: the blocks ``H[i][j]`` = d^2 f / d arg_i d arg_j, nested tuples.
    """
    nums = _argnums_tuple(argnums)
    if not isinstance(argnums, int):
        blocks = [[jacfwd(jacrev(f, i, holomorphic), j, holomorphic) for j in argnums] for i in argnums]
        h = lambda *args: tuple(tuple(b(*args) for b in row) for row in blocks)
    else:
        h = jacfwd(jacrev(f, argnums, holomorphic), argnums, holomorphic)

    def hess(*args: Any) -> Any:
        _check_argnums("hessian", nums, len(args))  # refusals name hessian, not the transforms inside
        for i in nums:
            _check_complex_input("hessian", args[i], holomorphic)
        return h(*args)

    return hess


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """Hessian-vector product H(x) v without forming H: a JVP of the gradient (forward over reverse)."""
    return jvp(grad(f), (x,), (v,))[1]


def derivative(f: Callable[[Any], Any], order: int = 1, mode: str = "reverse") -> Callable[[Any], Any]:
    """The ``order``-th derivative of a scalar function by nesting ``order`` transforms."""
    if order < 0:
        raise ValueError("order must be >= 0")
    if mode not in ("reverse", "forward"):
        raise ValueError("mode must be 'reverse' or 'forward'")
    d = f
    for _ in range(order):
        d = grad(d) if mode == "reverse" else _forward_derivative(d)
    return d


def _forward_derivative(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def df(x: Any) -> Any:
        return jvp(f, (x,), (np.ones_like(raw(x)) if isinstance(raw(x), np.ndarray) else 1.0,))[1]

    return df
