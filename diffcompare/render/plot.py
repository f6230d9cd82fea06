"""Drawing ``diffcompare plot``: curves and gradient fields in the terminal, as images, CSV and JSON.

In the terminal a two-variable field is two character maps, one above the other: the level of f in ten bands
(0 = lowest tenth .. 9 = highest) — coarse contour lines are where the digit changes — and the
direction of the gradient as one of eight arrows ``→ ↗ ↑ ↖ ← ↙ ↓ ↘`` (``·`` where the gradient
vanishes, blank where f is undefined). Real contour lines with arrows need ``--out FILE.png``.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from diffcompare.analysis.sampling import Curves, Field
from diffcompare.render import fmt

ARROWS = "→↗↑↖←↙↓↘"  # counter-clockwise from east, in steps of 45 degrees
# a gradient shorter than this fraction of the largest one on the grid is drawn as a dot: "flat here"
_FLAT = 1e-3


def series_name(k: int, variable: str = "x") -> str:
    if k == 0:
        return f"f({variable})"
    return "f" + ("'" * k if k <= 3 else f"^({k})") + f"({variable})"


def y_limits(c: Curves) -> tuple[float, float] | None:
    """y limits for the bulk of the curves, or None when every finite value fits without squashing.

    Near a pole a few samples are orders of magnitude larger than the rest and would flatten every
    curve; the limits are the 5th..95th percentiles of each series (their union), padded by a quarter
    of that span, used only when some value lies more than one span beyond them. What falls outside
    is clipped and marked, never dropped silently.
    """
    finite = [v[np.isfinite(v)] for v in c.series.values()]
    finite = [v for v in finite if v.size]
    if not finite:
        return None
    lo = min(float(np.percentile(v, 5)) for v in finite)
    hi = max(float(np.percentile(v, 95)) for v in finite)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    every = np.concatenate(finite)
    if every.min() >= lo - span and every.max() <= hi + span:
        return None
    return lo - span / 4, hi + span / 4


def clipped_text(c: Curves, limits: tuple[float, float] | None) -> str | None:
    """How many samples lie beyond the y limits, in words (None if nothing is clipped)."""
    if limits is None:
        return None
    every = np.concatenate([v[np.isfinite(v)] for v in c.series.values()])
    above, below = int(np.sum(every > limits[1])), int(np.sum(every < limits[0]))
    return (f"y clipped to {fmt(limits[0], 3)} .. {fmt(limits[1], 3)} (a pole or steep end): "
            f"{above} values above (^), {below} below (v)")


def _undefined_runs(c: Curves) -> list[tuple[int, int]]:
    """Runs of consecutive samples where f or a derivative is undefined: (first, last + 1) indices."""
    bad = ~np.all([np.isfinite(v) for v in c.series.values()], axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(int), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def undefined_text(c: Curves, most: int = 4) -> str | None:
    """Where on the range f or a derivative is undefined: the spans of consecutive undefined samples."""
    runs = _undefined_runs(c)
    if not runs:
        return None
    spans = []
    for a, b in runs:  # samples a .. b-1 are undefined
        lo, hi = fmt(float(c.xs[a]), 4), fmt(float(c.xs[b - 1]), 4)
        spans.append(f"{c.variable} = {lo}" if a == b - 1 else f"{lo} ≤ {c.variable} ≤ {hi}")
    more = f" and {len(spans) - most} more spans" if len(spans) > most else ""
    return (f"undefined at {sum(b - a for a, b in runs)} of {c.xs.size} samples ({', '.join(spans[:most])}{more}): "
            "shown as gaps")


def curves_text(c: Curves, width: int | None = None, height: int = 20) -> str:
    from diffcompare.render.termplot import line_plot

    series = {series_name(k, c.variable): (c.xs.tolist(), c.series[k].tolist()) for k in sorted(c.series)}
    title = f"{c.function} and its derivatives by {c.mode}-mode AD ({c.xs.size} samples, one pass per order)"
    limits = y_limits(c)
    lines = [line_plot(series, width=width, height=height, xlabel=c.variable, title=title,
                       xlim=(float(c.xs[0]), float(c.xs[-1])), ylim=limits)]
    import shutil
    import textwrap

    columns = shutil.get_terminal_size((80, 24)).columns  # notes wrap at words, never mid-number
    lines += [textwrap.fill(t, width=max(39, columns - 1), subsequent_indent="  ", break_long_words=False)
              for t in (clipped_text(c, limits), undefined_text(c)) if t]
    return "\n".join(lines)


def _resample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Nearest samples of a grid on a rows x cols character raster, top row = largest y."""
    ri = np.linspace(a.shape[0] - 1, 0, rows).round().astype(int)
    ci = np.linspace(0, a.shape[1] - 1, cols).round().astype(int)
    return a[np.ix_(ri, ci)]


