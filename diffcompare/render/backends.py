"""The `diffcompare backends` table and its JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.catalog import MAX_PROBED_ORDER, BackendInfo

_COLUMNS = ("gradient", "jacobian", "hessian", "numpy_code")
_HEADERS = {"gradient": "gradient", "jacobian": "jacobian", "hessian": "hessian", "numpy_code": "numpy code"}
_STYLE = {"ok": "green", "wrong": "red", "no": "yellow"}


#: a cell of a backend whose probes did not run (``--no-probe``): unknown, which "—" or "no" would misstate
NOT_PROBED = "[dim]?[/dim]"


def _orders(info: BackendInfo) -> str:
    if not info.probed:
        return NOT_PROBED
    if not info.orders:
        return "—"
    lo, hi = info.orders[0], info.orders[-1]
    text = str(lo) if lo == hi else f"{lo}-{hi}"
    return text + "+" if hi == MAX_PROBED_ORDER else text


def _cell(info: BackendInfo, key: str) -> str:
    if not info.probed:
        return NOT_PROBED
    cap = info.capabilities.get(key)
    if cap is None:
        return "—"
    word = {"ok": "yes", "wrong": "wrong", "no": "no"}[cap.verdict]
    return f"[{_STYLE[cap.verdict]}]{word}[/{_STYLE[cap.verdict]}]"


#: peers whose import and first traced call dominate the probing time (measured on 2 shared cores:
#: `time diffcompare backends` 20.5 s and 28.7 s with jax and torch installed, 33-67 s under heavier load;
#: 2.1 s with no peer installed)
_SLOW_PEERS = ("jax", "torch")


def probe_cost(infos: list[BackendInfo]) -> str:
    """What the probes cost here, in words: honest about the slow imports of jax and torch."""
    slow = [i.name for i in infos if i.installed and i.name in _SLOW_PEERS]
    if slow:
        return f"it imports every library; with {' and '.join(slow)} installed that takes ~20-70 s"
    return "it imports every library: a few seconds without jax and torch"


def table(infos: list[BackendInfo]) -> Any:
    from rich.console import Group
    from rich.markup import escape
    from rich.text import Text

    from diffcompare.render.layout import Table

    unprobed = any(i.installed and not i.probed for i in infos)
    t = Table(title="backends", caption=(
        "? = not probed (--no-probe): what each backend supports is not known here; `diffcompare backends` "
        f"tries each one ({probe_cost(infos)})") if unprobed else (
        f"orders: derivative orders 1..{MAX_PROBED_ORDER} probed on sin(x)*exp(x) at 0.5 (+: and beyond, "
        "untested); gradient, jacobian, hessian: probed on x1*x2 + x2 - log(x1) at (3, -4); numpy code: the same "
        "function as a plain Python function using np.log; yes = ran and agreed with the exact value to 1e-5"))
    t.add_column("backend")
    t.add_column("kind")
    t.add_column("library")
    t.add_column("orders", justify="right")
    for key in _COLUMNS:
        t.add_column(_HEADERS[key])
    notes: list[str] = []
    for info in infos:
        library = info.library or "—"
        if not info.installed:
            t.add_row(info.name, info.kind, f"[dim]{escape(info.note or 'not installed')}[/dim]", "—",
                      *["—"] * len(_COLUMNS))
            continue
        t.add_row(info.name, info.kind, escape(library), _orders(info), *[_cell(info, k) for k in _COLUMNS])
        for key, cap in info.capabilities.items():
            if cap.verdict != "ok" and cap.reason and (key in _COLUMNS or key.startswith("order")):
                notes.append(f"{info.name}, {_HEADERS.get(key, key)}: {cap.reason}")
    return Group(t, *(Text(line, style="dim") for line in notes))


def to_json(infos: list[BackendInfo]) -> list[dict[str, Any]]:
    return [{
        "name": i.name, "kind": i.kind, "installed": i.installed, "library": i.library, "orders": i.orders,
        "capabilities": {k: {"verdict": c.verdict, "reason": c.reason} for k, c in i.capabilities.items()},
        "note": i.note, "probed": i.probed,
    } for i in infos]
