"""Plain Python source from a staged program: one line per operation, in the evaluation trace's names.

Floats are computed with ``math`` and Python's operators, arrays with numpy calls: the same functions the
eager engine calls, so the generated code gives the eager values bit for bit. Rows whose value no output
needs are left out; ``x * 1.0`` (the cotangent 1 of a gradient) is not written. The source is ours, made
from the rules table, never from user text: compiling it is safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.ad import kinks
from diffcompare.ad.rules import RULES
from diffcompare.ad.staging import Program, Row, Var
from diffcompare.ad.tracer import Primitive

_F64 = np.dtype(np.float64)

_OPERATORS = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}", "neg": "-{0}",
              "matmul": "{0} @ {1}", "greater": "{0} > {1}", "greater_equal": "{0} >= {1}", "less": "{0} < {1}",
              "less_equal": "{0} <= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
              "where": "np.where({0}, {1}, {2})"}
_MATH_NAMES = {"sin", "cos", "tan", "exp", "log", "log1p", "expm1", "tanh", "sinh", "cosh", "asin", "acos",
               "atan", "asinh", "sqrt"}


def py_name(trace_name: str) -> str:
    """``v_-1`` -> ``v_m1``: the evaluation trace's name as a Python identifier."""
    return trace_name.replace("-", "m")


def trace_names(n_inputs: int, n_rows: int, prefix: str = "v") -> list[str]:
    """The slides' numbering: inputs v_{1-n}..v_0, then v_1..v_l."""
    return [f"{prefix}_{i}" for i in range(1 - n_inputs, n_rows + 1)]


class NameClash(ValueError):
    """A reassigned name (a partial sum vbar_j) would be read after its reassignment: name the Vars apart."""


@dataclass
class Generated:
    """Generated source, the globals it runs with (numpy, math, constants, implementations), and the map
    from Python names to the trace's names."""

    source: str
    globals: dict[str, Any]
    names: dict[str, str]
    lines: int
    exact: Callable[[], str] | None = None  # the source with every product checked (see generate), if it differs

    @property
    def exact_source(self) -> str:
        """The program with every product checked for 0 * inf where it is made (the source when that is all)."""
        return self.source if self.exact is None else self.exact()

    def compile(self, name: str = "staged") -> Callable[..., Any]:
        scope = dict(self.globals)
        if self.exact is not None:
            def exact(*args: Any) -> Any:  # compiled at its first call: most programs never meet a nan
                fn = _compiled(self.exact(), f"{name}_exact", dict(self.globals))
                scope["_exact"] = fn
                return fn(*args)

            scope["_exact"] = exact
        return _compiled(self.source, name, scope)


def _compiled(source: str, name: str, scope: dict[str, Any]) -> Callable[..., Any]:
    code = compile(source, f"<diffcompare.jit {name}>", "exec")
    exec(code, scope)  # our own generated source (see the module docstring), never user text
    return scope[name]


class _Emitter:
    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"np": np, "math": math}
        self.consts = 0

    def constant(self, value: Any) -> str:
        """A literal where Python writes one exactly; otherwise a named global."""
        if value is None or value.__class__ in (bool, int, str):
            return repr(value)
        if value.__class__ is float and math.isfinite(value):
            return repr(value)
        if value.__class__ is tuple and all(e is None or e.__class__ in (bool, int) for e in value):
            return repr(value)
        if value.__class__ is slice and all(e is None or e.__class__ is int for e in (value.start, value.stop,
                                                                                         value.step)):
            return repr(value)
        if value.__class__ is tuple:
            return "(" + "".join(self.constant(e) + ", " for e in value) + ")"
        self.consts += 1
        name = f"c_{self.consts}"
        self.globals[name] = value
        return name

    def function(self, prim_name: str, impl: Callable[..., Any]) -> str:
        name = f"_{prim_name}"
        self.globals[name] = impl
        return name


def _unit_factor(out: Var, a: Sequence[Any]) -> Any:
    """For ``out = x * 1.0``: x (the same value, not written); for ``x * -1.0``: ("neg", x); else None."""
    if len(a) != 2:
        return None
    for x, k in ((a[0], a[1]), (a[1], a[0])):
        if k.__class__ is float and (k == 1.0 or k == -1.0) and x.__class__ is Var and x.shape == out.shape \
                and x.dtype == out.dtype and x.is_float == out.is_float:
            return x if k == 1.0 else ("neg", x)
    return None


