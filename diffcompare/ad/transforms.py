"""Function transforms with JAX's names and meanings: grad, value_and_grad, vjp, jvp, jacfwd,
jacrev, jacobian, hessian, hvp, derivative; and ``record`` for a tape one can look at.

Every call records afresh: ``grad(f)(x)`` returns new values each time and never accumulates
into anything (micrograd's second ``backward()`` silently adds up; ours does only when asked,
through :meth:`Recording.backward` with ``accumulate=True``, to show the lecture's Exercise 2).
Each transform reads the policy (:mod:`diffcompare.ad.policy`) when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad import policy as _policy
from diffcompare.ad.fast.scalar import FastFNode
from diffcompare.ad.forward import FNode
from diffcompare.ad.recording import (  # noqa: F401 (Recording, record and tape_size are this module's API too)
    Recording, argnums_tuple, as_input, call, check_argnums, check_complex_input, record, tape_size, zeros_like,
)
from diffcompare.ad.rules import broadcast_to, concatenate, reshape, stack, transpose
from diffcompare.ad.tracer import Box, Trace, paused_gc, raw, shape_of
from diffcompare.errors import TracingError


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


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        batched: bool = False) -> tuple[Any, Any]:
    """``(f(*primals), J @ tangents)`` in one forward pass.

    ``batched=True``: each tangent holds k directions along a new leading axis (shape ``(k, *primal.shape)``),
    and the result's tangent has shape ``(k, *f.shape)``: k Jacobian-vector products in one pass (JAX spells
    it ``vmap(lambda t: jvp(f, (x,), (t,))[1])(T)``); every partial is computed once for all k.
    """
    return _jvp(f, primals, tangents, "jvp", batched)


@paused_gc
def _jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], who: str,
         batched: bool = False) -> tuple[Any, Any]:
    if len(primals) != len(tangents):
        raise TracingError(f"{who} was given {len(primals)} primal(s) and {len(tangents)} tangent(s): "
                           "give one tangent per primal, of the primal's shape")
    node = FastFNode if _policy.current().fast_nodes else FNode
    k: tuple[int, ...] = ()
    with Trace(record=False) as trace:
        args = []
        for p, t in zip(primals, tangents):
            p = as_input(p)
            t = _as_tangent(t) if batched else as_input(t)
            sp, st = shape_of(raw(p)), shape_of(raw(t))
            if batched:
                if len(st) != len(sp) + 1 or st[1:] != sp or (k and st[:1] != k):
                    raise TracingError(f"{who} was given tangents of shape {st} for a primal of shape {sp}: with "
                                       "batched=True give each primal k directions, of shape (k, *primal.shape), "
                                       "the same k for all")
                k = st[:1]
            elif st != sp:
                raise TracingError(f"{who} was given a tangent of shape {st} for a primal of shape "
                                   f"{sp}: give each tangent its primal's shape")
            args.append(node(p, t, trace))
        out = call(f, args, who)
    if isinstance(out, FNode) and out.trace is trace:
        tangent = out.tangent
        if tangent is None or shape_of(tangent) != k + shape_of(out.value):  # a zero tangent without the batch
            tangent = _zero_tangent(out.value, k) if tangent is None else _broadcast_tangent(tangent, out.value, k)
        return out.value, tangent
    return out, _zero_tangent(out, k)


def _as_tangent(t: Any) -> Any:
    """A batch of tangents as a float array (or a traced value, as it is)."""
    if isinstance(t, Box):
        return t
    arr = np.asarray(t)
    return arr.astype(float) if arr.dtype.kind in "biu" else arr


def _zero_tangent(out: Any, k: tuple[int, ...]) -> Any:
    if not k:
        return zeros_like(out)
    return np.zeros(k + shape_of(raw(out)), np.result_type(raw(out), float))


def _broadcast_tangent(t: Any, out: Any, k: tuple[int, ...]) -> Any:
    return broadcast_to(t, k + shape_of(raw(out)))


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


def _columns_last(parts: list[Any], out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Any:
    """Batched tangents (chunks of shape (m, *out_shape), one row per input direction) as the Jacobian,
    out_shape + in_shape."""
    j = parts[0] if len(parts) == 1 else concatenate(*parts, axis=0)
    nd = len(out_shape)
    if nd:
        j = transpose(j, tuple(range(1, nd + 1)) + (0,))
    return reshape(j, out_shape + in_shape)


def _per_argnum(transform: Callable[..., Any], f: Callable[..., Any], argnums: Sequence[int],
                holomorphic: bool) -> Callable[..., Any]:
    """For a tuple of argnums, as JAX: a tuple with one result per argument."""
    parts = [transform(f, i, holomorphic) for i in argnums]
    return lambda *args: tuple(p(*args) for p in parts)


# how many directions one batched pass carries at most: n directions of an n-element input take n^2 floats
# per intermediate; up to this many elements (8 MB) a Jacobian is one pass, past it a few passes of chunks
BATCH_ELEMENTS = 2**20


def _identity_chunks(x: Any) -> Any:
    """The unit vectors of x's shape in batches: (m, *x.shape) arrays, m * x.size <= BATCH_ELEMENTS."""
    n = x.size
    m = max(1, min(n, BATCH_ELEMENTS // max(1, n)))
    for start in range(0, n, m):
        rows = min(m, n - start)
        e = np.zeros((rows, n))
        e[np.arange(rows), start + np.arange(rows)] = 1.0
        yield e.reshape((rows,) + x.shape)


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: all n input directions in one batched pass (chunks of them for very large
    n, see ``BATCH_ELEMENTS``). Shape: out.shape + in.shape."""
    if not isinstance(argnums, int):
        return _per_argnum(jacfwd, f, argnums, holomorphic)

    @paused_gc
    def jac(*args: Any) -> Any:
        check_argnums("jacfwd", (argnums,), len(args))
        args = list(args)
        x = as_input(args[argnums])
        check_complex_input("jacfwd", x, holomorphic)

        def g(xi: Any) -> Any:
            a = list(args)
            a[argnums] = xi
            return f(*a)

        rx = raw(x)
        if rx.__class__ is float or rx.size <= 1:  # one direction: an unbatched pass
            cols, out = [], None
            for e in _basis(rx):
                out, t = _jvp(g, (x,), (e,), "jacfwd")
                cols.append(t)
            if not cols:  # an empty input: one pass for the output's shape
                out = _jvp(g, (x,), (zeros_like(x),), "jacfwd")[0]
            return _stack_results(cols, shape_of(raw(out)), shape_of(rx), "in")
        parts = []
        for e in _identity_chunks(rx):
            out, t = _jvp(g, (x,), (e,), "jacfwd", batched=True)
            parts.append(t)
        return _columns_last(parts, shape_of(raw(out)), shape_of(rx))

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
    """Forward over reverse: ``jacfwd(jacrev(f))``; all n directions in one batched forward pass, through one
    reverse pass.

    For a tuple of argnums, as JAX: the blocks ``H[i][j]`` = d^2 f / d arg_i d arg_j, nested tuples.
    """
    nums = argnums_tuple(argnums)
    if not isinstance(argnums, int):
        blocks = [[jacfwd(jacrev(f, i, holomorphic), j, holomorphic) for j in argnums] for i in argnums]
        h = lambda *args: tuple(tuple(b(*args) for b in row) for row in blocks)
    else:
        h = jacfwd(jacrev(f, argnums, holomorphic), argnums, holomorphic)

    def hess(*args: Any) -> Any:
        check_argnums("hessian", nums, len(args))  # refusals name hessian, not the transforms inside
        for i in nums:
            check_complex_input("hessian", args[i], holomorphic)
        return h(*args)

    return hess


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """Hessian-vector product H(x) v without forming H: a JVP of the gradient (forward over reverse).

    x and v are the point and the direction themselves, not jvp's tuples: ``hvp(f, (x,), (v,))`` (JAX's
    cookbook spelling) would make the point the (1, n) array np.asarray((x,)) and fail deep inside f (a matmul
    core-dimension error for x @ x); it is refused here in one line instead."""
    for name, a in (("x", x), ("v", v)):
        if isinstance(a, (tuple, list)) and any(isinstance(e, (np.ndarray, Box)) for e in a):
            raise TracingError(f"hvp(f, x, v) takes the point and the direction themselves, not jvp's tuples: "
                               f"{name} is a {type(a).__name__} of arrays (write hvp(f, x, v), not "
                               "hvp(f, (x,), (v,)))")
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
