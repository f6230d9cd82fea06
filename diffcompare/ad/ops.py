"""The op list that :mod:`diffcompare.ad.simplify` rewrites and :mod:`diffcompare.ad.codegen` writes out: a staged
row as a mutable ``Op`` (which argument's buffer it may write into, whether it accumulates in place), and the walks
over it (the Vars an argument or output holds; the ops an output needs).
"""

from __future__ import annotations

from typing import Any

from diffcompare.ad.staging import Var
from diffcompare.ad.tracer import Primitive


class Op:
    """A row after simplification; ``inplace``: the argument whose buffer receives the result (out=),
    ``accumulate``: (target, g, index) for ``target[index] += g``."""

    __slots__ = ("accumulate", "args", "inplace", "kw", "name", "out", "prim", "vars")

    def __init__(self, out: Var, prim: Primitive, args: list[Any], kw: dict[str, Any],
                 vars: list[Var] | None = None) -> None:
        self.out = out
        self.prim = prim
        self.name = prim.name
        self.args = args
        self.kw = kw
        self.inplace: Var | None = None
        self.accumulate: tuple[Var, Any, Any] | None = None
        self.vars = walk(args) if vars is None else vars  # the Vars among args (given: args hold no tuple)

    def set(self, prim: Primitive, args: list[Any]) -> None:
        """The op rewritten as ``prim(*args)`` (no keywords)."""
        self.prim, self.name, self.args, self.kw, self.vars = prim, prim.name, args, {}, walk(args)




def walk(o: Any) -> list[Var]:
    """The Vars in an argument list or an output structure (nested tuples and lists)."""
    if o.__class__ is Var:
        return [o]
    if o.__class__ is tuple or o.__class__ is list:
        out = []
        for e in o:
            c = e.__class__
            if c is Var:
                out.append(e)
            elif c is tuple or c is list:
                out.extend(walk(e))
        return out
    return []






def needed(ops: list[Op], output: Any) -> list[Op]:
    """The ops some output needs."""
    live = {v.index for v in walk(output)}
    kept = []
    for op in reversed(ops):
        if op.out.index in live:
            kept.append(op)
            for v in op.vars:
                live.add(v.index)
    kept.reverse()
    return kept

