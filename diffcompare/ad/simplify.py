"""The rewrites on a staged program before any source is written: the rows a program needs, written once each.

Dead rows dropped, common subexpressions merged, ``x * 1.0`` (the cotangent 1 of a gradient) removed,
``a + (-b)`` written ``a - b``, constant factors folded where the rounding is the same, and the choice of which
results may be written into a dead argument's buffer (``out=``) or accumulated in place (``A[idx] += g``).
Every rewrite keeps the eager engine's values bit for bit; :mod:`diffcompare.ad.codegen` writes the result out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.ad.rules import RULES, is_basic_index
from diffcompare.ad.staging import Program, Row, Var
from diffcompare.ad.tracer import Primitive

_F64 = np.dtype(np.float64)

_UFUNC_OF = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "neg": np.negative}
_BINARY = {"add", "sub", "mul", "div"}
# ops that read their array arguments without keeping a view of them (their argument may then be overwritten)
_NO_VIEW = {"add", "sub", "mul", "times", "div", "neg", "pow", "sum", "matmul", "dot", "scatter_add", "where",
            "greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}
# ops whose result is nan wherever an argument element it depends on is nan (or that drop the element): a nan


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
        self.vars = _vars_of(args) if vars is None else vars  # the Vars among args (given: args hold no tuple)

    def set(self, prim: Primitive, args: list[Any]) -> None:
        """The op rewritten as ``prim(*args)`` (no keywords)."""
        self.prim, self.name, self.args, self.kw, self.vars = prim, prim.name, args, {}, _vars_of(args)




def _vars_of(args: list[Any]) -> list[Var]:
    out = []
    for a in args:
        c = a.__class__
        if c is Var:
            out.append(a)
        elif c is tuple or c is list:
            out.extend(walk(a))
    return out


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




def _unit_factor(out: Var, a: Sequence[Any]) -> Any:
    """For ``out = x * 1.0``: x (the same value, not written); for ``x * -1.0``: ("neg", x); else None."""
    if len(a) != 2:
        return None
    for x, k in ((a[0], a[1]), (a[1], a[0])):
        if k.__class__ is float and (k == 1.0 or k == -1.0) and x.__class__ is Var and x.shape == out.shape \
                and x.dtype == out.dtype and x.is_float == out.is_float:
            return x if k == 1.0 else ("neg", x)
    return None

def _const_key(a: Any) -> Any:
    c = a.__class__
    if c is Var:
        return ("v", a.index)
    if c is float and a:  # equal nonzero floats are the same number (0.0 and -0.0 are not: repr tells them apart)
        return (c, a)
    if a is None or c in (bool, int, float, str, slice):
        return (c, repr(a))
    if c is tuple:
        return ("t", tuple(_const_key(e) for e in a))
    return ("id", id(a))


def _finite_nonzero(a: Any) -> bool:
    """A constant factor that cannot meet 0 * inf in a product."""
    if a.__class__ in (float, int):
        return a != 0 and math.isfinite(a)
    if a.__class__ is np.ndarray and a.dtype.kind in "fiu" and a.size:
        return bool(np.all(np.isfinite(a)) and np.all(a != 0))
    return False


def _uniform_scalar(c: Any, other: Any, out: Var) -> Any:
    """A constant array whose elements are all one float, where the other operand alone has the result's shape:
    that float (the engine broadcasts 1 and 100 into whole arrays of ones and hundreds)."""
    if c.__class__ is not np.ndarray or c.size == 0 or c.dtype != np.float64 or other.__class__ is not Var:
        return c
    if other.shape != out.shape or np.broadcast_shapes(c.shape, other.shape) != out.shape:
        return c
    first = float(c.flat[0])
    if all(st == 0 for st in c.strides) or bool(np.all(c == first)):
        return first
    return c


def _live_rows(rows: Sequence[Row], output: Any) -> list[Row]:
    """The rows some output needs, in order (the others would take names in CSE)."""
    live = {v.index for v in walk(output)}
    kept = []
    for row in reversed(rows):
        if row.out.index in live:
            kept.append(row)
            for a in row.args:
                if a.__class__ is Var:
                    live.add(a.index)
                elif a.__class__ is tuple or a.__class__ is list:
                    live.update(v.index for v in walk(a))
    kept.reverse()
    return kept


def simplify(program: Program) -> tuple[list[Op], Any]:
    """Dead rows dropped, common subexpressions merged, ``x * 1.0`` removed, ``a + (-b)`` written ``a - b``,
    constant arrays of one value written as that value; then buffers reused where provably dead."""
    subst: dict[int, Var] = {}
    seen: dict[Any, Var] = {}
    negated: dict[int, Var] = {}  # neg ops: the Var each negates
    ops: list[Op] = []
    mul_prim, neg_prim, sub_prim = RULES["mul"].prim, RULES["neg"].prim, RULES["sub"].prim
    arrays = folded = False
    ndarray = np.ndarray
    get = subst.get
    for row in _live_rows(program.rows, program.output):
        # a substitute is an op's result that stays: one look-up resolves an argument
        args = [get(a.index, a) if a.__class__ is Var else a for a in row.args]
        prim, kw, out = row.prim, row.kw, row.out
        name = prim.name
        if len(args) == 2 and not kw:
            a0, a1 = args
            if (a0.__class__ is ndarray or a1.__class__ is ndarray) and (name == "times" or name in _BINARY):
                args = [_uniform_scalar(a0, a1, out), _uniform_scalar(a1, a0, out)]
            if name == "times" and ((args[0].__class__ is not Var and _finite_nonzero(args[0]))
                                    or (args[1].__class__ is not Var and _finite_nonzero(args[1]))):
                prim, name = mul_prim, "mul"  # no 0 * inf possible: a plain product
            if name == "mul":
                unit = _unit_factor(out, args)
                if unit.__class__ is Var:
                    subst[out.index] = unit
                    continue
                if unit is not None:  # x * -1.0: -x
                    prim, name, args = neg_prim, "neg", [unit[1]]
            elif name == "add":  # a + (-b): a - b, the same rounding (IEEE negation is exact)
                if a1.__class__ is Var and a1.index in negated:
                    prim, name, args, folded = sub_prim, "sub", [a0, negated[a1.index]], True
                elif a0.__class__ is Var and a0.index in negated:
                    prim, name, args, folded = sub_prim, "sub", [a1, negated[a0.index]], True
        parts, flat = [name], []
        for a in args:
            if a.__class__ is Var:
                parts.append(a.index)
                flat.append(a)
            else:
                parts.append(_const_key(a))
                if a.__class__ is tuple or a.__class__ is list:
                    flat = None
        parts.append(tuple([(k, _const_key(v)) for k, v in kw.items()]) if kw else ())
        key = tuple(parts)
        hit = seen.get(key)
        if hit is not None:
            subst[out.index] = hit
            continue
        seen[key] = out
        if name == "neg" and not kw and args[0].__class__ is Var:
            negated[out.index] = args[0]
        if not arrays and not out.is_float and out.shape != ():
            arrays = True
        ops.append(Op(out, prim, args, kw, flat))
    output = _resolve_out(program.output, subst)
    if folded:  # a negation only an addition read is dead now
        ops = _needed(ops, output)
    if arrays:
        ops = _fold_scales(_skip_broadcasts(ops, output), output)
        ops = _reuse_buffers(ops, output, {v.index for v in program.inputs})
    return ops, output


def _skip_broadcasts(ops: list[Op], output: Any) -> list[Op]:
    """``broadcast_to(s, shape)`` read by an elementwise operation whose other operand has the result's shape: s
    itself (numpy broadcasts it in the operation, with the same values, and no array of the full shape is made)."""
    made = {op.out.index: op for op in ops if op.name == "broadcast_to" and op.args and op.args[0].__class__ is Var}
    if not made:
        return ops
    changed = False
    for op in ops:
        if op.kw or len(op.args) != 2 or not (op.name in _BINARY or op.name == "times"):
            continue
        for i in (0, 1):
            a, b = op.args[i], op.args[1 - i]
            p = made.get(a.index) if a.__class__ is Var else None
            if p is None or b.__class__ is not Var or b.shape != op.out.shape or b.dtype != op.out.dtype:
                continue
            src = p.args[0]
            if src.dtype == a.dtype and np.broadcast_shapes(src.shape, b.shape) == op.out.shape:
                op.set(op.prim, [src, b] if i == 0 else [b, src])
                changed = True
                break
    return _needed(ops, output) if changed else ops


def _scaled(p: Op | None, y: Any, uses: dict[int, int]) -> tuple[float, Var, bool] | None:
    """``(c, x, c_first)`` where ``y = c * x`` (or ``x * c``) is made by op ``p`` with a finite nonzero float c,
    and read once: a product whose constant may be changed."""
    if p is None or p.name != "mul" or p.kw or len(p.args) != 2 or uses.get(y.index) != 1:
        return None
    a, b = p.args
    for c, x, first in ((a, b, True), (b, a, False)):
        if c.__class__ is float and c != 0.0 and math.isfinite(c) and x.__class__ is Var \
                and x.shape == y.shape and x.dtype == y.dtype == _F64:
            return c, x, first
    return None


def _power_of_two(c: float) -> bool:
    return math.frexp(c)[0] in (0.5, -0.5)


def _fold_scales(ops: list[Op], output: Any) -> list[Op]:
    """Constant factors folded where the rounding is the same, saving a pass over an array each:
    ``-(c * x)`` -> ``(-c) * x``; ``(-z) * (c * x)`` -> ``z * ((-c) * x)`` (negation is exact);
    ``c * (p * x)`` -> ``(c p) * x`` for p a power of two, |p| >= 1 and |c| >= 1 (p * x is exact, and where it
    overflows, so does c p x). Only products read once are changed."""
    uses: dict[int, int] = {}
    producer: dict[int, Op] = {}
    for v in walk(output):
        uses[v.index] = uses.get(v.index, 0) + 1
    for op in ops:
        for v in op.vars:
            uses[v.index] = uses.get(v.index, 0) + 1
        producer[op.out.index] = op
    mul = RULES["mul"].prim
    changed = False
    for op in ops:
        if op.kw or op.out.dtype != _F64:
            continue
        args = op.args
        if op.name == "neg" and args[0].__class__ is Var:
            sc = _scaled(producer.get(args[0].index), args[0], uses)
            if sc is not None:
                c, x, first = sc
                op.set(mul, [-c, x] if first else [x, -c])
                changed = True
        elif op.name == "mul" and len(args) == 2:
            for i in (0, 1):
                c, y = args[i], args[1 - i]
                if c.__class__ is float and abs(c) >= 1.0 and y.__class__ is Var:
                    sc = _scaled(producer.get(y.index), y, uses)
                    if sc is not None and _power_of_two(sc[0]) and abs(sc[0]) >= 1.0 and math.isfinite(c * sc[0]):
                        op.set(mul, [c * sc[0], sc[1]])
                        changed = True
                        break
        if op.name in ("mul", "times") and len(op.args) == 2:
            for i in (0, 1):
                a, b = op.args[i], op.args[1 - i]
                pa = producer.get(a.index) if a.__class__ is Var else None
                if pa is None or pa.name != "neg" or pa.kw or pa.args[0].__class__ is not Var \
                        or pa.args[0].shape != a.shape or b.__class__ is not Var:
                    continue
                pb = producer.get(b.index)
                sc = _scaled(pb, b, uses)
                if sc is not None:
                    c, x, first = sc
                    pb.set(mul, [-c, x] if first else [x, -c])
                    z = pa.args[0]
                    op.set(op.prim, [z, b] if i == 0 else [b, z])
                    uses[a.index] -= 1
                    uses[z.index] = uses.get(z.index, 0) + 1
                    changed = True
                    break
    return _needed(ops, output) if changed else ops


def _resolve_out(o: Any, subst: dict[int, Var]) -> Any:
    if isinstance(o, (tuple, list)):
        return type(o)(_resolve_out(e, subst) for e in o)
    while o.__class__ is Var and o.index in subst:
        o = subst[o.index]
    return o


def _needed(ops: list[Op], output: Any) -> list[Op]:
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


def elementwise_ufunc(op: Op) -> Any:
    name = op.name
    if op.kw:
        return None
    if name in _UFUNC_OF:
        return _UFUNC_OF[name]
    rule = RULES.get(name)
    if rule is not None and op.prim.partials is not None and rule.ufuncs and name != "pow":
        return rule.ufuncs[0]
    return None


def _reuse_buffers(ops: list[Op], output: Any, inputs: set[int]) -> list[Op]:
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