def _index_text(idx: Any, em: _Emitter) -> str | None:
    """``1:``, ``:-1``, ``2, ::3``: basic indices as Python writes them; None for anything else."""
    items = idx if isinstance(idx, tuple) else (idx,)
    parts = []
    for i in items:
        if i.__class__ is int:
            parts.append(repr(i))
        elif i is None:
            parts.append("None")
        elif i is Ellipsis:
            parts.append("...")
        elif i.__class__ is slice and all(e is None or e.__class__ is int for e in (i.start, i.stop, i.step)):
            text = ("" if i.start is None else repr(i.start)) + ":" + ("" if i.stop is None else repr(i.stop))
            parts.append(text + ("" if i.step is None else f":{i.step}"))
        else:
            return None
    if isinstance(idx, tuple) and len(parts) == 1:
        return parts[0] + ","
    return ", ".join(parts) if parts else "()"


def _expression(row: Row, ref: Callable[[Any], str], em: _Emitter) -> str:
    """The right-hand side of one row."""
    name, args, kw = row.prim.name, row.args, row.kw
    texts = [ref(a) for a in args]
    floats = row.out.is_float and all((a.__class__ is Var and a.is_float) or a.__class__ in (float, int)
                                      for a in args)
    if name == "pow" and not isinstance(args[1], Var) and args[1].__class__ in (int, float):
        if args[1] == 2 and not floats and isinstance(args[0], Var) and not args[0].is_float:
            return f"{texts[0]} * {texts[0]}"  # as the eager implementation: x * x
        if floats and float(args[1]).is_integer():
            return f"{texts[0]} ** {texts[1]}"  # a float to an integer power is a float (0 ** -1 raises)
    if name == "getitem" and isinstance(args[0], Var) and not isinstance(args[1], Var):
        idx = _index_text(args[1], em)
        if idx is not None:
            return f"{texts[0]}[{idx}]"
    if name == "as_input" and row.out.is_float:  # a transform's argument made a float, as eagerly
        return f"float({texts[0]})"
    if name == "reciprocal" and floats:
        return f"1.0 / {texts[0]}"
    if name == "abs" and floats:
        return f"abs({texts[0]})"
    if name in _OPERATORS and not kw:
        return _OPERATORS[name].format(*texts)
    prim = row.prim
    if floats and prim.math is not None and getattr(prim.math, "__name__", "") in _MATH_NAMES:
        return f"math.{prim.math.__name__}({texts[0]})"
    rule = RULES.get(name)
    if not floats and prim.partials is not None and rule is not None and rule.ufuncs and not kw:
        return f"np.{rule.ufuncs[0].__name__}({', '.join(texts)})"
    if getattr(np, name, None) is prim.impl:  # a staged comparison or another numpy function without a rule
        extra = "".join(f", {k}={em.constant(v)}" for k, v in kw.items())
        return f"np.{name}({', '.join(texts)}{extra})"
    if name == "sum":
        # defaults left out; `v in (None, False)` left out axis=0 too (0 == False): a total instead of column sums
        extra = "".join(f", {k}={em.constant(v)}" for k, v in kw.items() if v is not None and v is not False)
        return f"np.sum({texts[0]}{extra})"
    fn = em.function(name, prim.impl)
    extra = "".join(f", {k}={em.constant(v)}" for k, v in kw.items())
    return f"{fn}({', '.join(texts)}{extra})"


