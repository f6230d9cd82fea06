"""Line plots drawn with characters, so a user sees a curve without leaving the shell."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

MARKERS = "*o+x#@%&$=~?"  # then letters: every series its own marker (^ and v mark clipped points)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUWXYZ"


def marker(k: int) -> str:
    """The k-th series' marker, distinct for every k up to 37 series (then they repeat)."""
    pool = MARKERS + _LETTERS
    return pool[k % len(pool)]


def _fraction(v: float, lo: float, hi: float) -> float:
    """Where v lies in [lo, hi], 0 to 1; halved first when hi - lo overflows (a range like ±1e308)."""
    if math.isfinite(hi - lo):
        return (v - lo) / (hi - lo)
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2)


def line_plot(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    width: int | None = None,
    height: int = 20,
    logx: bool = False,
    logy: bool = False,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> str:
    """Scatter each series' points on a character grid; one marker per series, a legend below.

    Non-finite points (and non-positive ones on a log axis) are skipped, so gaps stay visible.
    Axis labels show the data range (as powers of ten on log axes). ``width`` is the plotting area;
    by default, what fits the terminal (at most 72 columns) beside the axis labels. ``xlim`` fixes the x
    axis (the whole requested range, even where nothing is defined); ``ylim`` fixes the y axis and
    points beyond it are drawn on its edge as ``^`` (above) or ``v`` (below): clipped, not lost.
    """

    def tx(v: float, log: bool) -> float | None:
        if v is None or not math.isfinite(v) or (log and v <= 0):
            return None
        return math.log10(v) if log else v

    pts = {name: [(tx(x, logx), tx(y, logy)) for x, y in zip(xs, ys)] for name, (xs, ys) in series.items()}
    allx = [x for p in pts.values() for x, y in p if x is not None and y is not None]
    ally = [y for p in pts.values() for x, y in p if x is not None and y is not None]
    if not allx:
        return f"{title}\n(nothing to plot: no finite points)"
    x0, x1 = (min(allx), max(allx)) if xlim is None else (tx(xlim[0], logx), tx(xlim[1], logx))
    y0, y1 = (min(ally), max(ally)) if ylim is None else (tx(ylim[0], logy), tx(ylim[1], logy))
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    def label(v: float, log: bool, lo: float, hi: float) -> str:
        if not log and abs(v) / 2 < 1e-3 * (hi / 2 - lo / 2):  # below its axis' resolution: it is 0
            v = 0.0
        if log:  # 10^v with two digits: mid-axis labels between powers of ten stay distinct (3.2e-4)
            mantissa, exponent = f"{10.0 ** v:.1e}".split("e")
            return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
        return f"{v:.3g}"

    ylab = [label(y1, logy, y0, y1), label(y0 / 2 + y1 / 2, logy, y0, y1), label(y0, logy, y0, y1)]
    pad = max(len(s) for s in ylab)
    if width is None:
        import shutil

        width = max(20, min(72, shutil.get_terminal_size((80, 24)).columns - pad - 3))
    grid = [[" "] * width for _ in range(height)]
    for k, p in enumerate(pts.values()):
        mark = marker(k)
        for x, y in p:
            if x is None or y is None:
                continue
            if not x0 <= x <= x1:
                continue
            c = round(_fraction(x, x0, x1) * (width - 1))
            if y > y1 or y < y0:  # clipped: on the edge, marked by direction
                grid[0 if y > y1 else height - 1][c] = "^" if y > y1 else "v"
                continue
            r = height - 1 - round(_fraction(y, y0, y1) * (height - 1))
            grid[r][c] = mark
    total = pad + 2 + width  # the widest line of the plot: titles, labels and legend wrap to it
    lines = _wrap(title, total) if title else []
    if ylabel:
        lines += _wrap(ylabel, total)
    for i, row in enumerate(grid):
        tick = ylab[0] if i == 0 else ylab[1] if i == height // 2 else ylab[2] if i == height - 1 else ""
        lines.append(f"{tick:>{pad}} |" + "".join(row))
    lines.append(" " * pad + " +" + "-" * width)
    left, right = label(x0, logx, x0, x1), label(x1, logx, x0, x1)
    lines.append(" " * (pad + 2) + left + " " * max(1, width - len(left) - len(right)) + right)
    if xlabel:
        lines += [" " * (pad + 2) + part.center(width) for part in _wrap(xlabel, width)]
    legend = ""  # as many entries a line as fit under the plot, never an entry split in two
    for k, name in enumerate(pts):
        entry = f"{marker(k)} {name}"
        if legend and len(legend) + 3 + len(entry) > width:
            lines.append(" " * (pad + 2) + legend)
            legend = ""
        if len(entry) > width:  # an entry longer than the plot is wide: its label wraps, indented past the marker
            parts = _wrap(entry, width, indent="  ")
            lines += [" " * (pad + 2) + part for part in parts[:-1]]
            entry = parts[-1]
        legend = f"{legend}   {entry}" if legend else entry
    lines.append(" " * (pad + 2) + legend)
    return "\n".join(lines)


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` cells, at spaces where possible (a word longer than a line is cut)."""
    import textwrap

    return textwrap.wrap(text, width=max(1, width), subsequent_indent=indent, break_on_hyphens=False) or [""]
