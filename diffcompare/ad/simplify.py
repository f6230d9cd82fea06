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

from diffcompare.ad.buffers import reuse_buffers
from diffcompare.ad.ops import Op, needed, walk
from diffcompare.ad.rules import RULES
from diffcompare.ad.staging import Program, Row, Var
from diffcompare.ad.tracer import Primitive

_F64 = np.dtype(np.float64)

_BINARY = {"add", "sub", "mul", "div"}


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
    arrays = folded = False
    get = subst.get
    for row in _live_rows(program.rows, program.output):
        # a substitute is an op's result that stays: one look-up resolves an argument
        args = [get(a.index, a) if a.__class__ is Var else a for a in row.args]
        prim, kw, out = row.prim, row.kw, row.out
        if len(args) == 2 and not kw:
            prim, args, sub_made = _rewrite_pair(prim, args, out, negated)
            if prim is None:  # x * 1.0: x itself
                subst[out.index] = args[0]
                continue
            if sub_made:
                folded = True
        key, flat = _cse_key(prim.name, args, kw)
        hit = seen.get(key)
        if hit is not None:
            subst[out.index] = hit
            continue
        seen[key] = out
        if prim.name == "neg" and not kw and args[0].__class__ is Var:
            negated[out.index] = args[0]
        if not arrays and not out.is_float and out.shape != ():
            arrays = True
        ops.append(Op(out, prim, args, kw, flat))
    output = _resolve_out(program.output, subst)
    if folded:  # a negation only an addition read is dead now
        ops = needed(ops, output)
    if arrays:
        ops = _fold_scales(_skip_broadcasts(ops, output), output)
        ops = reuse_buffers(ops, output, {v.index for v in program.inputs})
    return ops, output


def _rewrite_pair(prim: Primitive, args: list[Any], out: Var,
                  negated: dict[int, Var]) -> tuple[Primitive | None, list[Any], bool]:
    """A binary row's cheaper equal form: ``(prim, args, a_sub_made)``; prim None for ``x * 1.0`` (args[0] is x).
    A ``times`` with a finite nonzero constant is a plain product; ``x * -1.0`` is ``-x``; ``a + (-b)`` is
    ``a - b`` (the same rounding: IEEE negation is exact); a constant array of one value is that value."""
    name = prim.name
    a0, a1 = args
    if (a0.__class__ is np.ndarray or a1.__class__ is np.ndarray) and (name == "times" or name in _BINARY):
        args = [_uniform_scalar(a0, a1, out), _uniform_scalar(a1, a0, out)]
    if name == "times" and ((args[0].__class__ is not Var and _finite_nonzero(args[0]))
                            or (args[1].__class__ is not Var and _finite_nonzero(args[1]))):
        prim, name = RULES["mul"].prim, "mul"  # no 0 * inf possible: a plain product
    if name == "mul":
        unit = _unit_factor(out, args)
        if unit.__class__ is Var:
            return None, [unit], False
        if unit is not None:  # x * -1.0: -x
            return RULES["neg"].prim, [unit[1]], False
    elif name == "add":
        if a1.__class__ is Var and a1.index in negated:
            return RULES["sub"].prim, [a0, negated[a1.index]], True
        if a0.__class__ is Var and a0.index in negated:
            return RULES["sub"].prim, [a1, negated[a0.index]], True
    return prim, args, False


def _cse_key(name: str, args: list[Any], kw: dict[str, Any]) -> tuple[tuple[Any, ...], list[Var] | None]:
    """The key under which equal rows meet (the op's name, its Vars by index, its constants by value), and the
    Vars among args (None where an argument is a tuple or list: Op then walks them)."""
    parts: list[Any] = [name]
    flat: list[Var] | None = []
    for a in args:
        if a.__class__ is Var:
            parts.append(a.index)
            if flat is not None:  # a tuple argument came first: Op walks them all
                flat.append(a)
        else:
            parts.append(_const_key(a))
            if a.__class__ is tuple or a.__class__ is list:
                flat = None
    parts.append(tuple([(k, _const_key(v)) for k, v in kw.items()]) if kw else ())
    return tuple(parts), flat


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
    return needed(ops, output) if changed else ops


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
        if op.name == "neg":
            changed = _negated_scale(op, producer, uses, mul) or changed
        elif op.name == "mul" and len(op.args) == 2:
            changed = _scale_of_power_of_two(op, producer, uses, mul) or changed
        if op.name in ("mul", "times") and len(op.args) == 2:  # also a product the lines above just made
            changed = _negation_into_scale(op, producer, uses, mul) or changed
    return needed(ops, output) if changed else ops


def _negated_scale(op: Op, producer: dict[int, Op], uses: dict[int, int], mul: Primitive) -> bool:
    """``-(c * x)`` -> ``(-c) * x``."""
    y = op.args[0]
    if y.__class__ is not Var:
        return False
    sc = _scaled(producer.get(y.index), y, uses)
    if sc is None:
        return False
    c, x, first = sc
    op.set(mul, [-c, x] if first else [x, -c])
    return True


def _scale_of_power_of_two(op: Op, producer: dict[int, Op], uses: dict[int, int], mul: Primitive) -> bool:
    """``c * (p * x)`` -> ``(c p) * x`` for p a power of two, |p| >= 1 and |c| >= 1."""
    for i in (0, 1):
        c, y = op.args[i], op.args[1 - i]
        if c.__class__ is float and abs(c) >= 1.0 and y.__class__ is Var:
            sc = _scaled(producer.get(y.index), y, uses)
            if sc is not None and _power_of_two(sc[0]) and abs(sc[0]) >= 1.0 and math.isfinite(c * sc[0]):
                op.set(mul, [c * sc[0], sc[1]])
                return True
    return False


def _negation_into_scale(op: Op, producer: dict[int, Op], uses: dict[int, int], mul: Primitive) -> bool:
    """``(-z) * (c * x)`` -> ``z * ((-c) * x)``: the negation moves into the constant."""
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
            pb.set(mul, [-c, x] if first else [x, -c])  # type: ignore[union-attr]  # sc: pb is a product
            z = pa.args[0]
            op.set(op.prim, [z, b] if i == 0 else [b, z])
            uses[a.index] -= 1
            uses[z.index] = uses.get(z.index, 0) + 1
            return True
    return False


def _resolve_out(o: Any, subst: dict[int, Var]) -> Any:
    if isinstance(o, (tuple, list)):
        return type(o)(_resolve_out(e, subst) for e in o)
    while o.__class__ is Var and o.index in subst:
        o = subst[o.index]
    return o


