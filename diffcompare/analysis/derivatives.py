"""Higher derivatives: orders 1..k by every backend, each measured against the 50-digit reference.

For a function of one scalar, the k-th derivative comes from nested reverse AD (``grad`` of ``grad``
...), nested forward AD (dual numbers of dual numbers), ``sympy.diff(f, x, k)`` and the
finite-difference stencil of order k. AD and sympy stay exact to rounding at every order, while a
finite difference divides rounding noise by ``h^k``: it loses digits with each order (x**3 at 2:
12, 12, 6 exactly by AD and sympy; central differences give 12.00000000015, 12 (the 3-point
stencil happens to be exact on a cubic) and 6.0000002; tan(x)·exp(-x²) at 0.7 falls from 10
correct digits at order 1 to 5 at order 4 and none at order 10).

For several variables, order 1 is the gradient and order 2 adds the Hessian (reverse: forward over
reverse; forward: forward over forward; symbolic; central second differences). Mixed partials of
order 3 and up are not offered: there is no reference layout for them here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare import backends as registry
from diffcompare.analysis.compare import SYMPY_BACKENDS, sympy_first
from diffcompare.backends.base import Result, as_args, evaluate, point_text
from diffcompare.backends.finite import HESSIAN_SCHEMES, check_scheme  # the backend's own rule, not a copy
from diffcompare.errors import DiffcompareError, DomainError, Timeout, Unsupported

__all__ = ["BACKENDS", "HESSIAN_SCHEMES", "MAX_ORDER", "Derivatives", "Entry", "check_scheme", "correct_digits",
           "derivatives"]

BACKENDS: tuple[str, ...] = ("reverse", "forward", "symbolic", "finite")
MAX_ORDER = 10  # nested reverse AD at order 10 records ~1e4 ops; sympy's 10th derivatives stay small
# float64 has 15.95 significant decimal digits: an error below that is "all digits right"
FLOAT_DIGITS = 16.0


@dataclass
class Entry:
    """One backend's derivative of one order (a number, a gradient or a Hessian) and its error."""

    backend: str
    order: int
    kind: str  # "derivative", "gradient" or "hessian"
    value: Any = None
    abs_error: float | None = None
    rel_error: float | None = None
    digits: float | None = None  # correct significant digits, 0..16
    correctly_rounded: bool = False  # the float nearest the exact value: no float answer is closer
    seconds: float | None = None
    evaluations: int | None = None  # calls of f (finite differences), directions (AD: JVPs)
    passes: int | None = None  # our AD: the passes through f that carried them (1 batched pass of n tangents)
    tape_ops: int | None = None
    expression_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    library: str | None = None  # a peer's library and version ("numdifftools 0.11.2")
    error_estimate: float | None = None  # the backend's own estimate of its absolute error, where it gives one
    failed: str | None = None  # why this backend gave no number (unsupported, left the domain)


@dataclass
class Derivatives:
    function: str
    variables: tuple[str, ...]
    point: tuple[float, ...]
    value: float
    max_order: int
    reference: dict[int, Any]  # order -> 50-digit mpf (±inf, nan undefined; object array: gradient / Hessian)
    reference_method: dict[int, str] = field(default_factory=dict)  # order -> how it was decided
    entries: list[Entry] = field(default_factory=list)
    note: str | None = None  # why fewer orders than asked were computed, or why no errors were measured

    def at(self, order: int) -> list[Entry]:
        """The entries of one order, in backend order."""
        return [e for e in self.entries if e.order == order]


def correct_digits(abs_error: float | None, rel_error: float | None) -> float | None:
    """Significant digits that are right: ``-log10(rel error)`` clipped to [0, 16].

    A zero reference has no relative error; then the absolute error stands in for it (digits after
    the decimal point).
    """
    e = rel_error if rel_error is not None else abs_error
    if e is None or not math.isfinite(e):  # a nan answer has no correct digits (min(16, nan) would say 16)
        return None
    if e == 0:
        return FLOAT_DIGITS
    return max(0.0, min(FLOAT_DIGITS, -math.log10(e)))


def _check_order(order: int, several: bool) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise DiffcompareError(f"--order must be a whole number from 1 to {MAX_ORDER}, not {order!r}")
    if several and order > 2:
        raise DiffcompareError("for several variables --order is 1 (gradient) or 2 (gradient and Hessian); "
                               "higher mixed partials are not offered")


def _measure(entry: Entry, result: Result, reference: Any) -> Entry:
    from diffcompare.analysis.compare import correctly_rounded, error_against

    entry.value = result.derivative
    entry.abs_error, entry.rel_error = error_against(reference, result.derivative)
    entry.correctly_rounded = correctly_rounded(reference, result.derivative)
    entry.digits = correct_digits(entry.abs_error, entry.rel_error)
    entry.seconds = result.seconds
    entry.evaluations, entry.passes, entry.tape_ops, entry.expression_size = (
        result.evaluations, result.passes, result.tape_ops, result.expression_size)
    entry.options = dict(result.options)
    entry.library, entry.error_estimate = result.library, result.error_estimate
    return entry


