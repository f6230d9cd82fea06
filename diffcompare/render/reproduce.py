"""`reproduce`: the slides' numbers beside ours, coloured by agreement, and the JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.reproduce import Num, Reproduction
from diffcompare.render.notation import number

_STYLE = {"agree": "green", "rounded inputs": "green", "inherited": "yellow", "erratum": "yellow"}


def note_text(parts: Any) -> str:
    """A note (text with values in it, as the analysis keeps it) written out: each value in the trace's notation."""
    if isinstance(parts, str):
        return parts
    return "".join(number(p.value, p.digits) if isinstance(p, Num) else p for p in parts)


def _computed(x: Any) -> str:
    """Our value: a number to 8 digits, or a formula evaluated on our values."""
    if isinstance(x, list) and any(isinstance(p, Num) for p in x):
        return note_text(x)
    return x if isinstance(x, str) else number(x, 8)


def _computed_data(x: Any) -> Any:
    """The JSON's ``computed``: the value itself, or a formula's evaluation as its text."""
    return note_text(x) if isinstance(x, list) and any(isinstance(p, Num) for p in x) else x


def _formula(text: str) -> bool:
    """A printed formula rather than a number: too long for a number column, shown under its check instead."""
    return len(text) > 16 and not text.startswith("[")


def _name(c: Any) -> str:
    """What a reader calls a check: its description, else the last part of where it is (never its id)."""
    return c.description or c.where.rpartition(", ")[2]


def _readable(note: str, labels: dict[str, str]) -> str:
    """A note with the checks' internal ids (``bp_dE_dwh1``) replaced by what the slides call them (``∂E/∂wh1``),
    a sum in brackets where an operator binds it (``0.5*bp_t_minus_y**2`` reads ``0.5*(t - y)**2``)."""
    import re

    if not labels:
        return note
    ids = sorted(labels, key=len, reverse=True)

    def label(m: re.Match[str]) -> str:
        text = labels[m.group(1)]
        before, after = note[:m.start()].rstrip()[-1:], note[m.end():].lstrip()[:1]
        compound = re.search(r"\s[-+]\s", text) is not None  # t - y: a sum, which a product or power must bracket
        return f"({text})" if compound and (before in ("*", "/", "^", "-") or after in ("*", "/", "^")) else text

    return re.sub(r"\b(" + "|".join(map(re.escape, ids)) + r")\b", label, note)


def summary(r: Reproduction) -> str:
    """The counts in the status column's own words."""
    n = {s: sum(c.status == s for c in r.checks) for s in ("agree", "rounded inputs", "erratum", "inherited")}
    return (f"{n['agree'] + n['rounded inputs']} agree ({n['agree']} agree, {n['rounded inputs']} rounded inputs); "
            f"{n['erratum'] + n['inherited']} explained differences ({n['erratum']} erratum, "
            f"{n['inherited']} inherited); {r.unexplained} unexplained")


def table(r: Reproduction) -> Any:
    """Checks grouped by where they are in the slides; green agrees, yellow is an explained erratum,
    red is unexplained. Notes (why a number differs) and long formulas sit under the table or the check,
    indented, so that the table fits 80 columns without splitting a word."""
    from itertools import groupby

    from rich import box
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    from diffcompare.render.layout import Table

    t = Table(title="every worked number of the lecture, recomputed", box=box.SIMPLE_HEAD,
              collapse_padding=True, pad_edge=False, show_edge=False, caption=summary(r))
    t.add_column("check", ratio=1)
    t.add_column("slides", justify="right")
    t.add_column("ours", justify="right")
    t.add_column("status")
    notes = Table.grid(padding=(0, 1))  # a hanging indent: wrapped lines stay right of "[n]"
    notes.add_column(style="dim", justify="right")
    notes.add_column(style="dim")

    def section(c: Any) -> str:  # "Table 1 (...), row v_1" -> "Table 1 (...)": the row is in the check itself
        head, sep, _ = c.where.partition("), ")
        return head + ")" if sep else c.where

    labels = {c.id: (c.description.split(" = ")[0].split(" (")[0] if c.description else _name(c)) for c in r.checks}
    for where, group in groupby(r.checks, key=section):
        t.add_row(f"[bold]{where}[/bold]", "", "", "")
        for c in group:
            style = _STYLE[c.status] if c.explained else "red"
            mark = ""
            if c.note and c.status != "agree":
                notes.add_row(f"[{notes.row_count + 1}]", _readable(f"{_name(c)}: {note_text(c.note)}", labels))
                mark = f"\n[{notes.row_count}]"
            slides, ours = c.seed_value, _computed(c.computed)
            check: Any = Text(_readable(_name(c), labels))
            if _formula(slides) or _formula(ours):
                check = Group(check, Padding(Text(f"slides: {slides}\nours: {ours}", style="dim"), (0, 0, 0, 2)))
                slides, ours = "↓", "↓"
            t.add_row(Padding(check, (0, 0, 0, 2)), slides, ours, f"[{style}]{c.status}[/{style}]{mark}")
    legend = [Text(r.notes[0], style="dim")] if r.notes else []  # wrapped as text: a caption line is cut
    return Group(t, *legend, notes)


def to_json(r: Reproduction) -> dict[str, Any]:
    """``checks``: ``{id, description, seed_value, computed, agree, note}`` plus status and the numbers behind it."""
    return {"ok": r.ok, "agreed": r.agreed, "errata": r.errata, "unexplained": r.unexplained, "rule": r.notes,
            "checks": [{"id": c.id, "description": c.description, "where": c.where, "seed_value": c.seed_value,
                        "computed": _computed_data(c.computed), "agree": c.agree, "status": c.status,
                        "explained": c.explained, "note": note_text(c.note), "difference": c.difference,
                        "carried": c.carried, "tolerance": c.tolerance} for c in r.checks]}
