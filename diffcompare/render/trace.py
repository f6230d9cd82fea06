"""The evaluation trace as the slides' Tables 1-3, and its JSON twin.

The analysis hands over data (each row's primitive, which row each argument is, the partials' values);
the slides' text is written here: ``v_1 = v_-1 * v_0``, ``v̇_1 = v̇_-1 × v_0 + v̇_0 × v_-1``,
``v̄_-1 = x̄1 = v̄_3 × (1/v_-1) + v̄_1 × v_0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffcompare.analysis.trace import Contribution, Row, Trace
from diffcompare.render.notation import BAR, DOT, accent, bar, dot, number, op_text, operand, partial_text, times


def operand_names(r: Row) -> list[str]:
    """A row's arguments as the trace writes them: the row read, or an inline constant (``(-3)``)."""
    return [o.row if o.row is not None else operand(o.value) for o in r.operands]


def op_line(r: Row) -> str:
    """``v_1 = v_-1 * v_0``; for an input ``v_-1 = x1``."""
    if r.prim is None:
        return f"{r.name} = {r.variable}"
    return f"{r.name} = {op_text(r.prim, operand_names(r), r.kw)}"


def arithmetic(r: Row) -> str:
    """The row with numbers: ``3 * (-4) = -12``."""
    if r.prim is None:
        return number(r.value)
    return f"{op_text(r.prim, [operand(o.value) for o in r.operands], r.kw)} = {number(r.value)}"


def tangent_text(r: Row) -> tuple[str, str]:
    """``v̇_1 = v̇_-1 × v_0 + v̇_0 × v_-1`` and its arithmetic ``0 × (-4) + 1 × 3 = 3``."""
    if r.prim is None:
        return f"{dot(r.name)} = {accent(r.variable or r.name, DOT)}", number(r.tangent)
    names = operand_names(r)
    terms, arith = [], []
    for term in r.tangent_terms:
        if term.partial is None:
            terms.append(f"jvp_{r.prim}({dot(term.parent)})")
            continue
        terms.append(times(dot(term.parent), partial_text(r.prim, term.k, names, r.name)))
        arith.append(times(operand(term.tangent), operand(term.partial)))
    return f"{dot(r.name)} = " + " + ".join(terms), (" + ".join(arith) + " = " if arith else "") + number(r.tangent)


def partial_expr(t: Trace, r: Row, c: Contribution) -> str:
    """∂v_consumer/∂(this row) in the trace's names, e.g. ``1/v_-1``."""
    consumer = next(row for row in t.rows if row.name == c.consumer)
    if c.partial is None:
        return f"∂{c.consumer}/∂{r.name}"
    return partial_text(consumer.prim or "", c.k, operand_names(consumer), c.consumer)


def adjoint_text(t: Trace, r: Row) -> tuple[str, str]:
    """``v̄_-1 = x̄1 = v̄_3 × (1/v_-1) + v̄_1 × v_0`` and its arithmetic; blank when the output reads no input."""
    if t.output is None:
        return "", ""
    lhs = bar(r.name) + (f" = {accent(r.variable, BAR)}" if r.variable else "")
    if r.name == t.output:
        return f"{lhs} = {accent(t.output_name, BAR)}", number(r.adjoint)  # the seed
    terms, arith = [], []
    for c in r.contributions:
        if c.partial is None:
            consumer = next(row for row in t.rows if row.name == c.consumer)
            terms.append(f"vjp_{consumer.prim}({bar(c.consumer)})")
            arith.append(operand(c.term))
        else:
            terms.append(times(bar(c.consumer), partial_expr(t, r, c)))
            arith.append(times(operand(c.adjoint), operand(c.partial)))
    if not terms:
        return f"{lhs} = 0", "0 (does not reach y)"
    return f"{lhs} = " + " + ".join(terms), " + ".join(arith) + " = " + number(r.adjoint)


def _point(t: Trace) -> str:
    return ", ".join(f"{n} = {number(v)}" for n, v in zip(t.variables, t.point))


def _table(t: Trace, title: str, columns: tuple[str, ...], caption: str | None) -> Any:
    """One of the slides' tables: the primal columns and/or one derivative column pair."""
    from diffcompare.render.layout import Table

    tab = Table(title=title, caption=caption)
    # each value column names its trace: a split part may show it beside another trace's key column
    heads = {"primal": ("forward primal trace", "primal output"),
             "tangent": ("forward tangent trace", "tangent output"),
             "adjoint": ("reverse adjoint trace", "adjoint output")}
    for c in columns:
        tab.add_column(heads[c][0], overflow="fold")
        tab.add_column(heads[c][1], justify="right", overflow="fold")
    for r in t.rows:
        cells: list[str] = []
        for c in columns:
            if c == "primal":
                cells += [op_line(r) + (f"  [bold]({t.output_name})[/bold]" if r.is_output else ""), arithmetic(r)]
            elif c == "tangent":
                cells += list(tangent_text(r))
            else:
                cells += list(adjoint_text(t, r))
        tab.add_row(*cells)
    if t.output is not None:
        y = t.output_name
        out: list[str] = []
        for c in columns:
            if c == "primal":
                out += [f"{y} = {t.output}", number(t.value)]
            elif c == "tangent":
                out += [f"{accent(y, DOT)} = {'v̇' + t.output[1:]}", number(t.derivative)]
            else:
                out += [accent(y, BAR), "1"]
        tab.add_row(*out, style="bold")
    return tab


