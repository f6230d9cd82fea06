"""matplotlib, imported only when a picture is asked for (the optional extra ``plot``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diffcompare.errors import DiffcompareError


def pyplot(interactive: bool = False) -> Any:
    """matplotlib.pyplot with a non-interactive backend, or a one-line error saying how to get it.

    ``interactive``: keep the backend the user has (a notebook's inline backend), for ``.plot()`` in Python.
    """
    try:
        import matplotlib

        if not interactive:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DiffcompareError(
            "plots need matplotlib: pip install 'diffcompare[plot]' (or pip install matplotlib)"
        ) from None
    return plt


def check_plot_path(path: str, option: str = "--plot") -> Path:
    """A .png/.svg/.pdf path whose folder exists; checked before any work is done."""
    p = Path(path)
    if p.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise DiffcompareError(f"{option} file must end in .png, .svg or .pdf, not {p.name!r}")
    if not p.parent.exists():
        raise DiffcompareError(f"folder {str(p.parent)!r} does not exist")
    return p
