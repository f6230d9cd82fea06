"""Plain Python source from a staged program: one line per operation, in the evaluation trace's names.

Floats are computed with ``math`` and Python's operators, arrays with numpy calls: the same functions the
eager engine calls, so the generated code gives the eager values bit for bit. Rows whose value no output
needs are left out; ``x * 1.0`` (the cotangent 1 of a gradient) is not written. The source is ours, made
from the rules table, never from user text: compiling it is safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def _live(program: Program) -> set[int]:
    """Indices of the Vars an output needs."""
    live: set[int] = set()

    def mark(o: Any) -> None:
        if isinstance(o, Var):
            live.add(o.index)
        elif isinstance(o, (tuple, list)):
            for e in o:
                mark(e)

    mark(program.output)
    for row in reversed(program.rows):
        if row.out.index in live:
            for a in row.args:
                mark(a)
    return live


def _unit_factor(row: Row) -> Any:
    """For ``x * 1.0``: x (the same value, not written); for ``x * -1.0``: ("neg", x); else None."""
    a = row.args
    if row.prim.name != "mul" or len(a) != 2 or row.kw:
        return None
    for x, k in ((a[0], a[1]), (a[1], a[0])):
        if isinstance(x, Var) and k.__class__ is float and abs(k) == 1.0 and x.shape == row.out.shape \
                and x.dtype == row.out.dtype and x.is_float == row.out.is_float:
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
        extra = "".join(f", {k}={em.constant(v)}" for k, v in kw.items() if v not in (None, False))
        return f"np.sum({texts[0]}{extra})"
    fn = em.function(name, prim.impl)
    extra = "".join(f", {k}={em.constant(v)}" for k, v in kw.items())
    return f"{fn}({', '.join(texts)}{extra})"


def generate(program: Program, name: str = "staged", names: dict[int, str] | None = None) -> Generated:
    """The source of ``def name(inputs): ...; return outputs``. ``names``: Var index -> trace name (default:
    the slides' numbering of the inputs and of the rows kept)."""
    em = _Emitter()
    live = _live(program)
    rows = [r for r in program.rows if r.out.index in live]
    same: dict[int, Any] = {}  # row -> the Var it equals (g * 1.0), or ("neg", Var) for g * -1.0
    for row in rows:
        unit = _unit_factor(row)
        if unit is not None:
            same[row.out.index] = unit
    written = [r for r in rows if not isinstance(same.get(r.out.index), Var)]
    if names is None:
        numbered = trace_names(len(program.inputs), len(written))
        names = {v.index: n for v, n in zip(program.inputs + [r.out for r in written], numbered)}

    def ref(a: Any) -> str:
        if isinstance(a, Var):
            while isinstance(same.get(a.index), Var):
                a = same[a.index]
            return py_name(names[a.index])
        return em.constant(a)

    body = []
    for row in written:
        unit = same.get(row.out.index)
        rhs = f"-{ref(unit[1])}" if unit is not None else _expression(row, ref, em)
        body.append(f"    {py_name(names[row.out.index])} = {rhs}")

    def out_text(o: Any) -> str:
        if isinstance(o, (tuple, list)):
            inner = ", ".join(out_text(e) for e in o)
            if isinstance(o, list):
                return f"[{inner}]"
            return f"({inner},)" if len(o) == 1 else f"({inner})"
        return ref(o)

    params = ", ".join(py_name(names[v.index]) for v in program.inputs)
    lines = [f"def {name}({params}):", *body, f"    return {out_text(program.output)}"]
    used = {py_name(n): n for n in names.values()}
    return Generated("\n".join(lines) + "\n", em.globals, used, len(body))