def table(t: Trace) -> Any:
    """The slides' layout: Table 1 (primal), Table 2 (primal + tangent), Table 3 (primal + adjoint);
    ``all`` stacks the forward-mode table and the adjoint table, which keeps them readable in 80 columns."""
    from rich.console import Group

    y = t.output_name
    at = f"{y} = {t.expression} at {_point(t)}"
    fwd_caption = (f"tangents seeded on {t.wrt} ({accent(t.wrt, DOT)} = 1, 0 for the others): "
                   f"{accent(y, DOT)} = ∂{y}/∂{t.wrt} = {number(t.derivative, 10)}"
                   if t.mode in ("forward", "all") and t.wrt else None)
    grad = ", ".join(f"∂{y}/∂{n} = {number(g, 10)}" for n, g in zip(t.variables, t.gradient or []))
    rev_caption = f"adjoints seeded with {accent(y, BAR)} = 1: {grad}" if t.mode in ("reverse", "all") else None
    notes = "\n".join(t.notes)
    parts = []
    if t.mode == "primal":
        parts.append(_table(t, f"forward primal trace of {at}", ("primal",), notes or None))
    if t.mode in ("forward", "all"):
        parts.append(_table(t, f"forward mode trace of {at}", ("primal", "tangent"),
                            fwd_caption if t.mode == "all" else "\n".join(filter(None, [fwd_caption, notes]))))
    if t.mode == "reverse":
        parts.append(_table(t, f"reverse mode trace of {at}", ("primal", "adjoint"),
                            "\n".join(filter(None, [rev_caption, notes]))))
    if t.mode == "all":
        parts.append(_table(t, "reverse adjoint trace (same rows)", ("adjoint",),
                            "\n".join(filter(None, [rev_caption, notes]))))
    return Group(*parts)


@dataclass(frozen=True)
class Line:
    """One row of the trace as the tables write it: the text of the JSON row (``dc.trace(...).table[i]``).

    ``tangent_*`` are None unless the trace's mode is forward or all, ``adjoint_*`` unless reverse or all.
    """

    name: str  # "v_1"
    op: str  # "v_1 = v_-1 * v_0"
    arithmetic: str  # "3 * (-4) = -12"
    value: Any
    tangent_expr: str | None = None  # "v̇_1 = v̇_-1 × v_0 + v̇_0 × v_-1"
    tangent_arithmetic: str | None = None
    adjoint_expr: str | None = None  # "v̄_1 = v̄_2 × 1"
    adjoint_arithmetic: str | None = None


def lines(t: Trace) -> list[Line]:
    """Every row's text, in the trace's order."""
    fwd = t.mode in ("forward", "all")
    rev = t.mode in ("reverse", "all")
    out = []
    for r in t.rows:
        tangent = tangent_text(r) if fwd else (None, None)
        adjoint = adjoint_text(t, r) if rev else (None, None)
        out.append(Line(r.name, op_line(r), arithmetic(r), r.value, *tangent, *adjoint))
    return out


def to_json(t: Trace) -> dict[str, Any]:
    """``rows``: ``{name, op, inputs, value, tangent, adjoint}`` plus the written-out expressions, then the same
    as data (``prim``, ``operands``, ``tangent_terms``, each contribution's argument ``k``)."""
    fwd = t.mode in ("forward", "all")
    rev = t.mode in ("reverse", "all")
    rows = []
    for r in t.rows:
        row: dict[str, Any] = {"name": r.name, "op": op_line(r), "inputs": r.inputs, "value": r.value,
                               "tangent": r.tangent if fwd else None, "adjoint": r.adjoint if rev else None,
                               "arithmetic": arithmetic(r), "is_output": r.is_output}
        if r.variable is not None:
            row["variable"] = r.variable
        if fwd:
            row["tangent_expr"], row["tangent_arithmetic"] = tangent_text(r)
        if rev:
            row["adjoint_expr"], row["adjoint_arithmetic"] = adjoint_text(t, r)
            row["contributions"] = [{"from": c.consumer, "partial_expr": partial_expr(t, r, c), "partial": c.partial,
                                     "adjoint": c.adjoint, "term": c.term, "k": c.k} for c in r.contributions]
        row["prim"] = r.prim
        row["operands"] = [{"row": o.row, "value": o.value} for o in r.operands]
        if r.kw:
            row["kw"] = r.kw
        if fwd:
            row["tangent_terms"] = [{"parent": u.parent, "k": u.k, "partial": u.partial, "tangent": u.tangent}
                                    for u in r.tangent_terms]
        rows.append(row)
    return {"expression": t.expression, "variables": t.variables, "point": t.point, "mode": t.mode,
            "wrt": t.wrt, "output": t.output, "value": t.value,
            "derivative": t.derivative if fwd else None, "gradient": t.gradient if rev else None,
            "rows": rows, "notes": t.notes}
