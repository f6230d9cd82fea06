"""The slides' notation as text: values, operations and local partials of the evaluation trace.

``number`` prints a value the way the trace and graph tables print it; ``op_text`` and
``partial_text`` write a primitive and its partials in the slides' names (``ln`` for log,
``v̄_3 × (1/v_-1)``). Text only: no rich, no numpy beyond reading a value's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BAR", "DOT", "accent", "bar", "dot", "infix", "nonfinite_text", "number", "op_text", "operand",
           "partial_text", "times"]

@functools.cache
def _texts() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """How each primitive is written in a row ({0}, {1} its arguments), and its local partials ∂v_i/∂(argument k)
    in the trace's names ({a} {b} the arguments, {v} the row itself): from the AD engine's rules table, one
    statement per primitive (read on first use). The numbers always come from the primitive's own rule."""
    from diffcompare.ad.rules import op_texts, partial_texts

    return op_texts(), partial_texts()


def number(x: Any, digits: int = 6) -> str:
    """A value as the trace prints it: short, integers without '.0' (see :func:`operand` for a
    negative value inside an expression)."""
    arr = np.asarray(x)
    if arr.ndim:
        flat = [number(v, digits) for v in arr.ravel()[:6]]
        more = ", ..." if arr.size > 6 else ""
        return "[" + ", ".join(flat) + more + "]"
    v = float(arr)
    if not np.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{digits}g}"


def operand(x: Any) -> str:
    """A value standing inside an expression: a negative one in parentheses, ``3 * (-4)``."""
    s = number(x)
    return f"({s})" if s.startswith("-") else s


def infix(prim_name: str) -> bool:
    """Whether the primitive is written between or before its operands (so they may need parentheses)."""
    return prim_name in _texts()[0] and prim_name not in ("log", "abs")


def op_text(prim_name: str, operands: Sequence[str], kw: dict[str, Any] | None = None) -> str:
    """A primitive applied to named operands, in the slides' notation (ln for log)."""
    template = _texts()[0].get(prim_name)
    if template is not None and template.count("{") <= len(operands):
        return template.format(*operands)
    extra = [f"{k}={v}" for k, v in (kw or {}).items() if v is not None and v is not False]
    return f"{prim_name}({', '.join(list(operands) + extra)})"


def partial_text(prim_name: str, k: int, operands: Sequence[str], this: str) -> str:
    """∂(row)/∂(argument k) as text; a generic ∂ symbol where no formula is on file."""
    forms = _texts()[1].get(prim_name)
    if prim_name == "pow" and k == 0:
        return f"{operands[1]} {operands[0]}^({operands[1]} - 1)" if not _is_number(operands[1]) else \
            _power_partial(operands[0], float(operands[1].strip("()")))  # a negative constant reads "(-3)"
    if prim_name == "pow" and k == 1:
        return f"{this} ln({operands[0]})"
    if forms is None or k >= len(forms):
        return f"∂{this}/∂{operands[k]}"
    a = operands[0]
    b = operands[1] if len(operands) > 1 else ""
    return forms[k].format(a=a, b=b, v=this)


def nonfinite_text(row: str, prim: str | None, n_args: int, value: Any) -> str:
    """The message of a trace row that is not finite: ``v_3 = ln(·) is not finite at this point (-inf)``."""
    what = op_text(prim, ["·"] * n_args) if prim else "an input"
    return f"{row} = {what} is not finite at this point ({number(value)}): outside the function's domain"


def _is_number(text: str) -> bool:
    try:
        float(text.strip("()"))
        return True
    except ValueError:
        return False


def _power_partial(base: str, n: float) -> str:
    if n == 2:
        return f"2 {base}"
    m = n - 1
    return f"{number(n)} {base}^{operand(m)}"


DOT, BAR = "\u0307", "\u0304"  # combining dot above (tangent), macron (adjoint)


def accent(name: str, mark: str) -> str:
    """``x1`` -> ``ẋ1`` / ``x̄1``: the mark over the first letter, as the slides write them."""
    return name[0] + mark + name[1:]


def dot(name: str) -> str:
    """The tangent of a row: ``v_1`` -> ``v̇_1``."""
    return "v̇" + name[1:]


def bar(name: str) -> str:
    """The adjoint of a row: ``v_1`` -> ``v̄_1``."""
    return "v̄" + name[1:]


def times(a: str, b: str) -> str:
    """``a × b``, ``b`` in parentheses when it is compound; a factor 1 stays, as the slides write ``v̄3 × 1``."""
    return f"{a} × {b}" if not _compound(b) else f"{a} × ({b})"


def _compound(text: str) -> bool:
    return any(c in text for c in " /+") and not (text.startswith("(") and text.endswith(")"))
