"""The evaluation trace as the slides' Tables 1-3, and its JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.trace import Trace
from diffcompare.render.notation import BAR, DOT, accent, number


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
                cells += [r.op + (f"  [bold]({t.output_name})[/bold]" if r.is_output else ""), r.arithmetic]
            elif c == "tangent":
                cells += [r.tangent_expr, r.tangent_arithmetic]
            else:
                cells += [r.adjoint_expr, r.adjoint_arithmetic]
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


def to_json(t: Trace) -> dict[str, Any]:
    """``rows``: ``{name, op, inputs, value, tangent, adjoint}`` plus the written-out expressions."""
    fwd = t.mode in ("forward", "all")
    rev = t.mode in ("reverse", "all")
    rows = []
    for r in t.rows:
        row: dict[str, Any] = {"name": r.name, "op": r.op, "inputs": r.inputs, "value": r.value,
                               "tangent": r.tangent if fwd else None, "adjoint": r.adjoint if rev else None,
                               "arithmetic": r.arithmetic, "is_output": r.is_output}
        if r.variable is not None:
            row["variable"] = r.variable
        if fwd:
            row["tangent_expr"] = r.tangent_expr
            row["tangent_arithmetic"] = r.tangent_arithmetic
        if rev:
            row["adjoint_expr"] = r.adjoint_expr
            row["adjoint_arithmetic"] = r.adjoint_arithmetic
            row["contributions"] = [{"from": c.consumer, "partial_expr": c.partial_expr, "partial": c.partial,
                                     "adjoint": c.adjoint, "term": c.term} for c in r.contributions]
        rows.append(row)
    return {"expression": t.expression, "variables": t.variables, "point": t.point, "mode": t.mode,
            "wrt": t.wrt, "output": t.output, "value": t.value,
            "derivative": t.derivative if fwd else None, "gradient": t.gradient if rev else None,
            "rows": rows, "notes": t.notes}
