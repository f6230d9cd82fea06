"""``compare``: every backend on one function at one point, each measured against a 50-digit reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare import backends as registry
from diffcompare.backends.base import Result, as_args, evaluate
from diffcompare.errors import DiffcompareError, DomainError, Timeout, Unsupported

DEFAULT_BACKENDS = ("finite", "symbolic", "reverse", "forward")
# backends whose work is sympy's (symengine differentiates the expression sympy traced): run under the budget
SYMPY_BACKENDS = ("symbolic", "symengine")


@dataclass
class Row:
    """One backend's answer and how far it is from the reference."""

    backend: str
    result: Result | None
    abs_error: float | None = None
    rel_error: float | None = None
    unsupported: str | None = None  # why the backend could not run, if it could not
    correctly_rounded: bool = False  # every entry is the reference rounded to float64: no float answer is closer


@dataclass
class Comparison:
    function: str
    variables: tuple[str, ...]
    point: tuple[Any, ...]
    kind: str  # "derivative" (one scalar variable) or "gradient"
    reference_value: Any  # None when the reference could not be had (timeout)
    reference_derivative: Any  # mpmath numbers (50 digits, ±inf, nan undefined), or an object array of them
    reference_method: str  # how it was decided: "interval", "exact zero (sympy)", ..., "timeout after 10 s"
    rows: list[Row] = field(default_factory=list)


def check_timeout(timeout: float) -> float:
    """``--timeout`` must be a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise DiffcompareError(f"--timeout must be a positive, finite number of seconds, not {timeout!r}")
    return float(timeout)


def error_against(reference: Any, approx: Any) -> tuple[float | None, float | None]:
    """Absolute and relative error of ``approx`` in the 2-norm, computed in the reference's precision.

    The float64 answer is converted exactly (every double is a finite binary fraction), so an
    error of 1e-17 is reported as such and not rounded to 0. A zero reference has no relative
    error (None). An infinite reference entry is matched by the same infinity (error 0) and by
    nothing else (error inf). An undefined (nan) or missing reference measures nothing: (None, None).
    """
    import mpmath

    if reference is None:
        return None, None
    ref = np.atleast_1d(np.asarray(reference, dtype=object)).ravel()
    got = np.atleast_1d(np.asarray(approx, dtype=float)).ravel()
    if ref.shape != got.shape:
        raise DiffcompareError(f"cannot compare shapes {ref.shape} and {got.shape}")
    with mpmath.workdps(50):
        refs = [mpmath.mpf(r) for r in ref]
        if any(mpmath.isnan(r) for r in refs):
            return None, None
        terms = []
        for g, r in zip(got, refs):
            g = mpmath.mpf(float(g))
            terms.append(0 if mpmath.isinf(r) and g == r else (g - r) ** 2)
        diff = mpmath.sqrt(mpmath.fsum(terms))
        norm = mpmath.sqrt(mpmath.fsum(r**2 for r in refs))
        if mpmath.isinf(norm):
            return float(diff), (0.0 if diff == 0 else float("inf") if mpmath.isinf(diff) else None)
        return float(diff), (float(diff / norm) if norm != 0 else None)


def compare(
    f: Callable[..., Any],
    point: Any,
    *,
    name: str = "f",
    variables: Sequence[str] | None = None,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    options: dict[str, dict[str, Any]] | None = None,
    timeout: float | None = None,
) -> Comparison:
    """Differentiate ``f`` at ``point`` with each backend; errors against the symbolic 50-digit reference.

    One scalar variable gives derivatives, anything else gradients. ``backends`` may include ``"all"``
    (every available backend, peers whose library is installed included). ``options`` maps a backend
    name to the options it is created with (``{"finite": {"scheme": "complex"}}``). The reference
    (and the symbolic backend) get ``timeout`` seconds each (default ``REFERENCE_TIMEOUT``); past it
    the backends still run and their errors are None.
    """
    from diffcompare.backends.symbolic import REFERENCE_TIMEOUT, budgeted_reference, run_sympy

    backends = registry.resolve(backends)  # a typo fails now, not after the reference; "all" expands
    args = as_args(point)
    evaluate(f, args)  # a point outside the domain is bad input, before any backend runs
    kind = "derivative" if len(args) == 1 and isinstance(args[0], float) else "gradient"
    names = tuple(variables) if variables else tuple(f"x{i + 1}" for i in range(len(args)))
    budget = check_timeout(REFERENCE_TIMEOUT if timeout is None else timeout)
    try:
        ref = budgeted_reference(f, point, kind=kind, timeout=budget)
        out = Comparison(name, names, args, kind, ref.value, ref.derivative, ref.method)
    except DomainError:
        raise
    except DiffcompareError as exc:  # timeout, too deep for sympy, or control flow sympy cannot follow
        # (Unsupported: `if x > 0` on a symbol): the backends still run, unmeasured, and the symbolic row says why
        out = Comparison(name, names, args, kind, None, None, str(exc).removeprefix("reference: "))
    for backend in sympy_first(backends):
        differentiator = registry.get(backend, **(options or {}).get(backend, {}))
        run = differentiator.derivative if kind == "derivative" else differentiator.gradient
        try:
            if backend in SYMPY_BACKENDS:  # sympy: in a worker process, stopped at the budget
                result = run_sympy(run, f, point, timeout=budget)
            else:
                result = run(f, point)
        except (Unsupported, DomainError, Timeout) as exc:  # e.g. a finite-difference point outside the domain
            out.rows.append(Row(backend, None, unsupported=str(exc)))
            continue
        except DiffcompareError as exc:
            if backend not in SYMPY_BACKENDS:
                raise
            out.rows.append(Row(backend, None, unsupported=str(exc)))  # too deep for sympy
            continue
        abs_err, rel_err = error_against(out.reference_derivative, result.derivative)
        out.rows.append(Row(backend, result, abs_err, rel_err,
                            correctly_rounded=correctly_rounded(out.reference_derivative, result.derivative)))
    out.rows.sort(key=lambda row: backends.index(row.backend))  # the order asked for
    return out


def sympy_first(backends: Sequence[str]) -> list[str]:
    """The sympy backends (run in forked workers) before the others: a fork after jax or torch has started its
    threads may deadlock (JAX warns so), and only the order of running changes, not the order shown."""
    return [b for b in backends if b in SYMPY_BACKENDS] + [b for b in backends if b not in SYMPY_BACKENDS]


def correctly_rounded(reference: Any, approx: Any) -> bool:
    """True where ``approx`` is, entry by entry, the float64 nearest the reference.

    Such an answer is the best a float can be, even where its relative error is large: tanh' at 1000
    is 1.6e-868, which rounds to 0, so a backend's 0 is exact to float64 although it is 100% off.
    """
    import mpmath

    if reference is None:
        return False
    ref = np.atleast_1d(np.asarray(reference, dtype=object)).ravel()
    got = np.atleast_1d(np.asarray(approx, dtype=float)).ravel()
    if ref.shape != got.shape:
        return False
    with mpmath.workdps(50):
        return all(not mpmath.isnan(mpmath.mpf(r)) and float(mpmath.mpf(r)) == g for r, g in zip(ref, got))
