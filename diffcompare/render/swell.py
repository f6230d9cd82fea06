"""The swell tables (sizes, times, the lecture's formulas), their JSON and CSV twins, and the plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from diffcompare.analysis.swell import Swell, SwellRow
from diffcompare.render import jsonable

CAPTION = (
    "size = nodes, leaves (x, constants) included; tree: every occurrence counts, DAG: each distinct "
    "subexpression once; ops = operations only (sympy count_ops, cse, AD tape); adjoint code lines: the "
    "generated reverse-mode program (as diffcompare code prints it), one operation per line\n"
    "{laue}\n"
    "timeout: past the budget of {timeout:g} s (worker stopped); (t/o): not tried, a smaller n "
    "timed out"
)


def _int(v: int | None) -> str:
    if v is None:
        return "—"
    return f"{v:,}" if abs(v) < 10**10 else f"{float(v):.3e}"


def _cell(row: SwellRow, value: Any, cell: str, text: str | None = None) -> str:
    if cell in row.timed_out:
        return "[red]timeout[/red]"
    if cell in row.skipped:
        return "[dim](t/o)[/dim]"
    if value is None:
        return "—"
    return text if text is not None else (_int(value) if isinstance(value, int) else str(value))


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    ms = v * 1e3
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def _factor(v: float | None) -> str:
    return "—" if v is None else f"×{v:.2f}"


def laue_sentence(s: Swell) -> str:
    """The point of the table, with this run's own numbers."""
    rows = s.rows
    if len(rows) < 3:
        return ("Swell is a property of the tree representation (Laue 2019): run with a larger --n to see "
                "the tree grow exponentially while the DAG and the AD tape grow linearly")
    last, prev = rows[-1], rows[-2]
    return (f"Swell is a property of the tree representation (Laue 2019): as a tree d/dx l_n grows "
            f"×{last.derivative_tree_growth:.2f} per step here, as a DAG by a constant "
            f"+{last.derivative_dag_growth} nodes per step, linearly, like the AD tape "
            f"(+{last.ad_tape_ops - prev.ad_tape_ops} ops per step)")


def sizes_table(s: Swell) -> Any:
    """Our textbook derivative as a tree and as a DAG, beside the AD tape: the Laue point."""
    from rich import box
    from diffcompare.render.layout import Table

    t = Table(box=box.SIMPLE_HEAD,
              title=f"expression swell on the logistic map l_(k+1) = 4 l_k (1 - l_k): textbook rules, n = 1..{s.n}",
              caption=CAPTION.format(timeout=s.timeout, laue=laue_sentence(s)))
    for name in ("n", "l_n\ntree", "l_n\nDAG", "d/dx l_n\ntree", "tree\n×/step", "d/dx l_n\nDAG",
                 "DAG\n+/step", "AD tape\nops", "adjoint\ncode lines", "rules\nµs"):
        t.add_column(name, justify="right", no_wrap=True)
    for r in s.rows:
        t.add_row(
            str(r.n), _int(r.expression_tree_size), _int(r.expression_dag_size),
            _int(r.derivative_tree_size), _factor(r.derivative_tree_growth),
            _int(r.derivative_dag_size), "—" if r.derivative_dag_growth is None else f"+{r.derivative_dag_growth}",
            _int(r.ad_tape_ops), _int(r.adjoint_code_lines), f"{r.seconds * 1e6:.0f}")
    return t


def sympy_table(s: Swell) -> Any:
    """What sympy makes of it: count_ops of both derivatives, expand, cse, and their times."""
    from rich import box
    from diffcompare.render.layout import Table

    t = Table(box=box.SIMPLE_HEAD,
              title=f"sympy: count_ops (operations, tree), expand, cse; each cell in a worker stopped after "
                    f"{s.timeout:g} s")
    for name in ("n", "textbook\ncount_ops", "sympy diff\ncount_ops", "diff\nms",
                 "expanded\ncount_ops", "expand\nms", "after cse\nops", "cse\nms"):
        t.add_column(name, justify="right", no_wrap=True)
    for r in s.rows:
        diff_cell = "sympy_diff" if "sympy_diff" in r.timed_out + r.skipped else "sympy_derivative_count_ops"
        t.add_row(
            str(r.n), _cell(r, r.derivative_count_ops, "derivative_count_ops"),
            _cell(r, r.sympy_derivative_count_ops, diff_cell),
            _cell(r, r.sympy_seconds, "sympy_diff", _ms(r.sympy_seconds)),
            _cell(r, r.simplified_count_ops, "expand"),
            _cell(r, r.expand_seconds, "expand", _ms(r.expand_seconds)),
            _cell(r, r.cse_size, "cse"), _cell(r, r.cse_seconds, "cse", _ms(r.cse_seconds)))
    return t


