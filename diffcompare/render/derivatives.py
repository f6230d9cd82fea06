"""The higher-derivatives table (one block of rows per order) and its JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.derivatives import Derivatives, Entry
from diffcompare.render import (
    cost_text, csv_entries, csv_entry_names, csv_number, digits50, fmt, labelled, libraries,
)
from diffcompare.render import point as render_point

# digits of float64 that are right: >= 12 is as good as it gets (green), < 6 has lost most (red)
_GOOD_DIGITS, _BAD_DIGITS = 12.0, 6.0


def _style(digits: float | None) -> str:
    if digits is None:
        return "dim"
    return "green" if digits >= _GOOD_DIGITS else ("yellow" if digits >= _BAD_DIGITS else "red")


def _label(e: Entry) -> str:
    if e.backend == "finite" and "scheme" in e.options:
        return f"finite ({e.options['scheme']})"
    if e.backend == "reverse" and e.kind == "derivative" and e.order > 1:
        return f"reverse (nested ×{e.order})"
    if e.backend == "forward" and e.kind == "derivative" and e.order > 1:
        return f"forward (nested ×{e.order})"
    return e.backend


def _heading(kind: str, k: int) -> str:
    if kind == "derivative":
        return "f'" if k == 1 else ("f''" if k == 2 else f"f^({k})")
    return "∇f" if kind == "gradient" else "∇²f (Hessian)"


def table(d: Derivatives) -> Any:
    from rich.markup import escape  # "[inf, 0]" would read as a style tag

    from diffcompare.render.layout import Table

    point = render_point(d.variables, d.point)
    kinds = [(d.at(k)[0].kind if d.at(k) else "derivative") for k in range(1, d.max_order + 1)]
    has_entries = any(kind != "derivative" for kind in kinds)
    t = Table(title=f"derivatives of {d.function} at {point} (f = {fmt(d.value, 12)})",
              key_columns=3 if has_entries else 2,  # a split part keeps the entry labels beside its numbers
              caption="digits: correct significant digits against the exact reference (proved to 50 digits; "
              "absolute where it is 0; 16 = all of float64; green also where the answer is the float nearest the exact "
              "value, as 0 is for 1e-347)" + (
                  "; a Hessian shows its upper triangle, its errors are over all entries" if "hessian" in kinds
                  else "") + (f"\n{d.note}" if d.note else "") + (
                  f"\n{libraries(d.entries)}" if libraries(d.entries) else ""))
    t.add_column("order", justify="right")
    t.add_column("backend")
    if has_entries:
        t.add_column("entry")
    t.add_column("value", justify="right")  # one number per cell: never folded (render.layout)
    t.add_column("abs error", justify="right")
    t.add_column("digits", justify="right")
    t.add_column("cost")
    t.add_column("ms", justify="right")

    def add(order: str, backend: str, value: Any, rest: list[str], kind: str, bold: bool = False) -> None:
        for i, (label, v) in enumerate(labelled(kind, list(d.variables), value)):
            cell = escape(fmt(v, 15)) if not isinstance(v, str) else v
            cells = [order if i == 0 else "", backend if i == 0 else "", *([label] if has_entries else []),
                     f"[bold]{cell}[/bold]" if bold else cell, *(rest if i == 0 else [""] * len(rest))]
            t.add_row(*cells)

    for k, kind in zip(range(1, d.max_order + 1), kinds):
        add(f"[bold]{k}[/bold]", f"[bold]{_heading(kind, k)}[/bold]", d.reference[k],
            ["", "", f"reference ({d.reference_method.get(k, 'exact')})", ""], kind, bold=True)
        for e in d.at(k):
            if e.failed:
                add("", _label(e), f"[dim]{e.failed}[/dim]", ["—", "—", "—", "—"], "derivative")
                continue
            s = "green" if e.correctly_rounded else _style(e.digits)
            add("", _label(e), e.value, [f"[{s}]{fmt(e.abs_error, 2)}[/{s}]",
                                         f"[{s}]{'—' if e.digits is None else f'{e.digits:.1f}'}[/{s}]",
                                         cost_text(e), f"{e.seconds * 1e3:.2f}"], kind)
        t.add_section()
    return t


def to_json(d: Derivatives) -> dict[str, Any]:
    import numpy as np

    orders = []
    for k in range(1, d.max_order + 1):
        rows = d.at(k)
        ref = np.asarray(d.reference[k], dtype=object)
        orders.append({
            "order": k,
            "kind": rows[0].kind if rows else "derivative",
            "reference": d.reference[k],
            "reference_digits": None if d.reference[k] is None else digits50(ref.item() if ref.ndim == 0 else ref),
            "reference_method": d.reference_method.get(k),
            "results": [{
                "backend": e.backend, "value": e.value, "abs_error": e.abs_error, "rel_error": e.rel_error,
                "digits": e.digits, "correctly_rounded": e.correctly_rounded,
                "seconds": e.seconds, "evaluations": e.evaluations, "passes": e.passes, "tape_ops": e.tape_ops,
                "expression_size": e.expression_size, "error_estimate": e.error_estimate, "library": e.library,
                "options": e.options, "failed": e.failed,
            } for e in rows],
        })
    return {"function": d.function, "variables": list(d.variables), "point": dict(zip(d.variables, d.point)),
            "value": d.value, "max_order": d.max_order, "note": d.note, "orders": orders}


def to_csv(d: Derivatives) -> str:
    """One row per (order, backend), each order after its ``reference`` row. The derivative's columns: one for
    one variable; ``derivative_x`` per variable for the gradient (as error-vs-h) and ``hessian_x_y`` (row-major,
    the whole matrix) for the Hessian, each filled on its own order's rows. Numbers at full precision; an empty
    cell where there is none (a failed backend, NaN, ±inf: JSON's null)."""
    import csv
    import io

    kinds = []
    for k in range(1, d.max_order + 1):
        kind = d.at(k)[0].kind if d.at(k) else "derivative"
        if kind not in kinds:
            kinds.append(kind)
    variables = list(d.variables)
    columns = {kind: csv_entry_names(kind, variables) for kind in kinds}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["order", "kind", "backend", "method", *[n for kind in kinds for n in columns[kind]], "abs_error",
                "rel_error", "digits", "correctly_rounded", "evaluations", "tape_ops", "expression_size", "seconds",
                "failed"])

    def cells(kind: str, value: Any) -> list[str]:
        return [c for other in kinds for c in (csv_entries(kind, variables, value) if other == kind
                                               else [""] * len(columns[other]))]

    for k in range(1, d.max_order + 1):
        rows = d.at(k)
        kind = rows[0].kind if rows else "derivative"
        w.writerow([k, kind, "reference", d.reference_method.get(k, ""), *cells(kind, d.reference.get(k)),
                    *[""] * 9])
        for e in rows:
            method = e.options.get("scheme", "") if e.backend == "finite" else ""
            w.writerow([k, kind, e.backend, method, *cells(kind, None if e.failed else e.value),
                        csv_number(e.abs_error), csv_number(e.rel_error), csv_number(e.digits), e.correctly_rounded,
                        "" if e.evaluations is None else e.evaluations, "" if e.tape_ops is None else e.tape_ops,
                        "" if e.expression_size is None else e.expression_size, csv_number(e.seconds),
                        e.failed or ""])
    return buf.getvalue()
