"""`reproduce`: the slides' numbers beside ours, coloured by agreement, and the JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.reproduce import Reproduction
from diffcompare.analysis.trace import number

_STYLE = {"agree": "green", "rounded inputs": "green", "inherited": "yellow", "erratum": "yellow"}


def _computed(x: Any) -> str:
    if isinstance(x, str):
        return x if len(x) <= 60 else x[:57] + "..."
    return number(x, 8)


def table(r: Reproduction) -> Any:
    """Checks grouped by where they are in the slides; green agrees, yellow is an explained erratum,
    red is unexplained. Notes (why a number differs) follow the table, so that it fits 80 columns."""
    from itertools import groupby

    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table(title="every worked number of the lecture, recomputed", box=box.SIMPLE_HEAD,
              collapse_padding=True, pad_edge=False,
              caption=f"{r.agreed} agree, {r.errata} explained errata of the slides, {r.unexplained} unexplained")
    t.add_column("check", overflow="fold", ratio=1, min_width=24)
    t.add_column("slides", justify="right", overflow="fold", max_width=20)
    t.add_column("ours", justify="right", overflow="fold", max_width=18)
    t.add_column("status", no_wrap=True)
    notes = []
    def section(c: Any) -> str:  # "Table 1 (...), row v_1" -> "Table 1 (...)": the row is in the check itself
        head, sep, _ = c.where.partition("), ")
        return head + ")" if sep else c.where

    for where, group in groupby(r.checks, key=section):
        t.add_row(f"[bold]{where}[/bold]", "", "", "")
        for c in group:
            style = _STYLE[c.status] if c.explained else "red"
            mark = ""
            if c.note and c.status != "agree":
                notes.append(Text(f"[{len(notes) + 1}] {c.id}: {c.note}", style="dim"))
                mark = f" [{len(notes)}]"
            t.add_row(f"  {c.description or c.id}", c.seed_value, _computed(c.computed),
                      f"[{style}]{c.status}[/{style}]{mark}")
    legend = [Text(r.notes[0], style="dim")] if r.notes else []  # wrapped as text: a caption line is cut
    return Group(t, *legend, *notes)


def to_json(r: Reproduction) -> dict[str, Any]:
    """``checks``: ``{id, description, seed_value, computed, agree, note}`` plus status and the numbers behind it."""
    return {"ok": r.ok, "agreed": r.agreed, "errata": r.errata, "unexplained": r.unexplained, "rule": r.notes,
            "checks": [{"id": c.id, "description": c.description, "where": c.where, "seed_value": c.seed_value,
                        "computed": c.computed, "agree": c.agree, "status": c.status, "explained": c.explained,
                        "note": c.note, "difference": c.difference, "carried": c.carried,
                        "tolerance": c.tolerance} for c in r.checks]}