def arrow(gx: float, gy: float, scale: float) -> str:
    """One character for the direction of (gx, gy): an arrow, '·' if ~zero, ' ' if undefined."""
    if not (math.isfinite(gx) and math.isfinite(gy)):
        return " "
    if math.hypot(gx, gy) <= _FLAT * scale:
        return "·"
    return ARROWS[round(math.atan2(gy, gx) / (math.pi / 4)) % 8]


def field_text(fl: Field, cols: int | None = None, rows: int = 18, saved: str | None = None,
               how: str = "add --out FILE.png (matplotlib)") -> str:
    """The level map above the arrow map (each ``cols`` x ``rows`` characters, top row = largest y).

    ``cols``: by default 60, fewer on a narrower terminal so that no line is wider than it (text wraps at words).
    ``saved``: the image already written by ``--out``, named instead of suggesting ``how`` to draw one.
    """
    import shutil
    import textwrap

    columns = shutil.get_terminal_size((80, 24)).columns
    if cols is None:
        cols = max(20, min(60, columns - 2))
    room = max(cols + 2, columns)

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, width=room, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)

    v = _resample(fl.values, rows, cols)
    gx, gy = _resample(fl.grad_x, rows, cols), _resample(fl.grad_y, rows, cols)
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    norms = np.hypot(fl.grad_x, fl.grad_y)
    scale = float(np.nanmax(norms)) if np.any(np.isfinite(norms)) else 1.0
    x1, x2 = fl.variables
    axes = (f"{x1}: {fmt(fl.xs[0], 4)} .. {fmt(fl.xs[-1], 4)} (left to right), "
            f"{x2}: {fmt(fl.ys[0], 4)} .. {fmt(fl.ys[-1], 4)} (bottom to top)")
    out = [*wrap(f"{fl.function} on a {fl.xs.size} x {fl.ys.size} grid, gradient by forward-mode AD"), "",
           *wrap(f"levels of f in tenths: 0 = {fmt(lo, 4)} .. 9 = {fmt(hi, 4)} (contours run along digit changes)")]
    for r in range(rows):
        out.append("  " + "".join(" " if not math.isfinite(val) else str(min(9, int((val - lo) / span * 10)))
                                  for val in v[r]))
    out += ["", *wrap("direction of the gradient (steepest ascent; · where it vanishes)")]
    for r in range(rows):
        out.append("  " + "".join(arrow(float(a), float(b), scale) for a, b in zip(gx[r], gy[r])))
    out += wrap(axes)
    if fl.undefined:
        out += wrap(f"undefined at {fl.undefined} of {fl.values.size} grid points: left blank")
    # the saved path stays on its line whole, copyable (the one line that may be wider: the user chose it)
    out += [f"contour lines with arrows: in {saved}"] if saved else wrap(f"contour lines with arrows: {how}")
    return "\n".join(out)


def save_curves(c: Curves, path: str) -> None:
    """The figure of :func:`curves_figure`, saved to ``path``."""
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = curves_figure(plt, c)
    fig.savefig(path)
    plt.close(fig)


