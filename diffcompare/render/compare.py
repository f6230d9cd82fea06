"""The comparison table and its JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.compare import Comparison
from diffcompare.render import fmt

# below this relative error a derivative is as good as float64 can be (a few ulps), above 1e-6
# it has lost more than half its digits
_GOOD, _BAD = 1e-12, 1e-6


def _error_style(rel: float | None, abs_err: float | None) -> str:
    e = rel if rel is not None else abs_err
    if e is None:
        return "dim"
    return "green" if e <= _GOOD else ("yellow" if e <= _BAD else "red")


def _cost(result: Any) -> str:
    parts = []
    if result.evaluations is not None:
        parts.append(f"{result.evaluations} evals")
    if result.tape_ops is not None:
        parts.append(f"{result.tape_ops} tape ops")
    if result.expression_size is not None:
        parts.append(f"{result.expression_size} ops in expr")
    return ", ".join(parts) or "—"


def table(c: Comparison) -> Any:
    from rich.table import Table

    point = ", ".join(f"{n}={fmt(v, 10)}" for n, v in zip(c.variables, c.point))
    t = Table(title=f"{c.kind} of {c.function} at {point}", caption=(
        f"reference {c.kind} (sympy, 50 digits): {fmt(c.reference_derivative, 17)}"))
    t.add_column("backend")
    t.add_column("value", justify="right")
    t.add_column(c.kind, justify="right")
    t.add_column("abs error", justify="right")
    t.add_column("rel error", justify="right")
    t.add_column("cost")
    t.add_column("time [µs]", justify="right")
    for row in c.rows:
        r = row.result
        if r is None:
            t.add_row(row.backend, "—", f"[dim]unsupported: {row.unsupported}[/dim]", "—", "—", "—", "—")
            continue
        style = _error_style(row.rel_error, row.abs_error)
        name = row.backend + (f" ({r.options['scheme']})" if "scheme" in r.options else "")
        t.add_row(name, fmt(r.value, 10), fmt(r.derivative, 10),
                  f"[{style}]{fmt(row.abs_error, 3)}[/{style}]", f"[{style}]{fmt(row.rel_error, 3)}[/{style}]",
                  _cost(r), f"{r.seconds * 1e6:.1f}")
    return t


def to_json(c: Comparison) -> dict[str, Any]:
    results = []
    for row in c.rows:
        r = row.result
        entry: dict[str, Any] = {"backend": row.backend, "unsupported": row.unsupported}
        if r is not None:
            entry.update(value=r.value, derivative=r.derivative, abs_error=row.abs_error,
                         rel_error=row.rel_error, seconds=r.seconds, evaluations=r.evaluations,
                         tape_ops=r.tape_ops, expression_size=r.expression_size, options=r.options,
                         expression=None if r.expression is None else str(r.expression))
        else:
            entry.update(value=None, derivative=None, abs_error=None, rel_error=None, seconds=None)
        results.append(entry)
    return {
        "function": c.function,
        "variables": list(c.variables),
        "point": dict(zip(c.variables, c.point)),
        "kind": c.kind,
        "reference": {"value": c.reference_value, "derivative": c.reference_derivative,
                      "derivative_digits": _digits(c.reference_derivative)},
        "results": results,
    }


def _digits(x: Any) -> Any:
    """The reference as 50-digit strings, so that nothing is lost in JSON."""
    import numpy as np

    arr = np.asarray(x, dtype=object)
    if arr.ndim == 0:
        return str(arr.item())
    return [str(v) for v in arr.ravel()]
