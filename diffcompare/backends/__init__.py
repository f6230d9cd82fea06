"""The registry of differentiators: ``get(name, **options)`` and ``available()``.

Built-in backends are imported only when asked for (sympy is heavy). Third-party backends
register a factory under the entry-point group ``diffcompare.backends``; so do our own peers (jax, torch,
numdifftools, ...). A factory with a ``version()`` classmethod is available only where that returns a version
(its library imports): :func:`known` lists every backend, :func:`available` the usable ones.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Sequence

from diffcompare.backends.base import Differentiator, Result
from diffcompare.errors import DiffcompareError

__all__ = ["Differentiator", "Result", "available", "get", "known", "register", "resolve"]

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


def _installed(factory: Any) -> bool:
    """A peer's library imports (its ``version()`` gives a version); anything without ``version`` counts as usable."""
    check = getattr(factory, "version", None)
    return not callable(check) or check() is not None


def known() -> dict[str, Callable[..., Differentiator] | None]:
    """Every backend by name, built-ins first, with its factory (None for a built-in: not imported here).

    Entry points are loaded (our peer modules import no library at import time), so a peer whose library
    is missing is listed too: ``diffcompare backends`` shows it as not installed.
    """
    out: dict[str, Any] = {n: None for n in _BUILTIN}
    out.update({n: f for n, f in _REGISTERED.items() if n not in out})
    for n, ep in _entry_points().items():
        if n not in out:
            try:
                out[n] = ep.load()
            except ImportError:  # a third-party module that imports its library at once
                continue
    return out


def available() -> list[str]:
    """Names of every backend that ``get`` accepts: built-ins first, then peers whose library is installed."""
    return [n for n, factory in known().items() if factory is None or _installed(factory)]


def resolve(names: Sequence[str], option: str = "--backends") -> list[str]:
    """Backend names as typed (``all`` expands to every available one, in order), each checked now.

    An unknown or uninstalled name is a one-line error listing the available ones, before any work starts.
    """
    usable = available()
    out: list[str] = []
    for name in names:
        if name == "all":
            out += [n for n in usable if n not in out]
            continue
        if name not in usable:
            raise DiffcompareError(f"{option}: {unusable(name)}; available: {', '.join(usable)}")
        if name not in out:
            out.append(name)
    if not out:
        raise DiffcompareError(f"{option} is empty; available: {', '.join(usable)}")
    return out


def unusable(name: str, what: str = "backend") -> str:
    """Why ``name`` is not accepted, in one wording for --backends and --methods: a peer whose library is not
    installed says how to install it (``jax-jit`` is jax's); anything else is unknown."""
    library = name.removesuffix("-jit")
    if library in known() and library not in _BUILTIN:
        needs = "" if library == name else f" needs {library!r}, which"
        return f"{'backend' if library == name else what} {name!r}{needs} is not installed (pip install " \
               "'diffcompare[peers]')"
    return f"unknown {what} {name!r}"


def get(name: str, **options: Any) -> Differentiator:
    """A differentiator by name, configured with ``options`` (e.g. ``get("finite", scheme="central")``)."""
    if name in _REGISTERED:
        return _REGISTERED[name](**options)
    if name in _BUILTIN:
        module, cls = _BUILTIN[name].split(":")
        return getattr(import_module(module), cls)(**options)
    eps = _entry_points()
    if name in eps:
        factory = eps[name].load()
        if not _installed(factory):
            raise DiffcompareError(f"backend {name!r} needs its library: pip install 'diffcompare[peers]'")
        return factory(**options)
    raise DiffcompareError(f"unknown backend {name!r}; available: {', '.join(available())}")
