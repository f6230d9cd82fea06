"""``compare``: every backend on one function at one point, each measured against a 50-digit reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare import backends as registry
from diffcompare.backends.base import Result, as_args, evaluate
from diffcompare.errors import DiffcompareError, DomainError, Unsupported

DEFAULT_BACKENDS = ("finite", "symbolic", "reverse", "forward")


@dataclass
class Row:
    """One backend's answer and how far it is from the reference."""

    backend: str
    result: Result | None
    abs_error: float | None = None
    rel_error: float | None = None
    unsupported: str | None = None  # why the backend could not run, if it could not


@dataclass
class Comparison:
    function: str
    variables: tuple[str, ...]
    point: tuple[Any, ...]
    kind: str  # "derivative" (one scalar variable) or "gradient"
    reference_value: Any
    reference_derivative: Any  # mpmath numbers (50 digits), or an object array of them
    rows: list[Row] = field(default_factory=list)


def error_against(reference: Any, approx: Any) -> tuple[float, float | None]:
    """Absolute and relative error of ``approx`` in the 2-norm, computed in the reference's precision.

    The float64 answer is converted exactly (every double is a finite binary fraction), so an
    error of 1e-17 is reported as such and not rounded to 0.
    """
    import mpmath

    ref = np.atleast_1d(np.asarray(reference, dtype=object)).ravel()
    got = np.atleast_1d(np.asarray(approx, dtype=float)).ravel()
    if ref.shape != got.shape:
        raise DiffcompareError(f"cannot compare shapes {ref.shape} and {got.shape}")
    with mpmath.workdps(50):
        diff = mpmath.sqrt(mpmath.fsum((mpmath.mpf(float(g)) - mpmath.mpf(r)) ** 2 for g, r in zip(got, ref)))
        norm = mpmath.sqrt(mpmath.fsum(mpmath.mpf(r) ** 2 for r in ref))
        return float(diff), (float(diff / norm) if norm != 0 else None)


def compare(
    f: Callable[..., Any],
    point: Any,
    *,
    name: str = "f",
    variables: Sequence[str] | None = None,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    options: dict[str, dict[str, Any]] | None = None,
) -> Comparison:
    """Differentiate ``f`` at ``point`` with each backend; errors against the symbolic 50-digit reference.

    One scalar variable gives derivatives, anything else gradients. ``options`` maps a backend
    name to the options it is created with (``{"finite": {"scheme": "complex"}}``).
    """
    from diffcompare.backends.symbolic import reference

    args = as_args(point)
    evaluate(f, args)  # a point outside the domain is bad input, before any backend runs
    kind = "derivative" if len(args) == 1 and isinstance(args[0], float) else "gradient"
    names = tuple(variables) if variables else tuple(f"x{i + 1}" for i in range(len(args)))
    ref_value, ref_derivative = reference(f, point, kind=kind)
    out = Comparison(name, names, args, kind, ref_value, ref_derivative)
    for backend in backends:
        differentiator = registry.get(backend, **(options or {}).get(backend, {}))
        try:
            result = (differentiator.derivative(f, point) if kind == "derivative"
                      else differentiator.gradient(f, point))
        except (Unsupported, DomainError) as exc:  # e.g. a finite-difference point outside the domain
            out.rows.append(Row(backend, None, unsupported=str(exc)))
            continue
        abs_err, rel_err = error_against(ref_derivative, result.derivative)
        out.rows.append(Row(backend, result, abs_err, rel_err))
    return out
