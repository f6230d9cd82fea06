"""What the peer backends share: is a library installed, f counted over a flat vector, one error number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.backends.base import Function, unflatten_args


def installed(distribution: str, module: str | None = None) -> str | None:
    """The installed version of ``distribution`` if its ``module`` can be imported, else None.

    Cheap: it finds the module without importing it (so listing backends does not import torch); a
    library that is found but then fails to import is reported when the backend is first used.
    """
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    top, _, sub = (module or distribution).partition(".")
    try:
        spec = find_spec(top)
        if spec is None or (sub and not _has_submodule(spec, sub)):
            return None
        return version(distribution)
    except (ImportError, ValueError, PackageNotFoundError):
        return None


def _has_submodule(spec: Any, dotted: str) -> bool:
    """``scipy.differentiate`` exists, looked up on disk: ``find_spec`` of a submodule would import scipy."""
    from pathlib import Path

    for base in spec.submodule_search_locations or ():
        path = Path(base, *dotted.split("."))
        if path.is_dir() or path.with_suffix(".py").is_file():
            return True
    return False


class Counted:
    """The user's ``f`` over one flat float vector, every call counted (the library's evaluations).

    Floating-point warnings are silenced and a non-finite value is returned as it is: a library probing a
    step outside the domain sees nan, as it would without us; the backend reports a non-finite answer.
    Python's own ways of leaving the domain become nan too: a complex result of ``(-1e-3) ** 1.5`` and
    ``math.log(-1)``'s ValueError.
    """

    def __init__(self, f: Function, like: Sequence[Any]):
        self.f, self.like, self.calls = f, tuple(like), 0

    def __call__(self, flat: Any) -> Any:
        self.calls += 1
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(self.f(*unflatten_args(np.asarray(flat, dtype=float).reshape(-1), self.like)))
        except ValueError as exc:
            if "domain" not in str(exc):
                raise
            return np.asarray(math.nan)
        if out.dtype.kind == "c":
            return np.full(out.shape, math.nan)
        return out.astype(float)


def finite_or_domain_error(derivative: Any, owner: str, what: str, steps: str) -> Any:
    """A non-finite answer means the library's steps left the domain: say so, as our finite backend does."""
    from diffcompare.errors import DomainError

    if not np.all(np.isfinite(np.asarray(derivative, dtype=float))):
        raise DomainError(f"{owner} {what} is not finite: its steps ({steps}) leave the function's domain")
    return derivative


def largest(estimate: Any) -> float | None:
    """The largest entry of a library's error estimate (one number, as our backends report), or None."""
    if estimate is None:
        return None
    arr = np.asarray(estimate, dtype=float)
    if arr.size == 0:
        return 0.0
    value = float(np.nanmax(arr)) if not np.all(np.isnan(arr)) else math.nan
    return value
