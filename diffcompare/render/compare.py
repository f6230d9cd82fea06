"""The comparison table and its JSON twin."""

from __future__ import annotations

from typing import Any

import numpy as np

from diffcompare.analysis.compare import Comparison
from diffcompare.render import cost_text, csv_entries, csv_entry_names, csv_number, fmt, labelled, libraries
from diffcompare.render import digits50
from diffcompare.render import point as render_point

# below this relative error a derivative is as good as float64 can be (a few ulps), above 1e-6
# it has lost more than half its digits
_GOOD, _BAD = 1e-12, 1e-6


def _error_style(rel: float | None, abs_err: float | None) -> str:
    e = rel if rel is not None else abs_err
    if e is None:
        return "dim"
    return "green" if e <= _GOOD else ("yellow" if e <= _BAD else "red")


def _estimate(r: Any) -> float | None:
    """The backend's own error estimate relative to its answer (absolute where the answer is 0)."""
    if r.error_estimate is None:
        return None
    size = float(np.linalg.norm(np.ravel(np.asarray(r.derivative, dtype=float))))
    return float(r.error_estimate) / size if size > 0 else float(r.error_estimate)


def _row_style(r: Any) -> str | None:
    """Yellow where the backend's own estimate says more than half the digits may be wrong."""
    est = _estimate(r)
    return "yellow" if est is not None and est > _BAD else None


def jit_note(results: Any) -> str:
    """jax's other times, beside the one the µs column shows: ``jax: µs is no-jit; jit 41 µs after a 160 ms
    compile``. Empty when no result measured both."""
    from diffcompare.render.layout import NBSP  # a number and its unit are never split across lines

    notes = []
    for r in results:
        o = r.options
        if "jit_seconds" in o and "nojit_seconds" in o:
            jit, nojit = f"{o['jit_seconds'] * 1e6:.0f}{NBSP}µs", f"{o['nojit_seconds'] * 1e6:.0f}{NBSP}µs"
            compile_ = f"{o['jit_compile_seconds'] * 1e3:.0f}{NBSP}ms"
            other = (f"jit {jit} after a {compile_} compile" if o.get("shown") == "no-jit"
                     else f"no-jit {nojit}; the compile took {compile_}")
            notes.append(f"{r.backend}: µs is {o.get('shown')}; {other}")
    return "\n".join(notes)


def table(c: Comparison) -> Any:
    from rich.markup import escape  # "[inf, 0]" would read as a style tag
    from diffcompare.render.layout import Table

    point = render_point(c.variables, c.point)
    estimates = any(row.result is not None and row.result.error_estimate is not None for row in c.rows)
    versions = libraries(row.result for row in c.rows if row.result is not None)
    jit = jit_note(row.result for row in c.rows if row.result is not None)
    versions = "\n".join(v for v in (jit, versions) if v)
    if c.reference_derivative is None:
        ref = f"reference: {c.reference_method}; no errors measured"
    elif _all_undefined(c.reference_derivative):  # a kink: no value exists, so no backend is wrong
        ref = (f"f = {fmt(c.reference_value, 17)}; reference {c.kind}: {c.reference_method}; no errors measured "
               "(each backend shows its convention: README, Conventions at non-differentiable points)")
    else:
        ref = (f"f = {fmt(c.reference_value, 17)}; reference {c.kind} (exact, 50 digits; {c.reference_method}): "
               f"{escape(fmt(c.reference_derivative, 17))}")
    t = Table(title=f"{c.kind} of {c.function} at {point}", caption=(
        f"{ref}\nerrors: green <= 1e-12 relative (absolute where the exact value is 0) or the float nearest the "
        "exact value, yellow <= 1e-6, "
        "red above; — none" + ("\nest: the backend's own error estimate, relative; the row is yellow where it "
                                "exceeds 1e-6" if estimates else "") + (f"\n{versions}" if versions else "")))
    entry = c.kind == "gradient"  # one row per component, labelled ∂f/∂x1: one number per cell
    t.add_column("backend")  # may wrap between words ("finite / central"): room for the numbers at 80 columns
    if entry:
        t.add_column("entry")
    t.add_column(c.kind, justify="right")
    t.add_column("abs err", justify="right", no_wrap=True)
    t.add_column("rel err", justify="right", no_wrap=True)
    if estimates:  # finite richardson and adaptive
        t.add_column("est", justify="right", no_wrap=True)
    t.add_column("cost", overflow="fold")
    t.add_column("µs", justify="right", no_wrap=True)
    for row in c.rows:
        r = row.result
        if r is None:
            why = row.unsupported or ""
            if c.reference_derivative is None and why and why in c.reference_method:  # said once, in the caption
                why = "cannot (reason below)"
            t.add_row(row.backend, *([""] if entry else []), f"[dim]{escape(why)}[/dim]", *["—"] * (4 + estimates))
            continue
        style = "green" if row.correctly_rounded else _error_style(row.rel_error, row.abs_error)
        untrusted = _row_style(r)
        if untrusted and style in ("green", "dim"):
            style = untrusted
        name = row.backend + (f" {r.options['scheme']}" if "scheme" in r.options else "")
        name += f" {r.options['shown']}" if "shown" in r.options else ""  # jax: which of its times is shown
        errors = [f"[{style}]{fmt(row.abs_error, 2)}[/{style}]", f"[{style}]{fmt(row.rel_error, 2)}[/{style}]"]
        rest = [*errors, *([fmt(_estimate(r), 1)] if estimates else []), cost_text(r), f"{r.seconds * 1e6:.0f}"]
        for i, (label, v) in enumerate(labelled(c.kind, list(c.variables), r.derivative)):
            t.add_row(name if i == 0 else "", *([label] if entry else []), escape(fmt(v, 12)),
                      *(rest if i == 0 else [""] * len(rest)), style=untrusted)
    return t