def curves_figure(plt: Any, c: Curves) -> Any:
    """f and its AD derivatives over the range; clipped samples as triangles on the edge, gaps shaded."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    limits = y_limits(c)
    for k in sorted(c.series):
        (line,) = ax.plot(c.xs, c.series[k], label=series_name(k, c.variable) + (" (AD)" if k else ""))
        if limits is not None:  # clipped samples: a triangle on the edge, pointing the way the curve went
            for keep, edge, mark in ((c.series[k] > limits[1], limits[1], "^"),
                                     (c.series[k] < limits[0], limits[0], "v")):
                ax.plot(c.xs[keep], np.full(int(keep.sum()), edge), mark, color=line.get_color(), ms=4, clip_on=False)
    step = (c.xs[-1] - c.xs[0]) / max(c.xs.size - 1, 1)
    for a, b in _undefined_runs(c):  # the undefined part of the range, shaded
        ax.axvspan(c.xs[a] - step / 2, c.xs[b - 1] + step / 2, color="0.85", lw=0)
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.set_xlim(c.xs[0], c.xs[-1])
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel(c.variable)
    notes = [t for t in (clipped_text(c, limits), undefined_text(c)) if t]
    ax.set_title(f"{c.function} and its derivatives, by {c.mode}-mode AD"
                 + "".join("\n" + n.replace(": shown as gaps", ": shaded") for n in notes),
                 fontsize=8 if notes else None)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def save_field(fl: Field, path: str, arrows: int = 20) -> None:
    """The figure of :func:`field_figure`, saved to ``path``."""
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = field_figure(plt, fl, arrows)
    fig.savefig(path)
    plt.close(fig)


def field_figure(plt: Any, fl: Field, arrows: int = 20) -> Any:
    """Filled contours of f, contour lines, and ∇f arrows on a coarser grid (about ``arrows`` per side)."""
    X, Y = np.meshgrid(fl.xs, fl.ys)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    values = np.ma.masked_invalid(fl.values)
    filled = ax.contourf(X, Y, values, levels=20, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, values, levels=20, colors="k", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label=fl.function)
    step = max(1, fl.xs.size // arrows)
    sl = (slice(None, None, step), slice(None, None, step))
    ax.quiver(X[sl], Y[sl], np.ma.masked_invalid(fl.grad_x[sl]), np.ma.masked_invalid(fl.grad_y[sl]),
              color="white", angles="xy", pivot="mid")
    ax.set_xlabel(fl.variables[0])
    ax.set_ylabel(fl.variables[1])
    ax.set_title(f"{fl.function}: contours and ∇f (forward-mode AD)")
    fig.tight_layout()
    return fig


def curves_csv(c: Curves) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.variable] + [series_name(k, c.variable) for k in sorted(c.series)])
    for i, x in enumerate(c.xs):
        w.writerow([repr(float(x))] + [_cell(c.series[k][i]) for k in sorted(c.series)])
    return buf.getvalue()


def field_csv(fl: Field) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    x1, x2 = fl.variables
    w.writerow([x1, x2, "f", f"df/d{x1}", f"df/d{x2}"])
    for i, y in enumerate(fl.ys):
        for j, x in enumerate(fl.xs):
            w.writerow([repr(float(x)), repr(float(y)), _cell(fl.values[i, j]), _cell(fl.grad_x[i, j]),
                        _cell(fl.grad_y[i, j])])
    return buf.getvalue()


def _cell(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else ""  # an empty cell: undefined


def curves_json(c: Curves) -> dict[str, Any]:
    return {"function": c.function, "variable": c.variable, "mode": c.mode, "max_order": c.max_order,
            "x": c.xs, "series": {str(k): c.series[k] for k in sorted(c.series)}, "undefined": c.undefined}


def field_json(fl: Field) -> dict[str, Any]:
    return {"function": fl.function, "variables": list(fl.variables), "x": fl.xs, "y": fl.ys,
            "values": fl.values, "grad_x": fl.grad_x, "grad_y": fl.grad_y, "undefined": fl.undefined}
