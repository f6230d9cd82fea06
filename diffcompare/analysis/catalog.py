"""``diffcompare backends``: every backend, installed or not, its library's version and what it supports.

What a backend supports is *probed*, not declared: each installed backend differentiates three small
functions, and a capability is listed where the call runs and agrees with the exact value (so a broken
adapter shows up here as ``wrong``). The probes: ``sin(x)*exp(x)`` at 0.5 for derivative orders 1..4; the
lecture's Table 3 function ``x1*x2 + x2 - log(x1)`` at (3, -4) for the gradient, Jacobian and Hessian (as
a parsed expression, which every backend can run); and the same function written as a plain Python
function over numpy (``np.log``), which a peer that cannot run numpy code refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare import backends as registry
from diffcompare.errors import DiffcompareError

__all__ = ["KINDS", "MAX_PROBED_ORDER", "BackendInfo", "Capability", "survey"]

#: what kind of method each backend we know is; a third-party plug-in is "plug-in"
KINDS = {
    "finite": "finite differences", "symbolic": "symbolic (sympy)", "reverse": "AD, reverse mode",
    "forward": "AD, forward mode", "numdifftools": "finite differences", "scipy": "finite differences",
    "symengine": "symbolic", "jax": "AD", "torch": "AD", "autograd": "AD",
}
MAX_PROBED_ORDER = 4
_ORDER_VALUES = [  # d^k/dx^k sin(x) exp(x) = 2^(k/2) e^x sin(x + k pi/4), at x = 0.5
    2 ** (k / 2) * math.exp(0.5) * math.sin(0.5 + k * math.pi / 4) for k in range(1, MAX_PROBED_ORDER + 1)]
_GRADIENT = np.array([-13 / 3, 4.0])
_HESSIAN = np.array([[1 / 9, 1.0], [1.0, 0.0]])
# a probe "agrees" within 1e-5 relative: loose enough for finite differences at order 4 (central
# differences keep ~6 digits there), tight enough that a wrong layout or sign is caught
_AGREE = 1e-5


@dataclass
class Capability:
    """One probe's verdict: ``ok``, ``wrong`` (ran, disagreed with the exact value) or ``no`` (refused)."""

    verdict: str
    reason: str | None = None


@dataclass
class BackendInfo:
    """A backend: whether it is installed, its library and version, and the probes' verdicts."""

    name: str
    kind: str
    installed: bool
    library: str | None  # "numdifftools 0.11.2"; ours: "diffcompare 0.1.0" (symbolic: "sympy 1.14.0")
    orders: list[int] = field(default_factory=list)  # derivative orders 1..MAX_PROBED_ORDER that agreed
    capabilities: dict[str, Capability] = field(default_factory=dict)  # derivative, gradient, ..., numpy_code
    note: str | None = None
    probed: bool = False  # the probes ran (``--no-probe``: the capabilities are unknown, not "no")


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _own_library(name: str) -> str:
    if name == "symbolic":
        return f"sympy {_version('sympy')}"
    return f"diffcompare {_version('diffcompare') or ''}".strip()


def _probe(run: Any, expected: Any) -> Capability:
    from diffcompare.errors import Unsupported

    try:
        got = np.asarray(run().derivative, dtype=float)
    except Unsupported as exc:
        return Capability("no", " ".join(str(exc).split()))
    except (DiffcompareError, TypeError, ValueError, NotImplementedError) as exc:
        return Capability("no", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape and got.size == want.size:  # e.g. a (1, 2) Jacobian of a scalar function
        got = got.reshape(want.shape)
    if got.shape != want.shape:
        return Capability("wrong", f"shape {got.shape}, expected {want.shape}")
    scale = max(float(np.max(np.abs(want))), 1.0)
    err = float(np.max(np.abs(got - want))) / scale
    if not err <= _AGREE:
        return Capability("wrong", f"off by {err:.2g} (relative)")
    return Capability("ok")


def _plain_table3(x1: Any, x2: Any) -> Any:
    """Table 3's function as a user writes it: plain Python over numpy."""
    return x1 * x2 + x2 - np.log(x1)


def _probe_backend(name: str, info: BackendInfo) -> None:
    from diffcompare.parse import compile_expression

    d = registry.get(name)
    info.library = getattr(d, "library", None) or info.library
    scalar = compile_expression("sin(x)*exp(x)").function
    table3 = compile_expression("x1*x2 + x2 - log(x1)").function
    first = None
    for k in range(1, MAX_PROBED_ORDER + 1):
        cap = _probe(lambda k=k: d.derivative(scalar, 0.5, k), _ORDER_VALUES[k - 1])
        first = first or cap
        if cap.verdict == "ok":
            info.orders.append(k)
        elif k > 1 and info.orders == list(range(1, k)):
            info.capabilities[f"order {k}"] = cap  # the first order that fails, and why
    info.capabilities["derivative"] = first if first is not None else Capability("no")
    point = (3.0, -4.0)
    info.capabilities["gradient"] = _probe(lambda: d.gradient(table3, point), _GRADIENT)
    info.capabilities["jacobian"] = _probe(lambda: d.jacobian(table3, point), _GRADIENT.reshape(1, 2))
    info.capabilities["hessian"] = _probe(lambda: d.hessian(table3, point), _HESSIAN)
    info.capabilities["numpy_code"] = _probe(lambda: d.gradient(_plain_table3, point), _GRADIENT)


def survey(probe: bool = True) -> list[BackendInfo]:
    """Every backend ``known()`` to the registry, built-ins first; installed ones probed unless ``probe=False``."""
    out = []
    for name, factory in registry.known().items():
        kind = KINDS.get(name, "plug-in")
        if factory is None:  # a built-in
            info = BackendInfo(name, kind, True, _own_library(name))
        else:
            version = factory.version() if callable(getattr(factory, "version", None)) else None
            installed = version is not None or not callable(getattr(factory, "version", None))
            library = getattr(factory, "distribution", name)
            why = getattr(factory, "unavailable", None)
            note = (why() if callable(why) else None) or "not installed: pip install 'diffcompare[peers]'"
            info = BackendInfo(name, kind, installed, f"{library} {version}" if version else None,
                               note=None if installed else note)
        if info.installed and probe:
            try:
                _probe_backend(name, info)
                info.probed = True
            except (DiffcompareError, ImportError) as exc:  # the library is found but does not import
                info.installed = False
                info.note = " ".join(str(exc).split())
        out.append(info)
    return out