def to_json(c: Comparison) -> dict[str, Any]:
    results = []
    for row in c.rows:
        r = row.result
        entry: dict[str, Any] = {"backend": row.backend, "unsupported": row.unsupported}
        if r is not None:
            entry.update(value=r.value, derivative=r.derivative, abs_error=row.abs_error,
                         rel_error=row.rel_error, correctly_rounded=row.correctly_rounded,
                         error_estimate=r.error_estimate, seconds=r.seconds,
                         evaluations=r.evaluations, passes=r.passes,
                         tape_ops=r.tape_ops, expression_size=r.expression_size, options=r.options,
                         library=r.library,
                         expression=None if r.expression is None else str(r.expression))
        else:
            entry.update(value=None, derivative=None, abs_error=None, rel_error=None, error_estimate=None,
                         seconds=None, library=None)
        results.append(entry)
    return {
        "function": c.function,
        "variables": list(c.variables),
        "point": dict(zip(c.variables, c.point)),
        "kind": c.kind,
        "reference": {"value": c.reference_value, "derivative": c.reference_derivative,
                      "derivative_digits": digits50(c.reference_derivative), "method": c.reference_method},
        "results": results,
    }


def to_csv(c: Comparison) -> str:
    """One row per backend after a ``reference`` row; a gradient gets one column per variable (as error-vs-h).
    ``method``: the finite-difference scheme, or how the reference was decided.

    Numbers at full precision; an empty cell where there is none (unsupported, NaN, ±inf; JSON's null)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = csv_entry_names(c.kind, list(c.variables))
    w.writerow(["backend", "method", "value", *names, "abs_error", "rel_error", "correctly_rounded",
                "error_estimate", "evaluations", "tape_ops", "expression_size", "seconds", "unsupported"])
    w.writerow(["reference", c.reference_method, csv_number(c.reference_value),
                *csv_entries(c.kind, list(c.variables), c.reference_derivative), *[""] * 9])
    for row in c.rows:
        r = row.result
        if r is None:
            w.writerow([row.backend, "", "", *[""] * len(names), *[""] * 8, row.unsupported or ""])
            continue
        w.writerow([row.backend, r.options.get("scheme", ""), csv_number(r.value),
                    *csv_entries(c.kind, list(c.variables), r.derivative), csv_number(row.abs_error),
                    csv_number(row.rel_error), row.correctly_rounded, csv_number(r.error_estimate),
                    "" if r.evaluations is None else r.evaluations, "" if r.tape_ops is None else r.tape_ops,
                    "" if r.expression_size is None else r.expression_size, csv_number(r.seconds), ""])
    return buf.getvalue()


def _all_undefined(reference: Any) -> bool:
    """True where every entry of the exact reference is nan (it does not exist at the point)."""
    import mpmath

    return all(mpmath.isnan(mpmath.mpf(r)) for r in np.atleast_1d(np.asarray(reference, dtype=object)).ravel())