def _one(compute: Callable[[], Result], entry: Entry, reference: Any) -> Entry:
    try:
        return _measure(entry, compute(), reference)
    except Unsupported as exc:
        entry.failed = f"unsupported: {exc}"
    except (DomainError, Timeout) as exc:  # e.g. a finite-difference point outside the domain
        entry.failed = str(exc)
    except DiffcompareError as exc:  # the symbolic backend: too deep for sympy
        if entry.backend not in SYMPY_BACKENDS:
            raise
        entry.failed = str(exc)
    return entry


def _references(f: Callable[..., Any], args: Sequence[float], order: int) -> list[Any]:
    """The exact reference of each order 1..``order`` (gradient and Hessian for several variables)."""
    from diffcompare.backends.symbolic import exact_reference

    if len(args) > 1:
        return [exact_reference(f, tuple(args), kind="gradient" if k == 1 else "hessian") for k in range(1, order + 1)]
    return [exact_reference(f, args[0], kind="derivative", order=k) for k in range(1, order + 1)]


def derivatives(
    f: Callable[..., Any],
    point: Any,
    order: int = 3,
    *,
    name: str = "f",
    variables: Sequence[str] | None = None,
    backends: Sequence[str] = BACKENDS,
    finite_options: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Derivatives:
    """Orders 1..``order`` of ``f`` at ``point`` by each backend, errors against the exact reference.

    One scalar variable: the k-th derivative for each k. Several: the gradient (order 1) and the
    Hessian (order 2). ``finite_options`` configure the finite-difference backend (``scheme``,
    ``step``). The references of all orders get ``timeout`` seconds together, the symbolic backend
    that much per order (default ``REFERENCE_TIMEOUT``); past it the other backends still run, unmeasured.
    """
    from diffcompare.analysis.compare import check_timeout
    from diffcompare.backends.symbolic import REFERENCE_TIMEOUT, run_sympy

    args = as_args(point)
    if not all(isinstance(a, float) for a in args):
        raise DiffcompareError("derivatives takes scalar variables only")
    several = len(args) > 1
    _check_order(order, several)
    if not backends:
        raise DiffcompareError("no backends given")
    backends = registry.resolve(backends)
    if "finite" in backends:
        check_scheme((finite_options or {}).get("scheme", "central"), order, several)
    value = float(evaluate(f, args))
    names = tuple(variables) if variables else (("x",) if not several else tuple(f"x{i + 1}" for i in range(len(args))))
    differentiators = {b: registry.get(b, **(finite_options or {}) if b == "finite" else {}) for b in backends}
    out = Derivatives(name, names, tuple(args), value, order, {})
    budget = check_timeout(REFERENCE_TIMEOUT if timeout is None else timeout)
    try:
        refs = run_sympy(_references, f, args, order, timeout=budget)
    except DomainError:
        raise
    except DiffcompareError as exc:  # timeout, too deep for sympy, or control flow sympy cannot follow
        # (Unsupported: `if x > 0` on a symbol): the backends still run, unmeasured, and the symbolic row says why
        refs = [None] * order
        out.note = f"reference: {exc}; no errors measured"
    orders: list[tuple[int, str]] = []
    for k in range(1, order + 1):
        kind = ("gradient" if k == 1 else "hessian") if several else "derivative"
        ref = refs[k - 1]
        if ref is not None and k > 1 and _undefined(ref.derivative):
            out.max_order = k - 1  # e.g. abs at 0: f' = sign exists, f'' is a Dirac delta
            out.note = (f"order {k} and above not computed: the exact derivative of order {k} is undefined "
                        f"at {point_text(args, names)} ({ref.method})")
            break
        out.reference[k] = None if ref is None else ref.derivative
        out.reference_method[k] = "—" if ref is None else ref.method
        orders.append((k, kind))
    done: dict[tuple[int, str], Entry] = {}
    for b in sympy_first(list(differentiators)):  # every sympy worker forked before jax or torch runs
        d = differentiators[b]
        for k, kind in orders:
            # partials, not lambdas: they pickle, for the budget's fork server (diffcompare.budget)
            if kind == "derivative":
                run = functools.partial(d.derivative, f, args[0], order=k)
            elif kind == "gradient":
                run = functools.partial(d.gradient, f, args)
            else:
                run = functools.partial(d.hessian, f, args)
            compute = (lambda run=run: run_sympy(run, timeout=budget)) if b in SYMPY_BACKENDS else run
            done[(k, b)] = _one(compute, Entry(b, k, kind), out.reference[k])
    out.entries = [done[(k, b)] for k, _ in orders for b in differentiators]
    return out


def _undefined(value: Any) -> bool:
    import mpmath

    return any(mpmath.isnan(v) for v in np.ravel(np.asarray(value, dtype=object)))
