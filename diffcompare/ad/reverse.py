"""Reverse mode, the reference: a tape of rows ``v_i = prim(v_j, v_k)`` and one plain sweep back over it.

Recording: each primitive applied to a traced value appends one row to its trace's tape (creation order is a
topological order, so the reverse pass needs neither recursion nor a sort). The reverse pass walks the tape
backwards and hands each row's adjoint to its arguments through the row's rule (:func:`pull_back`).

This is the oracle: nothing here is about speed. The fast layer (:mod:`diffcompare.ad.fast`) records and
sweeps the same rows with shortcuts, and the tests require both to give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.kinks import times
from diffcompare.ad.numpy_api import Traced
from diffcompare.ad.rules import unbroadcast
from diffcompare.ad.tracer import Box, Primitive, Trace, stale_value


class RNode(Traced):
    """A reverse-mode traced value: one row of the tape.

    ``parents`` are the rows of the arguments at positions ``argnums``; ``args`` the values the rules read.
    ``local`` is the fast layer's: partials computed while recording (a scalar row), None here.
    """

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
        return record(self, prim, args, kw)


def tape_row(box: Box) -> RNode:
    """The tape row of a reverse-mode value (the fast layer's array handles point to theirs)."""
    return getattr(box, "node", box)


def record(box: Box, prim: Primitive, args: Sequence[Any], kw: dict[str, Any]) -> RNode:
    """Apply ``prim`` with ``box`` its highest-level traced argument, and append the row to the tape."""
    trace = box.trace
    vals, parents, argnums = [], [], []
    nested = False  # values of lower levels among the arguments: let them record the operation too
    for i, a in enumerate(args):
        if isinstance(a, Box) and a.trace is trace:
            v = a.value
            parents.append(tape_row(a))
            argnums.append(i)
            nested = nested or isinstance(v, Box)
        else:
            v = a
            nested = nested or isinstance(a, Box)
        vals.append(v)
    ans = prim(*vals, **kw) if nested else prim.impl(*vals, **kw)
    return RNode(ans, trace, prim, tuple(parents), tuple(argnums), copied_constants(vals, argnums), kw or None)


def copied_constants(vals: Sequence[Any], argnums: Sequence[int], copy: Any = np.copy) -> tuple[Any, ...]:
    """``vals`` with a copy of each plain array passed in as a constant (and of those in an index tuple).

    The rules read a row's arguments in the reverse pass, after the rest of f has run: the user's code
    may have changed such an array in place by then (``y = sin(x) * s; s[:] = 5`` gave 5x the gradient).
    numpy has no version counter to detect that with (torch refuses such a change); a copy costs less
    than a checksum taken twice, and gives the right gradient instead of an error. Values of the trace
    are not copied: the user's code holds them only through traced values, which cannot be written to.
    """
    out = list(vals)
    for i, v in enumerate(vals):
        if i in argnums:
            continue
        if isinstance(v, np.ndarray):
            out[i] = copy(v)
        elif v.__class__ is tuple and any(isinstance(e, np.ndarray) for e in v):
            out[i] = tuple(copy(e) if isinstance(e, np.ndarray) else e for e in v)
    return tuple(out)


def pull_back(node: RNode, i: int, g: Any) -> tuple[Any, Any]:
    """Reverse mode's one rule for an edge: the contribution of ``node``'s adjoint ``g`` to its argument ``i``,
    and the local partial it was made with (None for a primitive with a written-out VJP)."""
    prim, args, kw = node.prim, node.args, node.kw or {}
    if prim.partials is None:
        return prim.vjp(g, node.value, i, *args, **kw), None
    d = prim.partials[i](node.value, *args, **kw)
    c = times(g, d)
    return (c if c.__class__ is float else unbroadcast(c, args[i])), d


def backward(tape: Sequence[RNode], output: RNode, cotangent: Any) -> None:
    """Accumulate adjoints into ``node.grad`` for every row of ``tape`` that ``output`` depends on.

    One pass over the tape in reverse creation order (iterative: a tape of millions of rows needs no
    recursion). An interior row's adjoint is let go of once passed on; the inputs keep theirs, each an
    array of its own (an adjoint may be a view of the cotangent or of another adjoint).
    """
    output.grad = cotangent
    for node in reversed(tape):
        g = node.grad
        if g is None:
            continue
        if node.prim is None:  # an input of the trace
            if isinstance(g, np.ndarray):
                node.grad = g.copy()
            continue
        node.grad = None
        for parent, i in zip(node.parents, node.argnums):
            c, _ = pull_back(node, i, g)
            parent.grad = c if parent.grad is None else parent.grad + c
