"""Which results may be written into a dead argument's buffer (``out=``), and ``A + scatter(g, idx)`` accumulated
in place as ``A[idx] += g``: a pass over an array and an allocation saved each, where the argument is provably
dead (an array our code made, read by no view and by nothing later). The values are the same bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diffcompare.ad.ops import Op, walk
from diffcompare.ad.rules import RULES, is_basic_index
from diffcompare.ad.staging import Var

_UFUNC_OF = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "neg": np.negative}
# ops that read their array arguments without keeping a view of them (their argument may then be overwritten)
_NO_VIEW = {"add", "sub", "mul", "times", "div", "neg", "pow", "sum", "matmul", "dot", "scatter_add", "where",
            "greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}


def elementwise_ufunc(op: Op) -> Any:
    """The numpy ufunc that computes op elementwise (it then takes ``out=``); None for any other op."""
    name = op.name
    if op.kw:
        return None
    if name in _UFUNC_OF:
        return _UFUNC_OF[name]
    rule = RULES.get(name)
    if rule is not None and op.prim.partials is not None and rule.ufuncs and name != "pow":
        return rule.ufuncs[0]
    return None


def reuse_buffers(ops: list[Op], output: Any, inputs: set[int]) -> list[Op]:
    """Write a result into an argument's buffer (``out=``) where that argument is an array our code made, read by
    no view and by nothing later: provably dead. ``A + scatter(g, idx)`` becomes ``A[idx] += g`` likewise."""
    last: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in op.vars:
            last[v.index] = k
    for v in walk(output):
        last[v.index] = len(ops)
    viewed = {v.index for op in ops if op.name not in _NO_VIEW for v in op.vars}
    fresh: set[int] = set()
    producer = {op.out.index: op for op in ops}
    for k, op in enumerate(ops):
        out = op.out
        array = not out.is_float and out.shape != () and out.dtype.kind in "fc"

        def dead(a: Any, k: int = k, op: Op = op) -> bool:
            """An array our code made, of the result's shape and dtype, read by no view and by nothing after op."""
            return (isinstance(a, Var) and a.index in fresh and a.index not in viewed and a.index not in inputs
                    and last.get(a.index) == k and a.shape == op.out.shape and a.dtype == op.out.dtype
                    and sum(1 for b in op.vars if b.index == a.index) == 1)

        if array and op.name == "add" and len(op.args) == 2:
            for i in (0, 1):
                b, a = op.args[i], op.args[1 - i]
                p = producer.get(b.index) if isinstance(b, Var) else None
                if p is not None and p.name == "scatter_add" and last.get(b.index) == k and dead(a) \
                        and isinstance(p.args[1], (slice, int, tuple)) and is_basic_index(p.args[1]) \
                        and b.index not in viewed and p.args[0].__class__ is not complex:
                    op.accumulate = (a, p.args[0], p.args[1])  # the scatter is dropped below
                    break
        if op.accumulate is None and array and (elementwise_ufunc(op) is not None or op.name == "times"):
            op.inplace = next((a for a in op.args if dead(a)), None)  # times: the unchecked program's product
        if array and (op.name in _UFUNC_OF or op.name in ("scatter_add", "pow", "where", "times")
                      or elementwise_ufunc(op) is not None or op.name == "matmul"):
            fresh.add(out.index)
    return _drop_folded_scatters(ops, output)


def _drop_folded_scatters(ops: list[Op], output: Any) -> list[Op]:
    if all(op.accumulate is None for op in ops):
        return ops
    live = {v.index for v in walk(output)}
    kept = []
    for op in reversed(ops):
        if op.out.index not in live:
            continue
        kept.append(op)
        if op.accumulate is not None:
            target, g, _ = op.accumulate
            live.update(v.index for v in walk([target, g]))
        else:
            live.update(v.index for v in op.vars)
    return kept[::-1]



def makes_fresh(op: Op) -> bool:
    """The op's result is a new array of its own (not a view of an argument, not a constant of the program)."""
    name = op.name
    return (op.accumulate is not None or name in _NO_VIEW or name in _UFUNC_OF or elementwise_ufunc(op) is not None
            or name in ("scatter_add", "times"))
