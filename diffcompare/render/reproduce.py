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
    """One row per printed number; green agrees, yellow is an explained erratum, red is unexplained."""
    from rich.table import Table

    t = Table(title="every worked number of the lecture, recomputed",
              caption=f"{r.agreed} agree, {r.errata} explained errata of the slides, {r.unexplained} unexplained"
              f"\n{r.notes[0] if r.notes else ''}")
    t.add_column("id", no_wrap=True)
    t.add_column("where / what", overflow="fold", ratio=2)
    t.add_column("slides", justify="right", overflow="fold", ratio=1)
    t.add_column("ours", justify="right", overflow="fold", ratio=1)
    t.add_column("status", no_wrap=True)
    t.add_column("note", overflow="fold", ratio=3)
    for c in r.checks:
        style = _STYLE[c.status] if c.explained else "red"
        what = f"{c.where}: {c.description}" if c.description else c.where
        t.add_row(c.id, what, c.seed_value, _computed(c.computed), f"[{style}]{c.status}[/{style}]", c.note)
    return t


def to_json(r: Reproduction) -> dict[str, Any]:
    """``checks``: ``{id, description, seed_value, computed, agree, note}`` plus status and the numbers behind it."""
    return {"ok": r.ok, "agreed": r.agreed, "errata": r.errata, "unexplained": r.unexplained, "rule": r.notes,
            "checks": [{"id": c.id, "description": c.description, "where": c.where, "seed_value": c.seed_value,
                        "computed": c.computed, "agree": c.agree, "status": c.status, "explained": c.explained,
                        "note": c.note, "difference": c.difference, "carried": c.carried,
                        "tolerance": c.tolerance} for c in r.checks]}