def formulas_table(s: Swell) -> Any:
    from rich import box
    from diffcompare.render.layout import Table

    t = Table(box=box.SIMPLE_HEAD, show_lines=True,
              title="the lecture's table, recomputed (textbook rules, no simplification) and checked against "
                    "the slides (difference expands to 0)")
    t.add_column("n", justify="right")
    t.add_column("l_n", overflow="fold")
    t.add_column("d/dx l_n (textbook rules)", overflow="fold")
    t.add_column("d/dx l_n (simplified form)", overflow="fold")
    t.add_column("= slides?\nl_n d/dx simpl.", no_wrap=True)
    notes = []
    for f in s.formulas:
        checks = (f.expression_matches, f.derivative_matches, f.simplified_matches)
        verdict = "   ".join("[green]=[/green]" if ok else "[red]≠[/red]" for ok in checks)
        t.add_row(str(f.n), f.expression, f.textbook_derivative, f.simplified, verdict)
        if f.note:
            notes.append(f"n = {f.n}: {f.note}")
    if notes:
        t.caption = "\n".join(notes)
    return t


def to_json(s: Swell) -> dict[str, Any]:
    return jsonable(s)


COLUMNS = ("n", "expression_tree_size", "expression_dag_size", "derivative_tree_size", "derivative_dag_size",
           "derivative_tree_ops", "derivative_dag_ops", "derivative_count_ops", "sympy_derivative_count_ops",
           "simplified_count_ops", "cse_size", "ad_tape_ops", "adjoint_code_lines", "seconds", "sympy_seconds",
           "expand_seconds", "cse_seconds", "timed_out", "skipped")


def to_csv(s: Swell) -> str:
    """One line per n; empty cells where not measured (timed_out/skipped say why)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in s.rows:
        row = jsonable(r)
        w.writerow(["" if row[c] is None else (";".join(row[c]) if isinstance(row[c], list) else row[c])
                    for c in COLUMNS])
    return out.getvalue()


def pyplot_or_error() -> None:
    """Fail early (before the work) when matplotlib is missing."""
    from diffcompare.render.figures import pyplot

    pyplot()


def plot(s: Swell, path: Path) -> None:
    """Sizes against n on a log scale: the trees swell, the DAG and the tape grow linearly."""
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = figure(plt, s)
    fig.savefig(path)
    plt.close(fig)


def figure(plt: Any, s: Swell) -> Any:
    """The swell figure; a curve that stopped at a sympy timeout ends in an x and says so in the legend."""
    ns = [r.n for r in s.rows]
    series = [
        # label, row field, the sympy cells that produce it (a timeout there ends the curve), colour, style
        ("l_n as a tree (nodes)", "expression_tree_size", (), "C0", "--"),
        ("d/dx l_n as a tree (nodes)", "derivative_tree_size", (), "C0", "-"),
        ("d/dx l_n as a DAG (nodes)", "derivative_dag_size", (), "C2", "-"),
        ("sympy diff, count_ops", "sympy_derivative_count_ops", ("sympy_diff", "sympy_derivative_count_ops"), "C1",
         "-"),
        ("expanded, count_ops", "simplified_count_ops", ("expand",), "C4", ":"),
        ("after cse, ops", "cse_size", ("cse",), "C5", "-."),
        ("AD tape, ops", "ad_tape_ops", (), "C3", "--"),
    ]
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, key, cells, colour, style in series:
        pts = [(n, float(getattr(r, key))) for n, r in zip(ns, s.rows)
               if getattr(r, key) is not None and getattr(r, key) > 0]
        stop = next((r.n for r in s.rows if any(c in r.timed_out for c in cells)), None)
        if stop is not None:  # a curve that just stops reads as "no more growth": mark where it gave up
            label += f" (timeout at n = {stop})"
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colour, marker="o", ms=3, label=label)
            if stop is not None:
                ax.plot([stop], [pts[-1][1]], "x", color=colour, ms=10, mew=2)
                ax.annotate(f"timeout (> {s.timeout:g} s)", (stop, pts[-1][1]), textcoords="offset points",
                            xytext=(6, -4), fontsize=7, color=colour)
        elif stop is not None:  # timed out at the first n: nothing to draw, but the legend says why
            ax.plot([], [], style, color=colour, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("n (logistic map step)")
    ax.set_ylabel("size")
    ax.set_title("Expression swell: trees grow exponentially, the DAG and the AD tape linearly")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
