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

    try:
        if find_spec(module or distribution) is None:
            return None
        return version(distribution)
    except (ImportError, ValueError, PackageNotFoundError):
        return None


class Counted:
    """The user's ``f`` over one flat float vector, every call counted (the library's evaluations).

    Floating-point warnings are silenced and a non-finite value is returned as it is: a library probing a
    step outside the domain sees nan, as it would without us; the backend reports a non-finite answer.
    """

    def __init__(self, f: Function, like: Sequence[Any]):
        self.f, self.like, self.calls = f, tuple(like), 0

    def __call__(self, flat: Any) -> Any:
        self.calls += 1
        with np.errstate(all="ignore"):
            out = self.f(*unflatten_args(np.asarray(flat, dtype=float).reshape(-1), self.like))
        return np.asarray(out, dtype=float)


def largest(estimate: Any) -> float | None:
    """The largest entry of a library's error estimate (one number, as our backends report), or None."""
    if estimate is None:
        return None
    arr = np.asarray(estimate, dtype=float)
    if arr.size == 0:
        return 0.0
    value = float(np.nanmax(arr)) if not np.all(np.isnan(arr)) else math.nan
    return value
