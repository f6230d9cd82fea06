"""The registry of differentiators: ``get(name, **options)`` and ``available()``.

Built-in backends are imported only when asked for (sympy is heavy). Third-party backends
register a factory under the entry-point group ``diffcompare.backends``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

from diffcompare.backends.base import Differentiator, Result
from diffcompare.errors import DiffcompareError

__all__ = ["Differentiator", "Result", "available", "get", "register"]

_BUILTIN = {
    "finite": "diffcompare.backends.finite:FiniteDifferences",
    "symbolic": "diffcompare.backends.symbolic:Symbolic",
    "reverse": "diffcompare.backends.autodiff:ReverseAD",
    "forward": "diffcompare.backends.autodiff:ForwardAD",
}
_REGISTERED: dict[str, Callable[..., Differentiator]] = {}


def register(name: str, factory: Callable[..., Differentiator]) -> None:
    """Make ``get(name)`` return ``factory(**options)``."""
    _REGISTERED[name] = factory


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="diffcompare.backends")}


def available() -> list[str]:
    """Names of every backend that ``get`` accepts: built-ins first, then peers whose library is installed."""
    names = list(_BUILTIN) + [n for n in _REGISTERED if n not in _BUILTIN]
    return names + [n for n, ep in _entry_points().items() if n not in names and installed(ep)]


def installed(entry_point: Any) -> bool:
    """Whether an entry point's backend can run: its class names the library it needs (``library = "jax"``),
    which must be findable. Checked without importing the library (``find_spec``), so start-up stays fast."""
    from importlib.util import find_spec

    try:
        library = getattr(entry_point.load(), "library", "")
    except Exception:  # noqa: BLE001 — a broken plug-in is not available, and must not break the listing
        return False
    if not library:
        return True
    try:
        return find_spec(library) is not None
    except (ImportError, ValueError):
        return False


def get(name: str, **options: Any) -> Differentiator:
    """A differentiator by name, configured with ``options`` (e.g. ``get("finite", scheme="central")``)."""
    if name in _REGISTERED:
        return _REGISTERED[name](**options)
    if name in _BUILTIN:
        module, cls = _BUILTIN[name].split(":")
        return getattr(import_module(module), cls)(**options)
    eps = _entry_points()
    if name in eps:
        return eps[name].load()(**options)
    raise DiffcompareError(f"unknown backend {name!r}; available: {', '.join(available())}")
