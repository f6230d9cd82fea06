"""The right-hand side of one generated line: a row's operation as Python text, and the globals it needs.

Floats are computed with ``math`` and Python's operators, arrays with numpy calls: the same functions the eager
engine calls, so the generated code gives the eager values bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad.rules import RULES
from diffcompare.ad.staging import Row, Var

# Python's operators for the primitives that have one (a row of floats or arrays is written the same way)
OPERATORS = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}", "neg": "-{0}",
             "matmul": "{0} @ {1}", "greater": "{0} > {1}", "greater_equal": "{0} >= {1}", "less": "{0} < {1}",
             "less_equal": "{0} <= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
             "where": "np.where({0}, {1}, {2})"}
_MATH_NAMES = {"sin", "cos", "tan", "exp", "log", "log1p", "expm1", "tanh", "sinh", "cosh", "asin", "acos",
               "atan", "asinh", "sqrt"}


class Emitter:
    """The globals a generated program runs with: numpy, math, constants Python cannot write as literals
    (``c_k``) and the implementations of primitives without a Python spelling (``_name``)."""

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


def index_text(idx: Any, em: Emitter) -> str | None:
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


def expression(row: Row, ref: Callable[[Any], str], em: Emitter) -> str:
    """The right-hand side of one row: Python's own spelling where it gives the eager value, else a call."""
    texts = [ref(a) for a in row.args]
    floats = row.out.is_float and all((a.__class__ is Var and a.is_float) or a.__class__ in (float, int)
                                      for a in row.args)
    text = _spelled(row, texts, floats, em)
    if text is not None:
        return text
    # a call: math.f(x) for floats, np.ufunc(...) for arrays, else the primitive's implementation as a global
    name, kw, prim = row.prim.name, row.kw, row.prim
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


def _spelled(row: Row, texts: list[str], floats: bool, em: Emitter) -> str | None:
    """A power, an index, an operator, ``float(x)``, ``1.0 / x``, ``abs(x)``; None for a call."""
    name, args = row.prim.name, row.args
    if name == "pow":
        text = _power(args, texts, floats)
        if text is not None:
            return text
    if name == "getitem" and isinstance(args[0], Var) and not isinstance(args[1], Var):
        idx = index_text(args[1], em)
        if idx is not None:
            return f"{texts[0]}[{idx}]"
    if name == "as_input" and row.out.is_float:  # a transform's argument made a float, as eagerly
        return f"float({texts[0]})"
    if name == "reciprocal" and floats:
        return f"1.0 / {texts[0]}"
    if name == "abs" and floats:
        return f"abs({texts[0]})"
    if name in OPERATORS and not row.kw:
        return OPERATORS[name].format(*texts)
    return None


def _power(args: Sequence[Any], texts: list[str], floats: bool) -> str | None:
    """``x * x`` for an array squared (as the eager implementation), ``x ** k`` for a float to an integer power."""
    if isinstance(args[1], Var) or args[1].__class__ not in (int, float):
        return None
    if args[1] == 2 and not floats and isinstance(args[0], Var) and not args[0].is_float:
        return f"{texts[0]} * {texts[0]}"  # as the eager implementation: x * x
    if floats and float(args[1]).is_integer():
        return f"{texts[0]} ** {texts[1]}"  # a float to an integer power is a float (0 ** -1 raises)
    return None
