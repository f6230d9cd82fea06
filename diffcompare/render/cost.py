"""Tables, JSON and figures for `diffcompare cost`: what each method costs as the problem grows."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from diffcompare.analysis.cost import MIN_SLOPE_POINTS, CostReport, Row
from diffcompare.render import fmt, jsonable

# agreement with the reference method: green to a few ulps scaled by n, yellow to half the digits
_GOOD, _BAD = 1e-12, 1e-6


def seconds_text(s: float | None) -> str:
    """A time with a unit a reader takes in at a glance: 12.3 µs, 4.56 ms, 1.23 s."""
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def bytes_text(b: float | None) -> str:
    if b is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


def _agreement(row: Row) -> str:
    d = row.max_rel_diff
    if d is None:
        return "—"
    style = "green" if d <= _GOOD else ("yellow" if d <= _BAD else "red")
    mantissa, exponent = f"{d:.1e}".split("e")  # 2.0e-8, not 2.0e-08: narrow columns
    return f"[{style}]{mantissa}e{int(exponent)}[/{style}]"


def work_text(row: Row) -> str:
    """The evaluations, and where fewer passes through f carried them (batched forward mode): ``1024 in 1``."""
    if row.passes is None or row.evaluations is None or row.passes == row.evaluations:
        return fmt(row.evaluations)
    return f"{fmt(row.evaluations)} in {row.passes}"


def _passes_header(kind: str) -> str:
    return {"gradient": "evals / passes", "hessian": "evals / passes", "jacobian": "evals / passes",
            "memory": "calls"}[kind]


def table(report: CostReport) -> Any:
    """The rows (one per method and size), then the slopes, the machine and the notes."""
    from rich.console import Group
    from diffcompare.render.layout import NBSP, Table
    from rich.text import Text

    from rich import box

    what = "peak memory" if report.kind == "memory" else f"cost of the {report.kind}"
    title = f"{what}: {report.function} ({report.description})"
    # no vertical rules and compact padding, so that every column fits an 80-column terminal
    t = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,  # split: keep method, n, m
              key_columns=3 if report.kind == "jacobian" else 2,
              caption=f"budget {report.budget:g}{NBSP}s per cell · median of repeats after a warm-up "
              f"· agreement: max relative difference from {report.reference}")
    size = "k (depth)" if report.kind == "memory" else "n"
    t.add_column("method", no_wrap=True)
    t.add_column(size, justify="right", no_wrap=True)
    if report.kind == "jacobian":
        t.add_column("m", justify="right", no_wrap=True)
    t.add_column("time", justify="right", no_wrap=True)
    peers = report.kind == "jacobian" and bool(report.versions)
    t.add_column("evals / passes" if peers else _passes_header(report.kind), justify="right", no_wrap=True)
    t.add_column("× f", justify="right", no_wrap=True)
    if report.kind == "hessian":
        t.add_column("× grad", justify="right", no_wrap=True)
    if report.kind == "memory":
        t.add_column("peak", justify="right", no_wrap=True)
        t.add_column("tape\nops", justify="right", no_wrap=True)
        t.add_column("B/op", justify="right", no_wrap=True)
    t.add_column("agree", justify="right", no_wrap=True)
    skipped: list[str] = []  # why a cell was not measured: listed under the table, not in a column
    previous = None
    for r in _ordered(report):
        key = r.k if report.kind == "memory" else (r.n, r.m)
        if previous is not None and key != previous:
            t.add_section()
        previous = key
        cells = [r.method, str(r.k if report.kind == "memory" else r.n)]
        if report.kind == "jacobian":
            cells.append(str(r.m))
        if r.status != "ok":  # name every size, so two skipped cells never read alike
            where = f"k={r.k}" if report.kind == "memory" else f"n={r.n}" + (
                f", m={r.m}" if report.kind == "jacobian" else "")
            skipped.append(f"{r.method} at {where}: {r.status}")
        time_cell = seconds_text(r.seconds) if r.status == "ok" else f"[dim]{r.status.split(':')[0]}[/dim]"
        cells += [time_cell, work_text(r), fmt(r.ratio_to_f, 3)]
        if report.kind == "hessian":
            cells.append(fmt(r.ratio_to_gradient, 3))
        if report.kind == "memory":
            cells += [bytes_text(r.peak_bytes), fmt(r.operations), fmt(r.bytes_per_op, 3)]
        cells.append(_agreement(r))
        t.add_row(*cells)
    parts: list[Any] = [t, slopes_table(report)]
    if report.kind == "jacobian" and report.summary.get("crossover") is not None:
        parts.append(winners_table(report))
    parts.extend(Text(line, style="dim") for line in skipped)
    parts.append(Text(summary_text(report)))
    parts.append(Text("machine: " + report.machine.line(), style="dim"))
    if report.versions:
        parts.append(Text("versions: " + ", ".join(dict.fromkeys(report.versions.values())), style="dim"))
    for note in report.notes:
        parts.append(Text("note: " + note, style="dim"))
    return Group(*parts)


def _ordered(report: CostReport) -> list[Row]:
    if report.kind == "memory":
        return sorted(report.rows, key=lambda r: (r.k or 0))
    if report.kind == "jacobian":
        return sorted(report.rows, key=lambda r: (r.n, r.m or 0))
    return report.rows


def slopes_table(report: CostReport) -> Any:
    from diffcompare.render.layout import Table

    t = Table(title=f"fitted log-log slopes: {report.slopes_of}")
    t.add_column("method", no_wrap=True)
    t.add_column("slope", justify="right")
    t.add_column("points", justify="right")
    others = list(report.other_slopes)
    for name in others:
        t.add_column(name, justify="right")
    weak = False
    for method, slope in report.slopes.items():
        cells = [_slope_cell(slope, report.slope_points.get(method, 0))]
        cells += [_slope_cell(report.other_slopes[name].get(method), _points(report, name, method)) for name in others]
        weak = weak or any("weak" in c for c in cells)
        t.add_row(method, cells[0], str(report.slope_points.get(method, 0)), *cells[1:])
    if weak:
        t.caption = (f"weak: fitted through fewer than {MIN_SLOPE_POINTS} sizes (a line through 2 points always "
                     "fits); measure more sizes or give a larger --budget")
    return t


def _points(report: CostReport, name: str | None, method: str) -> int:
    """How many sizes the slope ``name`` (None: the main one) of ``method`` was fitted through."""
    if name is None:
        return report.slope_points.get(method, 0)
    # reports made before the counts were kept: the main fit's count (the other fits use the same rows)
    return report.other_slope_points.get(name, {}).get(method, report.slope_points.get(method, 0))


def _slope_cell(slope: float | None, points: int) -> str:
    """A fitted slope; marked weak when it rests on fewer than MIN_SLOPE_POINTS sizes."""
    if slope is None or points >= MIN_SLOPE_POINTS:
        return fmt(slope, 3)
    return f"{fmt(slope, 3)} [yellow](weak)[/yellow]"


def winners_table(report: CostReport) -> Any:
    """The (n, m) grid: which of jacfwd and jacrev wins each cell, and by how much."""
    from diffcompare.render.layout import Table

    cross = report.summary["crossover"]
    ns = sorted({c.n for c in cross.cells})
    ms = sorted({c.m for c in cross.cells})
    t = Table(title="winner per cell: jacfwd (one direction per pass) or jacrev (rows n, columns m; ×: speed-up)")
    t.add_column("n \\ m", justify="right")
    for m in ms:
        t.add_column(str(m), justify="center")
    by = {(c.n, c.m): c for c in cross.cells}
    for n in ns:
        cells = []
        for m in ms:
            c = by.get((n, m))
            if c is None or c.winner is None:
                cells.append("—")
            elif c.winner == "tie":
                cells.append(f"[dim]tie ×{c.speedup:.2f}[/dim]")
            else:
                style = "cyan" if c.winner == "jacfwd" else "magenta"
                cells.append(f"[{style}]{c.winner[3:]} ×{c.speedup:.3g}[/{style}]")
        t.add_row(str(n), *cells)
    return t


def _batched(report: CostReport, method: str) -> bool:
    """Whether some measured row of ``method`` carried its directions in fewer passes than directions."""
    return any(r.method == method and r.passes is not None and r.evaluations is not None
               and r.passes < r.evaluations for r in report.rows)


def summary_text(report: CostReport) -> str:
    """One or two sentences a reader can act on."""
    s = report.slopes
    if report.kind == "gradient":
        parts = []
        for m in ("reverse", "forward", "finite-central", "symbolic", *report.versions):
            ratio = report.other_slopes.get("ratio_to_f vs n", {}).get(m)
            if ratio is not None:
                points = _points(report, "ratio_to_f vs n", m)
                parts.append(f"{m} {ratio:.2f}" + (f" (weak: {points} sizes)" if points < MIN_SLOPE_POINTS else ""))
        return ("growth of (time / time of f) with n, as a log-log slope: " + ", ".join(parts) +
                " (theory: reverse 0, the cheap-gradient principle; forward and finite differences 1)")
    if report.kind == "hessian":
        parts = [f"{m} {s[m]:.2f}" + (f" (weak: {p} sizes)" if (p := _points(report, None, m)) < MIN_SLOPE_POINTS
                                      else "") for m in s if s[m] is not None and m not in ("f",)]
        return ("time against n, log-log slopes: " + ", ".join(parts) +
                " (Exercise 1: n^2 entries; forward-over-reverse does the work of n HVPs, an HVP about that of a "
                "gradient" + ("; here the n HVPs ride in batched passes (see the note), so its time grows slower "
                              "than n gradients'" if _batched(report, "forward-over-reverse") else "") + ")")
    if report.kind == "jacobian":
        c = report.summary.get("crossover")
        if c is None or c.ratio is None:
            text = "jacfwd against jacrev: no crossover could be fitted (too few cells with both times)"
        else:
            text = (f"jacfwd (one direction per pass) wins when n < {c.ratio:.3g} m, jacrev when n > {c.ratio:.3g} m "
                    f"(fit of log(t_fwd/t_rev) on log(n/m) over {c.points} cells, slope {c.slope:.2f}; theory 1)")
        b = report.summary.get("crossover_batched")
        if b is not None and b.ratio is not None:
            text += (f"; jacfwd-batched (dc.jacfwd, one vectorized pass) wins when n < {b.ratio:.3g} m "
                     f"(slope {b.slope:.2f})")
        elif b is not None and b.points:
            text += "; jacfwd-batched against jacrev: no crossover could be fitted"
        return text
    marginal = report.summary.get("marginal_bytes_per_op")
    rev, fwd = (fmt(s.get(m), 3) + (f" (weak: {p} sizes)" if s.get(m) is not None and
                                    (p := _points(report, None, m)) < MIN_SLOPE_POINTS else "")
                for m in ("reverse", "forward"))
    return (f"peak memory against depth, log-log slopes: reverse {rev}, forward {fwd} "
            f"(theory: 1 and 0); each recorded operation costs about "
            f"{'—' if marginal is None else f'{marginal:.0f}'} bytes of tape")


def to_json(report: CostReport, command: str) -> dict[str, Any]:
    """The report as plain JSON data; ``rows`` and ``slopes`` first, as the README documents."""
    data = jsonable(report)
    return {
        "command": command,
        "rows": data["rows"],
        "slopes": data["slopes"],
        "slopes_of": report.slopes_of,
        "slope_points": data["slope_points"],
        "other_slopes": data["other_slopes"],
        "other_slope_points": data["other_slope_points"],
        "machine": data["machine"],
        "function": report.function,
        "description": report.description,
        "budget_seconds": report.budget,
        "reference": report.reference,
        "summary": data["summary"],
        "notes": report.notes,
        "versions": report.versions,
    }


# -- figures ---------------------------------------------------------------------------------------


def plot(report: CostReport, path: Path) -> None:
    """Save the figure of ``report`` (log-log curves; for the Jacobian a heat map of who wins)."""
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    if report.kind == "jacobian":
        fig = _heatmap(plt, report)
    else:
        fig = _curves(plt, report)
    fig.text(0.01, -0.015, "machine: " + report.machine.line(), fontsize=6, color="0.4")
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def _curves(plt: Any, report: CostReport) -> Any:
    memory = report.kind == "memory"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    x_of = (lambda r: r.k) if memory else (lambda r: r.n)
    left = (lambda r: r.peak_bytes) if memory else (lambda r: r.seconds)
    right = (lambda r: r.seconds) if memory else (lambda r: r.ratio_to_f)
    for i, method in enumerate(report.methods()):
        rows = [r for r in report.rows if r.method == method and r.status == "ok"]
        if not rows:
            continue
        slope = report.slopes.get(method)
        label = method + ("" if slope is None else f" (slope {slope:.2f})")
        color = f"C{i % 10}"  # the same colour for a method in both panels
        axes[0].plot([x_of(r) for r in rows], [left(r) for r in rows], marker="o", label=label, color=color)
        if not memory and method == "f":
            continue
        axes[1].plot([x_of(r) for r in rows], [right(r) for r in rows], marker="o", label=method, color=color)
    xlabel = "depth k (logistic map steps)" if memory else "n (inputs)"
    axes[0].set(xscale="log", yscale="log", xlabel=xlabel,
                ylabel="peak memory (bytes)" if memory else "median time (s)",
                title=f"{report.kind}: {report.function}")
    axes[1].set(xscale="log", yscale="log", xlabel=xlabel,
                ylabel="median time (s)" if memory else "time / time of one f",
                title="time" if memory else "cost relative to one evaluation of f")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        # below the panel: inside, "best" still covered a line (the Hessian's hvp)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
        ax.tick_params(axis="x", which="minor", labelbottom=False)  # 3x10^1 and 4x10^1 ran together
    fig.tight_layout()
    return fig


def _heatmap(plt: Any, report: CostReport) -> Any:
    import numpy as np

    cross = report.summary["crossover"]
    ns = sorted({c.n for c in cross.cells})
    ms = sorted({c.m for c in cross.cells})
    grid = np.full((len(ns), len(ms)), np.nan)
    for c in cross.cells:
        if c.winner is not None:
            grid[ns.index(c.n), ms.index(c.m)] = math.log10(c.jacfwd / c.jacrev)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    finite = grid[np.isfinite(grid)]
    lim = float(np.max(np.abs(finite))) if finite.size else 1.0
    im = ax.imshow(grid, origin="lower", cmap="coolwarm", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(ms)), [str(m) for m in ms])
    ax.set_yticks(range(len(ns)), [str(n) for n in ns])
    ax.set(xlabel="m (outputs)", ylabel="n (inputs)",
           title="which Jacobian mode wins, one direction per pass each\n"
                 "blue: jacfwd (forward) faster, red: jacrev (reverse) faster")
    for c in cross.cells:
        if c.winner is not None:
            ax.text(ms.index(c.m), ns.index(c.n), {"jacfwd": "fwd", "jacrev": "rev", "tie": "tie"}[c.winner],
                    ha="center", va="center", fontsize=7)
        else:  # a blank cell would read as "no difference": say which time is missing and why
            missing = "\n".join(name for name, t in (("fwd", c.jacfwd), ("rev", c.jacrev)) if t is None)
            ax.add_patch(plt.Rectangle((ms.index(c.m) - 0.5, ns.index(c.n) - 0.5), 1, 1, fill=False,
                                       hatch="///", edgecolor="0.6", lw=0))
            ax.text(ms.index(c.m), ns.index(c.n), f"{missing}\nskipped", ha="center", va="center", fontsize=6,
                    color="0.3")
    if any(c.winner is None for c in cross.cells):
        ax.set_xlabel(f"m (outputs)\nhatched: not measured (predicted past the budget of {report.budget:g} s per cell)")
    batched = report.summary.get("crossover_batched")
    lines = [(cross, "k--", "fitted crossover n = {:.3g} m"),
             (batched, "k:", "dc.jacfwd (batched) against jacrev: n = {:.3g} m")]
    drawn = False
    for fit, style, label in lines:
        if fit is None or fit.ratio is None:
            continue
        # the fitted crossover n = ratio * m, drawn in the index coordinates of the log-spaced grid
        mm = np.geomspace(ms[0], ms[-1], 50)
        nn = fit.ratio * mm
        ax.plot(np.interp(np.log(mm), np.log(ms), range(len(ms))),
                np.interp(np.log(nn), np.log(ns), range(len(ns)), left=np.nan, right=np.nan),
                style, lw=1, label=label.format(fit.ratio))
        drawn = True
    if drawn:  # below the axes: inside, it covered the labels of the top row
        below = -0.19 if any(c.winner is None for c in cross.cells) else -0.14
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, below), ncol=2, frameon=False)
    fig.colorbar(im, ax=ax, label="log10(t_jacfwd / t_jacrev)")
    fig.tight_layout()
    return fig