# ---- simplification: the rows a program needs, written once each ------------------------------------------
_UFUNC_OF = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "neg": np.negative}
_BINARY = {"add", "sub", "mul", "div"}
# ops that read their array arguments without keeping a view of them (their argument may then be overwritten)
_NO_VIEW = {"add", "sub", "mul", "times", "div", "neg", "pow", "sum", "matmul", "dot", "scatter_add", "where",
            "greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}
# ops whose result is nan wherever an argument element it depends on is nan (or that drop the element): a nan
# made by a product 0 * inf reaches the output through them, so one check of the output sees it (see generate)
_NAN_KEEPING = {"add", "sub", "mul", "times", "div", "pow", "neg", "sin", "cos", "tan", "exp", "log", "log1p",
                "expm1", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "sqrt", "abs", "square",
                "reciprocal", "sigmoid", "sech", "maximum", "minimum", "sum", "reshape", "transpose",
                "broadcast_to", "getitem", "scatter_add", "concatenate", "stack", "where", "max", "min", "prod",
                "matmul", "dot"}
# in a program of more than RECYCLE_FROM operations, a value that lives SHORT_LIVED operations or fewer (and is
# not an input or output) takes a recycled name w_k: its float is freed as soon as it is dead, not at the return
# (the logistic map's 1000-step gradient runs in 0.55x the time); shorter programs keep every trace name
RECYCLE_FROM = 200
SHORT_LIVED = 16


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
            out.extend(_walk(a))
    return out


def _walk(o: Any) -> list[Var]:
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
                out.extend(_walk(e))
        return out
    return []


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
    live = {v.index for v in _walk(output)}
    kept = []
    for row in reversed(rows):
        if row.out.index in live:
            kept.append(row)
            for a in row.args:
                if a.__class__ is Var:
                    live.add(a.index)
                elif a.__class__ is tuple or a.__class__ is list:
                    live.update(v.index for v in _walk(a))
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
    for v in _walk(output):
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
    live = {v.index for v in _walk(output)}
    kept = []
    for op in reversed(ops):
        if op.out.index in live:
            kept.append(op)
            for v in op.vars:
                live.add(v.index)
    kept.reverse()
    return kept


def _elementwise_ufunc(op: Op) -> Any:
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
    for v in _walk(output):
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
                        and isinstance(p.args[1], (slice, int, tuple)) and _index_is_basic(p.args[1]) \
                        and b.index not in viewed and p.args[0].__class__ is not complex:
                    op.accumulate = (a, p.args[0], p.args[1])  # the scatter is dropped below
                    break
        if op.accumulate is None and array and (_elementwise_ufunc(op) is not None or op.name == "times"):
            op.inplace = next((a for a in op.args if dead(a)), None)  # times: the unchecked program's product
        if array and (op.name in _UFUNC_OF or op.name in ("scatter_add", "pow", "where", "times")
                      or _elementwise_ufunc(op) is not None or op.name == "matmul"):
            fresh.add(out.index)
    return _drop_folded_scatters(ops, output)


def _index_is_basic(idx: Any) -> bool:
    from diffcompare.ad.rules import is_basic_index

    return is_basic_index(idx)


def _drop_folded_scatters(ops: list[Op], output: Any) -> list[Op]:
    if all(op.accumulate is None for op in ops):
        return ops
    live = {v.index for v in _walk(output)}
    kept = []
    for op in reversed(ops):
        if op.out.index not in live:
            continue
        kept.append(op)
        if op.accumulate is not None:
            target, g, _ = op.accumulate
            live.update(v.index for v in _walk([target, g]))
        else:
            live.update(v.index for v in op.vars)
    return kept[::-1]


def _makes_fresh(op: Op) -> bool:
    """The op's result is a new array of its own (not a view of an argument, not a constant of the program)."""
    name = op.name
    return (op.accumulate is not None or name in _NO_VIEW or name in _UFUNC_OF or _elementwise_ufunc(op) is not None
            or name in ("scatter_add", "times"))


def _copy(x: Any) -> Any:
    return x.copy() if x.__class__ is np.ndarray else x


def _fresh_output(o: Any, text: str, producer: dict[int, Op], same: dict[int, Var], em: _Emitter) -> str:
    """An output as a new array at every call, as eagerly: never an input, a view of one, or the program's own
    constant (a caller writing into a result changed the next call's, and a pullback returned its cotangent)."""
    if isinstance(o, Var):
        while o.index in same:
            o = same[o.index]
        op = producer.get(o.index)
        if o.is_float or (op is not None and _makes_fresh(op)):
            return text
        if o.shape != ():
            return f"{text}.copy()"
    else:
        return f"{text}.copy()" if o.__class__ is np.ndarray else text  # else a number: immutable
    em.globals["_copy"] = _copy  # a 0-d result may be an array or a numpy scalar
    return f"_copy({text})"


# ---- names and the convention at kinks ------------------------------------------------------------------
def _read(op: Op) -> list[Var]:
    """The Vars an op reads (an accumulation reads its target and its addend)."""
    return _walk([op.accumulate[0], op.accumulate[1]]) if op.accumulate is not None else op.vars


def _allocate(ops: list[Op], output: Any, inputs: list[Var], names: dict[int, str] | None,
              same: dict[int, Var]) -> dict[int, str]:
    """Python names of the Vars: inputs, outputs and long-lived values their trace name (``v_i``, or the caller's
    ``names``); a short-lived value (SHORT_LIVED) a name ``w_k`` recycled once the value is dead, so that
    Python frees it at once (a name held to the return keeps every float of a long program alive)."""
    end = len(ops)
    last: dict[int, int] = {}
    if same:
        def root(v: Var) -> int:
            while v.index in same:
                v = same[v.index]
            return v.index

        for k, op in enumerate(ops):
            for v in _read(op):
                last[root(v)] = k
        for v in _walk(output):
            last[root(v)] = end
    else:
        for k, op in enumerate(ops):
            for v in op.vars:
                last[v.index] = k
        for v in _walk(output):
            last[v.index] = end
    for v in inputs:
        last[v.index] = end
    py: dict[int, str] = {}
    given = names is not None
    n_in = len(inputs)
    for v, n in zip(inputs, trace_names(n_in, 0) if names is None else [names[v.index] for v in inputs]):
        py[v.index] = py_name(n)
    free: list[str] = []
    count = 0
    recycle = len(ops) > RECYCLE_FROM  # a short program (what a student reads) keeps a name per value
    dies_at: dict[int, list[str]] = {}
    position = 0
    for k, op in enumerate(ops):
        if k in dies_at:
            free.extend(dies_at.pop(k))
        if op.accumulate is not None:
            continue
        position += 1
        i = op.out.index
        lives_to = last.get(i, end)
        if given and i in names:
            py[i] = py_name(names[i])
        elif recycle and lives_to < end and (given or lives_to - k <= SHORT_LIVED):
            if free:
                name = free.pop()
            else:
                count += 1
                name = f"w_{count}"
            py[i] = name
            if lives_to in dies_at:  # its last reader may take the name
                dies_at[lives_to].append(name)
            else:
                dies_at[lives_to] = [name]
        elif given:  # an unnamed output
            count += 1
            py[i] = f"w_{count}"
        else:
            py[i] = f"v_{position}"  # the slides' number of the row (the inputs are v_(1-n) .. v_0)
    return py


def _tainted_outputs(ops: list[Op], output: Any) -> list[Var] | None:
    """The outputs a ``times`` product (g * d under 0 * inf = 0) may reach; None where one reaches an op that
    may drop a nan silently (a comparison): then every product is checked where it is made."""
    tainted: set[int] = set()
    for op in ops:
        if op.name == "times" and op.accumulate is None:
            tainted.add(op.out.index)
            continue
        if not tainted:
            continue
        for v in (op.vars if op.accumulate is None else _read(op)):
            if v.index in tainted:
                if op.name not in _NAN_KEEPING:
                    return None
                tainted.add(op.out.index)
                if op.accumulate is not None:
                    tainted.add(op.accumulate[0].index)
                break
    return [v for v in _walk(output) if v.index in tainted]


def _size(v: Var) -> int:
    return math.prod(v.shape)


def _nan_test(v: Var, text: str) -> str:
    return f"{text} != {text}" if v.is_float or v.shape == () else f"_has_nan({text})"


def generate(program: Program, name: str = "staged", names: dict[int, str] | None = None) -> Generated:
    """The source of ``def name(inputs): ...; return outputs``. ``names``: Var index -> trace name (default:
    the slides' numbering of the inputs and of the rows written; short-lived values take recycled names w_k).

    The engine's convention 0 * inf = 0 (kinks.py) costs one check: products are written plain, and where the
    outputs hold a nan (perhaps a 0 * inf) the call is made again by the same program with every product
    checked (``_exact``, compiled at its first use). Where a product's nan could be dropped on its way to an
    output (a comparison reads it), every product is checked in the program itself.
    """
    ops, output = simplify(program)
    same: dict[int, Var] = {}  # an accumulation's result is its target's buffer, under the target's name
    for op in ops:
        if op.accumulate is not None:
            same[op.out.index] = op.accumulate[0]
    py = _allocate(ops, output, program.inputs, names, same)
    checked = _tainted_outputs(ops, output)
    has_times = any(op.name == "times" for op in ops)
    if checked and sum(_size(v) for v in checked) > 2 * sum(_size(op.out) for op in ops if op.name == "times"):
        checked = None  # the outputs hold more elements than the products: check the products where made
    em = _Emitter()
    params = ", ".join(py[v.index] for v in program.inputs)
    fast_body = _body(ops, py, same, em, names, checked_products=checked is None)

    producer = {op.out.index: op for op in ops}

    def out_text(o: Any) -> str:
        if isinstance(o, (tuple, list)):
            inner = ", ".join(out_text(e) for e in o)
            if isinstance(o, list):
                return f"[{inner}]"
            return f"({inner},)" if len(o) == 1 else f"({inner})"
        return _fresh_output(o, _ref(o, py, same, em), producer, same, em)

    ret = f"    return {out_text(output)}"
    tail = []
    exact: Callable[[], str] | None = None
    if has_times and checked:
        em.globals["_has_nan"] = kinks.has_nan
        tail = ["    # a nan, from 0 * inf? rerun taking 0 * inf = 0"]
        tests: list[str] = []
        for v in checked:  # one if per line of at most ~100 characters
            test = _nan_test(v, _ref(v, py, same, em))
            if tests and len(" or ".join([*tests, test])) > 88:
                tail += [f"    if {' or '.join(tests)}:", f"        return _exact({params})"]
                tests = []
            tests.append(test)
        tail += [f"    if {' or '.join(tests)}:", f"        return _exact({params})"]

        def exact() -> str:
            lines = _body(ops, py, same, em, names, checked_products=True)
            return "\n".join([f"def {name}_exact({params}):", *lines, ret]) + "\n"

    source = "\n".join([f"def {name}({params}):", *fast_body, *tail, ret]) + "\n"
    used = {}
    trace_of = {py_name(n): n for n in names.values()} if names is not None else {}
    for text in py.values():
        used[text] = trace_of.get(text, text.replace("_m", "_-", 1) if text.startswith("v_m") else text)
    return Generated(source, em.globals, used, len(fast_body), exact)


def _ref(a: Any, py: dict[int, str], same: dict[int, Var], em: _Emitter) -> str:
    if a.__class__ is Var:
        while a.index in same:
            a = same[a.index]
        return py[a.index]
    return em.constant(a)


def _body(ops: list[Op], py: dict[int, str], same: dict[int, Var], em: _Emitter, names: dict[int, str] | None,
          checked_products: bool) -> list[str]:
    """One line per op (a checked product: three)."""
    def ref(a: Any) -> str:
        if a.__class__ is Var:
            while a.index in same:
                a = same[a.index]
            return py[a.index]
        return em.constant(a)

    constant = em.constant
    operators = _OPERATORS

    holder: dict[str, int] = {}  # which Var each Python name holds now (a caller's name may be reassigned: vbar_j)

    def check(read: list[Var]) -> None:
        for v in read:
            while v.index in same:
                v = same[v.index]
            if holder.get(py[v.index], v.index) != v.index:
                raise NameClash(names[v.index] if names is not None and v.index in names else py[v.index])

    body = []
    for op in ops:
        if names is not None:  # recycled names never clash; a caller's reassigned ones might
            check(_read(op))
        if op.accumulate is not None:
            target, g, idx = op.accumulate
            body.append(f"    {ref(target)}[{_index_text(idx, em) or em.constant(idx)}] += {ref(g)}")
            continue
        out = py[op.out.index]
        if names is not None:
            holder[out] = op.out.index
        if op.inplace is not None and not (op.name == "times" and checked_products):
            uf = np.multiply if op.name == "times" else _elementwise_ufunc(op)
            body.append(f"    {out} = np.{uf.__name__}({', '.join(ref(a) for a in op.args)}, out={ref(op.inplace)})")
        elif op.name == "times":  # a product under the convention 0 * inf = 0 (kinks.py)
            a, b = ref(op.args[0]), ref(op.args[1])
            if checked_products:
                em.globals["_zero_times_inf"], em.globals["_has_nan"] = kinks.zero_times_inf, kinks.has_nan
                body.append(f"    {out} = {a} * {b}\n    if {_nan_test(op.out, out)}:\n"
                            f"        {out} = _zero_times_inf({out}, {a}, {b})")
            else:
                body.append(f"    {out} = {a} * {b}")
        elif op.name in operators and not op.kw and not same:  # _expression's text for them, without its other cases
            texts = [py[a.index] if a.__class__ is Var else constant(a) for a in op.args]
            body.append(f"    {out} = {operators[op.name].format(*texts)}")
        else:
            body.append(f"    {out} = {_expression(Row(op.out, op.prim, tuple(op.args), op.kw), ref, em)}")
    return body
