"""Plain Python source from a staged program: one line per operation, in the evaluation trace's names.

Floats are computed with ``math`` and Python's operators, arrays with numpy calls: the same functions the
eager engine calls, so the generated code gives the eager values bit for bit. Rows whose value no output
needs are left out; ``x * 1.0`` (the cotangent 1 of a gradient) is not written. The source is ours, made
from the rules table, never from user text: compiling it is safe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.ad import kinks
from diffcompare.ad.rules import RULES
from diffcompare.ad.staging import Program, Row, Var

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

    def compile(self, name: str = "staged") -> Callable[..., Any]:
        code = compile(self.source, f"<diffcompare.jit {name}>", "exec")
        scope = dict(self.globals)
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
    floats = row.out.is_float and all((isinstance(a, Var) and a.is_float) or a.__class__ in (float, int)
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


@dataclass
class Op:
    """A row after simplification; ``inplace``: the argument whose buffer receives the result (out=),
    ``accumulate``: (target, g, index) for ``target[index] += g``."""

    out: Var
    row: Row
    args: list[Any]
    inplace: Var | None = None
    accumulate: tuple[Var, Any, Any] | None = None
    vars: list[Var] = field(default_factory=list)  # the Vars among args

    def __post_init__(self) -> None:
        self.vars = _walk(self.args)


def _walk(o: Any) -> list[Var]:
    """The Vars in an argument list or an output structure (nested tuples and lists)."""
    if o.__class__ is Var:
        return [o]
    if o.__class__ is tuple or o.__class__ is list:
        if all(e.__class__ is not tuple and e.__class__ is not list for e in o):
            return [e for e in o if e.__class__ is Var]
        return [v for e in o for v in _walk(e)]
    return []


def _const_key(a: Any) -> Any:
    if isinstance(a, Var):
        return ("v", a.index)
    if a is None or a.__class__ in (bool, int, float, str, slice):
        return (a.__class__, repr(a))
    if a.__class__ is tuple:
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
    if c.__class__ is not np.ndarray or c.size == 0 or c.dtype != np.float64 or not isinstance(other, Var):
        return c
    if other.shape != out.shape or np.broadcast_shapes(c.shape, other.shape) != out.shape:
        return c
    first = float(c.flat[0])
    if all(st == 0 for st in c.strides) or bool(np.all(c == first)):
        return first
    return c


def simplify(program: Program) -> tuple[list[Op], Any]:
    """Dead rows dropped, common subexpressions merged, ``x * 1.0`` removed, ``a + (-b)`` written ``a - b``,
    constant arrays of one value written as that value; then buffers reused where provably dead."""
    subst: dict[int, Var] = {}
    seen: dict[Any, Var] = {}
    ops: list[Op] = []

    def res(a: Any) -> Any:
        while a.__class__ is Var and a.index in subst:
            a = subst[a.index]
        return a

    live = {v.index for v in _walk(program.output)}
    rows = []
    for row in reversed(program.rows):  # rows no output needs are dropped first (they would take names in CSE)
        if row.out.index in live:
            rows.append(row)
            live.update(a.index for a in _walk(list(row.args)))
    for row in reversed(rows):
        args = [res(a) if a.__class__ is Var else a for a in row.args]
        name = row.prim.name
        if name == "times" and len(args) == 2:
            args = [_uniform_scalar(args[0], args[1], row.out), _uniform_scalar(args[1], args[0], row.out)]
            if any(_finite_nonzero(a) for a in args):  # no 0 * inf possible: a plain product
                row = Row(row.out, RULES["mul"].prim, tuple(args), {})
                name = "mul"
        if name in _BINARY and not row.kw and len(args) == 2:
            args = [_uniform_scalar(args[0], args[1], row.out), _uniform_scalar(args[1], args[0], row.out)]
        if name == "mul" and not row.kw:
            unit = _unit_factor(row.out, args)
            if isinstance(unit, Var):
                subst[row.out.index] = unit
                continue
            if unit is not None:  # x * -1.0: -x
                row = Row(row.out, RULES["neg"].prim, (unit[1],), {})
                args = [unit[1]]
                name = "neg"
        key = (name, tuple(a.index if a.__class__ is Var else _const_key(a) for a in args),
               tuple((k, _const_key(v)) for k, v in row.kw.items()) if row.kw else ())
        if key in seen:
            subst[row.out.index] = seen[key]
            continue
        seen[key] = row.out
        ops.append(Op(row.out, row, args))
    output = _resolve_out(program.output, res)
    return _reuse_buffers(_fold_negations(ops, output), output, set(v.index for v in program.inputs)), output


def _resolve_out(o: Any, res: Callable[[Any], Any]) -> Any:
    if isinstance(o, (tuple, list)):
        return type(o)(_resolve_out(e, res) for e in o)
    return res(o)


def _uses(ops: list[Op], output: Any) -> dict[int, int]:
    uses: dict[int, int] = {}
    for v in _walk(output):
        uses[v.index] = uses.get(v.index, 0) + 1
    for op in ops:
        for v in op.vars:
            uses[v.index] = uses.get(v.index, 0) + 1
    return uses


def _is_neg(op: Op) -> bool:
    return op.row.prim.name == "neg"


def _fold_negations(ops: list[Op], output: Any) -> list[Op]:
    """``a + (-b)`` -> ``a - b`` where -b has no other use (the same rounding: IEEE negation is exact); then the
    rows no output needs any more are dropped."""
    uses = _uses(ops, output)
    producer = {op.out.index: op for op in ops}
    sub = RULES["sub"].prim
    for op in ops:
        if op.row.prim.name != "add" or op.row.kw or len(op.args) != 2:
            continue
        for i in (1, 0):
            b = op.args[i]
            p = producer.get(b.index) if isinstance(b, Var) else None
            if p is not None and _is_neg(p) and uses.get(b.index) == 1:
                inner = next(a for a in p.args if isinstance(a, Var))
                other = op.args[1 - i]
                op.row = Row(op.out, sub, (other, inner), {})
                op.args = [other, inner]
                op.vars = _walk(op.args)
                uses[b.index] = 0
                break
    live = {v.index for v in _walk(output)}
    kept = []
    for op in reversed(ops):
        if op.out.index in live:
            kept.append(op)
            live.update(v.index for v in op.vars)
    return kept[::-1]


def _elementwise_ufunc(op: Op) -> Any:
    name = op.row.prim.name
    if op.row.kw:
        return None
    if name in _UFUNC_OF:
        return _UFUNC_OF[name]
    rule = RULES.get(name)
    if rule is not None and op.row.prim.partials is not None and rule.ufuncs and name != "pow":
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
    viewed = {v.index for op in ops if op.row.prim.name not in _NO_VIEW for v in op.vars}
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

        if array and op.row.prim.name == "add" and len(op.args) == 2:
            for i in (0, 1):
                b, a = op.args[i], op.args[1 - i]
                p = producer.get(b.index) if isinstance(b, Var) else None
                if p is not None and p.row.prim.name == "scatter_add" and last.get(b.index) == k and dead(a) \
                        and isinstance(p.args[1], (slice, int, tuple)) and _index_is_basic(p.args[1]) \
                        and b.index not in viewed and p.args[0].__class__ is not complex:
                    op.accumulate = (a, p.args[0], p.args[1])  # the scatter is dropped below
                    break
        if op.accumulate is None and array and _elementwise_ufunc(op) is not None:
            op.inplace = next((a for a in op.args if dead(a)), None)
        if array and (op.row.prim.name in _UFUNC_OF or op.row.prim.name in ("scatter_add", "pow", "where", "times")
                      or _elementwise_ufunc(op) is not None or op.row.prim.name == "matmul"):
            fresh.add(out.index)
    return _drop_folded_scatters(ops, output)


def _index_is_basic(idx: Any) -> bool:
    from diffcompare.ad.rules import is_basic_index

    return is_basic_index(idx)


def _drop_folded_scatters(ops: list[Op], output: Any) -> list[Op]:
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
    name = op.row.prim.name
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


def generate(program: Program, name: str = "staged", names: dict[int, str] | None = None) -> Generated:
    """The source of ``def name(inputs): ...; return outputs``. ``names``: Var index -> trace name (default:
    the slides' numbering of the inputs and of the rows written)."""
    em = _Emitter()
    ops, output = simplify(program)
    same: dict[int, Var] = {}  # an accumulation's result is its target's buffer, under the target's name
    for op in ops:
        if op.accumulate is not None:
            same[op.out.index] = op.accumulate[0]
    written = [op for op in ops if op.accumulate is None]
    if names is None:
        numbered = trace_names(len(program.inputs), len(written))
        names = {v.index: n for v, n in zip(program.inputs + [op.out for op in written], numbered)}
    names = dict(names)

    temps = 0
    for op in written:  # rows the caller left unnamed (a derivative's partials and terms): w_1, w_2, ...
        if op.out.index not in names:
            temps += 1
            names[op.out.index] = f"w_{temps}"

    def ref(a: Any) -> str:
        if isinstance(a, Var):
            while a.index in same:
                a = same[a.index]
            return py_name(names[a.index])
        return em.constant(a)

    holder: dict[str, int] = {}  # which Var each Python name holds now (a name may be reassigned: vbar_j)

    def check(read: list[Var]) -> None:
        for v in read:
            while v.index in same:
                v = same[v.index]
            if holder.get(py_name(names[v.index]), v.index) != v.index:
                raise NameClash(names[v.index])

    body = []
    for op in ops:
        check(_walk(list(op.accumulate[:2])) if op.accumulate is not None else op.vars)
        if op.accumulate is None:
            holder[py_name(names[op.out.index])] = op.out.index
        if op.accumulate is not None:
            target, g, idx = op.accumulate
            body.append(f"    {ref(target)}[{_index_text(idx, em) or em.constant(idx)}] += {ref(g)}")
            continue
        row = Row(op.out, op.row.prim, tuple(op.args), op.row.kw)
        if op.inplace is not None:
            uf = _elementwise_ufunc(op)
            rhs = f"np.{uf.__name__}({', '.join(ref(a) for a in op.args)}, out={ref(op.inplace)})"
        elif op.row.prim.name == "times":  # a product under the convention 0 * inf = 0 (kinks.py)
            out, (a, b) = py_name(names[op.out.index]), (ref(x) for x in op.args)
            em.globals["_zero_times_inf"], em.globals["_has_nan"] = kinks.zero_times_inf, kinks.has_nan
            nan = f"{out} != {out}" if op.out.is_float or op.out.shape == () else f"_has_nan({out})"
            body.append(f"    {out} = {a} * {b}\n    if {nan}:\n        {out} = _zero_times_inf({out}, {a}, {b})")
            continue
        else:
            rhs = _expression(row, ref, em)
        body.append(f"    {py_name(names[op.out.index])} = {rhs}")

    producer = {op.out.index: op for op in ops}

    def out_text(o: Any) -> str:
        if isinstance(o, (tuple, list)):
            inner = ", ".join(out_text(e) for e in o)
            if isinstance(o, list):
                return f"[{inner}]"
            return f"({inner},)" if len(o) == 1 else f"({inner})"
        return _fresh_output(o, ref(o), producer, same, em)

    check(_walk(output))  # the outputs are read last
    params = ", ".join(py_name(names[v.index]) for v in program.inputs)
    lines = [f"def {name}({params}):", *body, f"    return {out_text(output)}"]
    source = "\n".join(lines) + "\n"
    written_names = set(re.findall(r"\b[a-z]+_m?\d+\b", source))
    used = {py_name(n): n for n in names.values() if py_name(n) in written_names}
    return Generated(source, em.globals, used, len(body))
