"""Finite differences: derivatives from function values at nearby points, and what they cost.

Every scheme is a *stencil*: offsets ``o_j`` and weights ``w_j`` with
``f^(k)(x) ~ sum_j w_j f(x + o_j h) / h^k``. The truncation error falls with the step ``h`` like
``h^a`` (``a`` the scheme's accuracy) while rounding error in the values of ``f`` grows like
``eps / h^k``; the default step balances the two: ``h = eps^(1/(k+a)) * max(|x|, 1)``, made exactly
representable (``h = (x + h) - x``) so that ``x + h - x`` is the step the formula divides by.

==============  ==========================================  ========  ===================
scheme          first derivative                            accuracy  default step
==============  ==========================================  ========  ===================
``forward``     ``(f(x+h) - f(x)) / h``                     1         ``sqrt(eps)``
``backward``    ``(f(x) - f(x-h)) / h``                     1         ``sqrt(eps)``
``central``     ``(f(x+h) - f(x-h)) / 2h``                  2         ``eps^(1/3)``
``five-point``  ``(-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h``  4   ``eps^(1/5)``
``complex``     ``Im f(x + ih) / h`` (no subtraction)       2         ``1e-20``
``richardson``  central differences at ``h, h/2, h/4, h/8`` extrapolated to ``h -> 0``  8  ``0.035``
``adaptive``    the same tableau, with the steps chosen by its error estimate     8  ``0.035`` down
==============  ==========================================  ========  ===================

All steps are relative: multiplied by ``max(|x_i|, 1)`` per coordinate.

The fixed-step schemes fail where ``f`` changes on a scale much smaller than ``max(|x|, 1)``: a pole
near ``x`` (``tan`` at 1.5), fast oscillation, a point near the edge of the domain. ``adaptive``
(:func:`adaptive`) starts at Richardson's step and walks down a sequence of steps, letting the
tableau's error estimate choose (see :func:`_adaptive_core`); it reports that estimate in
:attr:`Result.error_estimate`. It is the only scheme with no fixed step, so ``error-vs-h`` does not
draw it (:data:`SCHEMES` lists the schemes with a step; :data:`ALL_SCHEMES` adds it).

The complex step passes complex numbers into ``f``: it is exact to rounding for analytic code,
but a function using ``np.abs``, comparisons, ``np.maximum`` or ``.real`` is not complex-step safe
(``np.abs`` of a complex number drops the imaginary part that carries the derivative).

Cost: every call of ``f`` is counted in :attr:`Result.evaluations`, including the one that gives
the value. A gradient over ``n`` inputs costs ``n + 1`` calls (forward/backward, the value is
reused), ``2n + 1`` (central), ``4n + 1`` (five-point), ``n + 1`` (complex) and ``10n + 1``
(richardson: 8 for its tableau, 2 for the off-grid check of its estimate); ``adaptive`` costs 8 to 28
calls per coordinate, as many as its steps need (2 more where f looked flat).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from diffcompare.backends.base import (
    Function,
    Result,
    as_args,
    evaluate,
    flatten_args,
    point_text,
    shape_like_input,
    unflatten_args,
)
from diffcompare.errors import DiffcompareError, DomainError, Unsupported

__all__ = [
    "ACCURACY",
    "SCHEMES",
    "FiniteDifferences",
    "default_step",
    "difference",
    "exact_step",
    "ALL_SCHEMES",
    "HESSIAN_SCHEMES",
    "adaptive",
    "check_scheme",
    "richardson",
    "richardson_extrapolate",
    "stencil",
]

EPS = float(np.finfo(float).eps)
TINY = 2.0**-1074  # the smallest subnormal: every quotient below 2^-1022 rounds to a multiple of it
SCHEMES = ("forward", "backward", "central", "five-point", "complex", "richardson")  # each has a step h
ALL_SCHEMES = SCHEMES + ("adaptive",)

#: Order of the truncation error of each scheme's stencil (complex step: Im f(x+ih)/h = f' - h^2 f'''/6).
ACCURACY = {"forward": 1, "backward": 1, "central": 2, "five-point": 4, "complex": 2}
COMPLEX_STEP = 1e-20
# Richardson: 4 central differences at h, h/2, h/4, h/8 cancel the h^2, h^4, h^6 terms, leaving
# h^8 truncation against eps/h^k rounding, so h ~ eps^(1/(8+k)) = 0.018 for k = 1. The constant was
# measured: over 75 random (function, point) pairs (sin, exp, atan, log(x^2)sin(x)+1/x,
# exp(-x^2)cos(3x) at x in [0.3, 3]) the 90th-percentile relative error is smallest (5e-14) for a
# relative first step of 0.035; it is 7e-14 at 0.03 and 3e-13 at 0.05. Higher orders scale it like
# eps^(1/(8+k)). Fewer than 4 levels cannot reach 1e-13; 5 would cost as much as scipy (11 calls).
RICHARDSON_LEVELS = 4
RICHARDSON_RELATIVE_STEP = 0.035
# Adaptive: at most 12 central differences (24 calls of f; numdifftools' Derivative makes 30). Two
# differences at h and h/2 that disagree by more than 10% are outside the range where the h^2 series
# means anything (for a pole at distance d that is h > ~d/3), so the walk jumps 32x smaller steps at
# once instead of halving: 12 differences then reach 8 decades below the first step (sin(1e8 x)).
ADAPTIVE_MAX_STEPS = 12
ADAPTIVE_JUMP = 32
ADAPTIVE_CONSISTENT = 0.1
# how far from a whole number the exponent of h seen in a tableau column may be (all_powers; 2.9 is 0.1 away)
WHOLE_POWER_SLACK = 0.05
ADAPTIVE_MIN_ULPS = 64  # the smallest step, in units in the last place of x (see _adaptive_walk)


def _check_scheme(scheme: str) -> None:
    if scheme not in ALL_SCHEMES:
        raise DiffcompareError(f"unknown finite-difference scheme {scheme!r}; allowed: {', '.join(ALL_SCHEMES)}")


#: The schemes that have a Hessian of their own (richardson extrapolates central second differences).
HESSIAN_SCHEMES: tuple[str, ...] = ("central", "richardson")
_REAL_SCHEMES = "central, five-point, richardson, adaptive, forward or backward"


def check_scheme(scheme: str, order: int, several: bool) -> None:
    """Refuse a scheme that has no form for what is asked, rather than compute another method silently.

    The complex step Im f(x + ih)/h gives first derivatives only (higher orders need multicomplex steps,
    not implemented); the finite-difference Hessian exists in central and richardson form only. The one
    copy of the rule: the backend, ``analysis.derivatives`` and the CLI all call it.
    """
    if scheme == "complex" and order > 1 and not several:
        raise DiffcompareError("--scheme complex gives first derivatives only (Im f(x+ih)/h; higher orders would "
                               f"need multicomplex steps): use --order 1, or {_REAL_SCHEMES} for higher orders")
    if several and order > 1 and scheme not in HESSIAN_SCHEMES:
        raise DiffcompareError(f"the finite-difference Hessian has a central and a richardson form, no {scheme} "
                               "form: use --order 1 (the gradient alone), or --scheme central or richardson")


def _check_order(order: int) -> None:
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
        raise DiffcompareError(f"the derivative order must be a positive integer, not {order!r}")


def exact_step(x: float, h: float) -> float:
    """The step nearest ``h`` for which ``(x + h) - x == h`` exactly in floating point."""
    return float((x + h) - x)


def default_step(scheme: str, x: float = 0.0, order: int = 1) -> float:
    """The theory step for ``scheme`` and derivative ``order`` at ``x``, relative to ``max(|x|, 1)``.

    ``eps^(1/(order + a))`` with ``a`` the scheme's accuracy (forward/backward 1, central 2,
    five-point 4), ``0.035`` for first derivatives by richardson (scaled like ``eps^(1/(order + 8))``
    for higher orders; measured, see ``RICHARDSON_RELATIVE_STEP``) and ``1e-20`` for the complex step;
    made exactly representable at ``x`` (except the complex step, which is never subtracted).
    The complex step has first derivatives only: higher orders are refused, as everywhere.
    """
    _check_scheme(scheme)
    _check_order(order)
    check_scheme(scheme, order, several=False)
    scale = max(abs(float(x)), 1.0)
    if scheme == "complex" and order == 1:
        return COMPLEX_STEP * scale
    if scheme in ("richardson", "adaptive"):  # adaptive starts where richardson works
        ratio = EPS ** (1.0 / (order + 2 * RICHARDSON_LEVELS)) / EPS ** (1.0 / (1 + 2 * RICHARDSON_LEVELS))
        h = RICHARDSON_RELATIVE_STEP * ratio * scale
    else:
        accuracy = ACCURACY[scheme]
        h = EPS ** (1.0 / (order + accuracy)) * scale
    return exact_step(float(x), h)


def stencil(order: int, offsets: Sequence[int]) -> list[tuple[int, Fraction]]:
    """Exact weights ``w`` with ``f^(order)(x) ~ sum w_j f(x + o_j h) / h^order`` on integer ``offsets``.

    Solves the Taylor conditions ``sum_j w_j o_j^m / m! = [m == order]`` for ``m < len(offsets)``
    in rational arithmetic; zero weights are dropped.
    """
    n = len(offsets)
    if n <= order:
        raise DiffcompareError(f"a stencil for derivative order {order} needs more than {n} points")
    rows = [[Fraction(o) ** m for o in offsets] + [Fraction(_factorial(m) if m == order else 0)]
            for m in range(n)]
    for col in range(n):  # Gauss-Jordan elimination, exact
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        p = rows[col][col]
        rows[col] = [v / p for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [(o, rows[i][n]) for i, o in enumerate(offsets) if rows[i][n] != 0]


def _factorial(m: int) -> int:
    out = 1
    for i in range(2, m + 1):
        out *= i
    return out


@functools.lru_cache(maxsize=64)
def _scheme_stencil(scheme: str, order: int) -> tuple[str, list[tuple[int, Fraction]]]:
    """The stencil a real-valued scheme uses for ``order``, and the name of what is actually used.

    Cached: the exact rational solve costs milliseconds, far more than the difference quotient itself
    (callers only read the list).
    """
    if scheme == "forward":
        return scheme, stencil(order, range(order + 1))
    if scheme == "backward":
        return scheme, stencil(order, range(-order, 1))
    accuracy = 4 if scheme == "five-point" else 2
    p = (order + accuracy - 1) // 2
    used = scheme if scheme in ("five-point", "richardson") else "central"
    return used, stencil(order, range(-p, p + 1))


def _over_power(value: Any, h: float, order: int) -> Any:
    """``value / h^order`` one division at a time: ``h^order`` alone overflows (h = 1e296 at x = 3e300,
    Python's float power then raises) or underflows where the quotient itself is a float."""
    for _ in range(order):
        value = value / h
    return value


def _apply(g: Callable[[float], Any], h: float, weights, order: int, center: Any = None) -> Any:
    """``sum w_j g(o_j h) / h^order``; ``center`` is ``g(0)`` if already known (it is then not re-evaluated)."""
    total: Any = 0.0
    for o, w in weights:
        gv = center if (o == 0 and center is not None) else g(o * h)
        total = total + float(w) * (gv if isinstance(gv, float) else np.asarray(gv, dtype=float))
    return _over_power(total, h, order)


def richardson_extrapolate(estimates: Sequence[Any], steps: Sequence[float], power: int = 2) -> tuple[Any, Any]:
    """Neville-Richardson extrapolation to ``h -> 0`` of estimates with error series in ``h^2, h^4, ...``
    (``power=1``: in ``h, h^2, h^3, ...``).

    Returns the last diagonal entry and an error estimate ``|T[k][k] - T[k][k-1]|`` (the change
    made by the last extrapolation: a bound on the error of the previous entry, hence conservative).
    """
    prev = [np.asarray(estimates[0], dtype=float)]
    for i in range(1, len(estimates)):
        row = [np.asarray(estimates[i], dtype=float)]
        for j in range(1, i + 1):
            ratio = (steps[i - j] / steps[i]) ** power
            row.append(row[j - 1] + (row[j - 1] - prev[j - 1]) / (ratio - 1.0))
        prev = row
    best = prev[-1]
    err = np.abs(prev[-1] - prev[-2]) if len(prev) > 1 else np.full(np.shape(best), np.inf)
    return best, err


def _richardson_steps(h: float, x: float) -> list[float]:
    return [exact_step(x, h / 2**i) for i in range(RICHARDSON_LEVELS)]


def _richardson_core(
    g: Callable[[float], Any], x: float, h: float, order: int, center: Any = None, check: bool = True,
):
    """Tableau over the central differences of ``g``: (estimate, error estimate, steps).

    The error estimate is the tableau's last change, floored by rounding and widened by a one-sided
    check (:func:`_one_sided_gap`) when ``center`` (``g(0)``) is known for a first derivative, and by the
    off-grid check (:func:`_off_grid_gap`, one more central difference) unless ``check`` is False (the
    error-versus-step curves, which do not use the estimate).
    """
    steps = _richardson_steps(h, x)
    _, weights = _scheme_stencil("central", order)
    largest = [0.0]  # max |f| over the stencil's points (f(x) only where the stencil weights it)
    values: dict[float, Any] = {}

    def gm(t: float) -> Any:
        v = g(t)
        values[t] = v
        largest[0] = max(largest[0], _amax(v))
        return v

    if center is not None and any(o == 0 for o, _ in weights):
        largest[0] = _amax(center)
    estimates = [_apply(gm, s, weights, order, center) for s in steps]
    best, err = richardson_extrapolate(estimates, steps)
    # rounding floor: eps * max|f(x + o h)| through the stencil at the smallest step, times ~2 for the
    # tableau (its weights sum to ~1.44 + 0.5, each level's rounding is at most the smallest step's).
    # max over the stencil, not |f(x)|: where f(x) ~ 0 and its neighbours are not ((x - 1.25)^3 at
    # 1.25, x*x at 1e-300) |f(x)| would put the floor at 0 while the differences cancel large values.
    # Plus |x f'| for first derivatives, as adaptive's floor: f's own rounding scales with its intermediates, not
    # with |f| (3x + x*x at -2.87 is -0.36 from terms of 8.6: error 3.95e-14 against a floor-bound estimate of
    # 3.46e-14 without it), and rounding of x + h inside f costs eps |x f'|.
    spread = sum(abs(float(w)) for _, w in weights)
    noise = largest[0] + (abs(x) * _amax(best) if order == 1 and np.all(np.isfinite(best)) else 0.0)
    floor = _over_power(2.0 * EPS * spread * noise, steps[-1], order)
    err = np.maximum(err, np.maximum(floor, _resolution(best)))
    err = np.maximum(err, _divergence(estimates, best, _over_power(2.0 * EPS * spread * largest[0], steps[-1],
                                                                   order)))
    if order == 1 and center is not None:
        # the forward differences also subtract f(x): their rounding floor includes it
        floor1 = _over_power(2.0 * EPS * max(largest[0], _amax(center)), steps[-1], order)
        err = np.maximum(err, _one_sided_gap(best, err, center, values, steps, floor1))
        err = np.maximum(err, _center_divergence(center, values, steps))
    if check and np.all(np.isfinite(err)):
        err = np.maximum(err, _off_grid_gap(gm, estimates, steps, weights, order, center, best, err, x, spread,
                                            largest))
    return best, err, steps


def _off_grid_gap(g: Callable[[float], Any], estimates: Sequence[Any], steps: Sequence[float], weights,
                  order: int, center: Any, best: Any, err: Any, x: float, spread: float, largest: list[float]) -> Any:
    """The change in the answer when the largest step's difference is replaced by one at an off-grid step
    (the smallest / sqrt 2), where it is within 4x the estimate; ``inf`` where it is beyond (or f fails there).

    Steps ``h / 2^i`` alias anything that varies on a scale far below ``h``: at cos(x) at 1e300 (h = 3.5e298)
    the phases of the steps modulo 2 pi halve from level to level as a Taylor series would, the tableau
    converges to 3.5e-299 and claims 3.2e-302, while cos'(1e300) is 0.82; sin(1e4 x) at 0.3 gave 51.8 +- 1e-4
    (exact -9757). A step off the grid breaks the pattern; on smooth f the two tableaux agree to rounding.
    The same check as adaptive's (which then walks on); here no step is left to try, so no digit is vouched for.
    """
    h_check = exact_step(x, steps[-1] / np.sqrt(2.0))
    try:
        d = _apply(g, h_check, weights, order, center)
    except (DomainError, FloatingPointError, ZeroDivisionError, OverflowError, ValueError, TypeError):
        return np.full(np.shape(best), np.inf)
    if not math.isfinite(_amax(d)):
        return np.full(np.shape(best), np.inf)
    alt, _ = richardson_extrapolate(list(estimates[1:]) + [d], list(steps[1:]) + [h_check])
    alt_floor = _over_power(2.0 * EPS * spread * largest[0], h_check, order)
    gap = np.abs(np.asarray(alt, dtype=float) - best)
    return np.where(gap > 4.0 * np.maximum(err, alt_floor), np.inf, gap)


def _center_divergence(center: Any, values: dict[float, Any], steps: Sequence[float]) -> Any:
    """``inf`` where the second differences ``(f(x+h) - 2 f(x) + f(x-h)) / h^2`` over ``steps`` do not converge,
    else 0: f(x) itself does not fit its neighbours, which a first-derivative stencil never weighs.

    abs(cos(x)/x) at 1.2e-237: every step straddles the pole, f(x) = 8e236 while f(x +- h) ~ 1/h are equal, so
    the central differences are 0 (f' is -7e473) and the forward ones grow like 1/h, with an extrapolation whose
    own change is as large (the one-sided check passed). In the Taylor range these converge to f''(x), their
    changes shrinking 4x per halving; growing changes above rounding mean no step here is in it.
    """
    c = np.asarray(center, dtype=float)
    second = [(np.asarray(values[s], dtype=float) - 2.0 * c + np.asarray(values[-s], dtype=float)) / s / s
              for s in steps if s in values and -s in values]
    if len(second) < 3:
        return np.zeros(np.shape(c))
    size = max(_amax(c), max(max(_amax(values[s]), _amax(values[-s])) for s in steps if s in values and -s in values))
    floor = _over_power(4.0 * EPS * size, steps[-1], 2)
    deltas = [np.abs(a - b) for a, b in zip(second, second[1:])]
    growing = np.zeros(np.shape(c), dtype=bool)
    for prev, nxt in zip(deltas, deltas[1:]):
        growing = growing | ((nxt > prev) & (nxt > 16.0 * floor))
    return np.where(growing, np.inf, 0.0)


def _divergence(estimates: Sequence[Any], best: Any, floor: Any) -> Any:
    """``inf`` where the central differences do not converge, else 0.

    In the Taylor range ``D(h) - D(h/2)`` shrinks ~4x per halving; a difference that grows (above 16x the
    rounding floor, where it is not noise) means the steps straddle a pole or kink (1/x at 0.016, steps from
    0.035: D = 1032, 19980, -5570, -4211, exact -3906), and the tableau's last change is no error bound.
    Nor is anything else these values give: at 1/512 (all steps beyond the pole) D ~ 1/h^2 grows without
    sign of the exact -262144, and their spread (8.8e4) is under the error (3.5e5). So: no digit vouched for.
    """
    d = [np.asarray(e, dtype=float) for e in estimates]
    deltas = [np.abs(a - b) for a, b in zip(d, d[1:])]
    growing = np.zeros(np.shape(best), dtype=bool)
    for prev, nxt in zip(deltas, deltas[1:]):
        growing = growing | ((nxt > prev) & (nxt > 16.0 * floor))
    return np.where(growing, np.inf, 0.0)


def _one_sided_gap(best: Any, err: Any, center: Any, values: dict[float, Any], steps: Sequence[float],
                   floor: Any) -> Any:
    """The disagreement between ``best`` and the one-sided extrapolation of the same points, where it is
    beyond both estimates; else 0. No extra call of ``f``: ``(f(x + h_i) - f(x)) / h_i`` reuses the stencil.

    A stencil that straddles a kink or singular point (``abs`` at 1e-8, steps from 0.035) gives smooth-looking
    central differences (x/h) whose tableau changes little; the forward differences, which never cross a
    point left of x, give another answer. Two extrapolations that are each right within their estimates
    cannot differ by more than the sum; when they do, one is outside its Taylor range and the gap is the
    honest size of the error.
    """
    forward = [(np.asarray(values[s], dtype=float) - np.asarray(center, dtype=float)) / s for s in steps]
    # forward differences have an error series in h, h^2, ...; Neville in h (ratio 2 per level)
    prev = [forward[0]]
    for i in range(1, len(forward)):
        row = [forward[i]]
        for j in range(1, i + 1):
            row.append(row[j - 1] + (row[j - 1] - prev[j - 1]) / (steps[i - j] / steps[i] - 1.0))
        prev = row
    one_sided = prev[-1]
    # rounding: each forward difference is off by <= 2 eps max|f| / h_i <= ``floor``; the Neville
    # weights in h (ratio 2, 4 levels: -1/21, 2/3, -8/3, 64/21) sum to 6.4 in magnitude, so 8x the floor
    own = np.maximum(np.abs(prev[-1] - prev[-2]), 8.0 * floor)
    gap = np.abs(one_sided - best)
    # 4x: both estimates are conservative by construction; a gap under 4x their sum is not evidence
    return np.where(gap > 4.0 * (own + err), gap, 0.0)


def richardson(
    f1d: Callable[[float], float], x: float, h: float | None = None, order: int = 1
) -> tuple[float, float, int]:
    """Richardson-extrapolated central differences of ``f1d`` at ``x``: (estimate, error estimate, calls).

    Central differences of derivative ``order`` at steps ``h, h/2, h/4, h/8`` (each made exactly
    representable) are combined by a Neville tableau in ``h^2``; the error estimate is the change
    made by the last extrapolation. Default ``h``: :func:`default_step` ("richardson"). For order 1
    this costs 8 calls of ``f1d``, 2 more for the off-grid check of the estimate and 1 for ``f1d(x)`` (the
    one-sided check's anchor; even-order stencils weight it too): 11, as through the backend.
    """
    _check_order(order)
    x = float(x)
    h = default_step("richardson", x, order) if h is None else float(h)
    calls = [0]

    def g(t: float) -> float:
        calls[0] += 1
        return f1d(x + t)

    center = g(0.0)  # even-order stencils weight f(x); at order 1 it anchors the one-sided check
    best, err, _ = _richardson_core(g, x, h, order, center)
    return float(best), float(err), calls[0]


def _flat_below_resolution(gv: Callable[[float], Any], values: dict[float, Any], first: float) -> float | None:
    """The offset (``±first``) at which ``f`` differs from the one value it had at every point the walk used,
    else None; ``first`` is the walk's first step, so at most two more calls, and only when f looked flat.

    Equal values give central differences of exactly 0 and an error estimate of 0 (the rounding floor scales
    with |f|, 0 here). That is right for a constant, but ``log((3-x)**(x**1.3))`` is 0 in floats for every
    |x| < 1e-12 ((3-x)**1e-100 rounds to 1) while its derivative at 6.3e-78 is 9.9e-24: the walk, pushed below
    |x| by the domain, never sees a change. If f changes within the first step, the flatness is rounding.
    """
    if not values:
        return None
    seen = list(values.values())
    v0 = np.asarray(seen[0], dtype=float)
    if any(not np.array_equal(np.asarray(v, dtype=float), v0) for v in seen[1:]):
        return None
    for t in (first, -first):
        if t in values:
            continue
        try:
            v = gv(t)
        except (DomainError, FloatingPointError, ZeroDivisionError, OverflowError, ValueError, TypeError):
            continue
        if not np.array_equal(np.asarray(v, dtype=float), v0):
            return t
    return None


def _resolution(best: Any) -> Any:
    """The error an answer carries by being a float: 2 ulps of it, and 8 of the smallest subnormal (TINY).

    The rounding floors above scale with |f| / h and underflow to 0 where the answer is subnormal: 0.5/x at
    1e158 came out -5e-317 with estimate 0 while it is 2.5e-323 off (each quotient rounds to a multiple of TINY,
    the tableau adds a few). No estimate may claim more than the float format can hold.
    """
    return 2.0 * np.spacing(np.abs(np.asarray(best, dtype=float))) + 8.0 * TINY


def _whole_powers(estimates: Sequence[Any], steps: Sequence[float], noise: float) -> bool:
    """Whether the differences of each column of the tableau in all powers of h shrink by a whole power of the
    step ratio (within ``WHOLE_POWER_SLACK``) wherever two successive ones are above ``noise``.

    The tableau in h, h^2, h^3 assumes D(h) = f' + a h + b h^2 + ...; at a kink with a fractional power
    (x + sign(x)|x|^2.5 at 0: D(h) = 1 + h^1.5; x + x|x| ln|x|: h ln h) it extrapolates to the wrong limit and
    its last change (9.7e-9 there) understates the error (1.7e-8); the off-grid check shares the bias. The
    exponent 1.5 shows in the ratio of successive differences (2^1.5 instead of 2 or 4).
    """
    col = [np.asarray(e, dtype=float) for e in estimates]
    for j in range(len(col) - 1):
        deltas = [np.abs(a - b) for a, b in zip(col, col[1:])]
        for i in range(len(deltas) - 1):
            big = (deltas[i] > noise) & (deltas[i + 1] > noise)
            if not np.any(big):
                continue
            q = math.log(steps[i] / steps[i + 1])
            with np.errstate(all="ignore"):
                p = np.log(deltas[i][big] / deltas[i + 1][big]) / q
            if np.any(np.abs(p - np.round(p)) > WHOLE_POWER_SLACK):
                return False
        col = [b + (b - a) / (steps[i] / steps[i + j + 1] - 1.0) for i, (a, b) in enumerate(zip(col, col[1:]))]
    return True


def _amax(a: Any) -> float:
    """``max |a|``; scalars (the common case) without numpy's reductions, which cost a microsecond each."""
    return abs(float(a)) if isinstance(a, float) else float(np.max(np.abs(a))) if np.size(a) else 0.0


def _adaptive_core(
    g: Callable[[float], Any], x: float, h: float, order: int, center: Any = None, value: Any = None,
) -> tuple[Any, Any, float, int]:
    """:func:`_adaptive_walk` with numpy's floating-point warnings off: a non-finite difference is checked for."""
    with np.errstate(all="ignore"):
        return _adaptive_walk(g, x, h, order, center, value)


def _adaptive_walk(
    g: Callable[[float], Any], x: float, h: float, order: int, center: Any = None, value: Any = None,
) -> tuple[Any, Any, float, int]:
    """Richardson's tableau on steps chosen by its own error estimate: (estimate, error estimate, step, steps).

    Central differences ``D(h)`` are taken at ``h, h/2, h/4, ...``; the tableau runs over the last
    four. Its error estimate is the change made by the last extrapolation, floored by rounding
    (``2 eps (|f| + |x f'|) sum|w| / h^order`` at the smallest step, ``|x f'|`` for first derivatives
    only); the estimate with the smallest error is returned. The walk adapts to the scale on which ``f`` changes:

    * a step whose points leave the domain (an exception, a complex or non-finite value) is retried
      at ``|x|/8`` if the edge may lie between ``x - h`` and ``x``, else 32x smaller;
    * two differences at ``h`` and ``h/2`` that disagree by more than 10% (and more than rounding)
      mean ``h`` is far outside the Taylor range: the window is dropped and the steps jump 32x down,
      until such a disagreement has shrunk at least in proportion to the step since the last one: then
      the differences converge to a limit too small for the 10% test (x**3 at 0) and the walk goes on;
    * it stops once a full window's truncation estimate is under the rounding floor (smaller steps
      only add rounding), after two full windows that do not improve on the best, or after
      ``ADAPTIVE_MAX_STEPS`` differences or below ``ADAPTIVE_MIN_ULPS`` ulps of x; the chosen window is
      then checked (``check``);
    * for a first derivative with ``value`` (``f(x)``, already known to the caller) the chosen window's
      forward differences must agree with its central ones (:func:`_one_sided_gap`): a stencil that straddles a
      kink far closer than its smallest step (``abs`` at 1e-300: central 0, forward 1) fails it;
    * when no window passes the check, the last one is extrapolated again in all powers of h, not only
      even ones, and checked again (:func:`all_powers`: x*abs(x) at 0, whose D(h) = h), if its differences
      shrink by whole powers of the step (:func:`_whole_powers`: x + sign(x)|x|^2.5 at 0 is refused);
    * an estimate whose error estimate exceeds it (and ``|f| / max(|x|, 1)``) is refused (Unsupported);
    * an answer from values of ``f`` that are all the same is refused when ``f`` differs at the first step
      (:func:`_flat_below_resolution`): ``f`` is flat only because its rounding hides the change near x.
    """
    _, weights = _scheme_stencil("central", order)
    spread = sum(abs(float(w)) for _, w in weights)
    size = [0.0]  # largest |f| at the current step's points: sets the rounding floor
    values: dict[float, Any] = {}  # f(x + t) by t, for the one-sided check and the flatness check
    first = h

    def gv(t: float) -> Any:
        v = g(t)
        if not isinstance(v, float):
            a = np.asarray(v)
            if a.dtype.kind == "c" or not np.all(np.isfinite(a)):
                raise DomainError("not real or not finite")
        elif not math.isfinite(v):
            raise DomainError("not finite")
        size[0] = max(size[0], _amax(v))
        values[t] = v
        return v

    if center is not None:
        size[0] = _amax(center)
    base = size[0]
    tried = 0
    smallest = h  # the smallest step tried, for the message

    def difference_at(step: float) -> Any:
        """The central difference at ``step``, or None where a point leaves the domain."""
        nonlocal tried, smallest
        tried += 1
        smallest = min(smallest, step)
        size[0] = base
        try:
            d = _apply(gv, step, weights, order, center)
        except (DomainError, FloatingPointError, ZeroDivisionError, OverflowError, ValueError, TypeError):
            return None
        return d if math.isfinite(_amax(d)) else None

    def extrapolate(window: list[tuple[float, Any]], power: int = 2) -> tuple[Any, Any, Any]:
        est, change = richardson_extrapolate([v for _, v in window], [s for s, _ in window], power)
        # f(x + h) is computed with an error of about eps (|f| + |x f'|): the second term is the
        # rounding of arguments inside f (30 x in sin(30 x) at x = 2.5 costs 75 eps, not eps); a tableau
        # in all powers of h weighs rounding 8x more (its weights sum to 6.4 over 4 levels, see _one_sided_gap)
        noise = size[0] + (abs(x) * _amax(window[-1][1]) if order == 1 else 0.0)
        rounding = _over_power(2.0 * EPS * spread * noise, window[-1][0], order) * (8.0 if power == 1 else 1.0)
        floor = max(rounding, _amax(_resolution(est)))
        return est, change, floor

    def best_step(candidate: tuple) -> float:
        return candidate[4][-1][0]  # the smallest step of its window

    def check(candidate: tuple, power: int = 2) -> tuple[Any, Any, float, int] | None:
        """The candidate with its error estimate widened by the check, or None if it fails the check.

        One more difference at a step off the window's grid (its smallest step / sqrt 2) replaces
        the window's largest: the two extrapolations must agree within their estimates. Steps in a
        geometric sequence can alias a fast oscillation into a smooth-looking one; this catches it.
        """
        top, est, err, step, win = candidate
        h_check = exact_step(x, best_step(candidate) / np.sqrt(2.0))
        d = difference_at(h_check)
        if d is None:
            return None
        alt, _, alt_floor = extrapolate(win[1:] + [(h_check, d)], power)
        gap = np.abs(alt - est)
        if _amax(gap) > 4 * max(top, _amax(alt_floor)):
            candidate[2] = np.maximum(err, gap)
            return None
        err = np.maximum(err, gap)
        if order == 1 and value is not None:
            steps = [s for s, _ in win]
            floor1 = _over_power(2.0 * EPS * max(size[0], _amax(value)), steps[-1], 1)
            one_sided = _one_sided_gap(est, err, value, values, steps, floor1)
            # a disagreement of the answer's own size: a kink or singular point inside the stencil that the
            # central differences do not show at all (smaller steps may clear it). A smaller gap is the forward
            # tableau's own truncation (first order in h: tanh(1e8 x) at 1e-8 gives 3.6e-5 relative, while the
            # central answer is right to 2e-9), not evidence
            if _amax(one_sided) > ADAPTIVE_CONSISTENT * _amax(est):
                candidate[2] = np.maximum(err, one_sided)
                return None
            if not math.isfinite(_amax(_center_divergence(value, values, sorted(steps + [h_check], reverse=True)))):
                candidate[2] = np.full(np.shape(err), np.inf)
                return None
        return finish(est, err, step)

    def all_powers(candidate: tuple) -> tuple[Any, Any, float, int] | None:
        """A candidate that failed :func:`check`, extrapolated in all powers of h instead of even ones, and
        checked again; None if it fails again.

        Central differences carry odd powers of h where f's second (or a higher) derivative jumps at x:
        x*abs(x) at 0 gives D(h) = h, on which the h^2 tableau never settles although the derivative, 0,
        exists. The limit in all powers is the mean of f's one-sided derivatives, which is f' only where
        they agree: the check's one-sided test refuses abs at 0 here as it does in the h^2 tableau. A window
        whose differences shrink by a fractional power of h (:func:`_whole_powers`) is refused before.
        """
        if order != 1 or value is None:
            return None
        win = candidate[4]
        est, change, floor = extrapolate(win, power=1)
        if not _whole_powers([v for _, v in win], [s for s, _ in win], 4.0 * floor):
            return None
        err = np.maximum(change, floor)
        return check([_amax(err), est, err, candidate[3], win], power=1)

    def finish(est: Any, err: Any, step: float) -> tuple[Any, Any, float, int]:
        # an error estimate above both the answer and |f| / max(|x|, 1) (the size of a derivative
        # over f's scale) is rounding at steps the domain forced tiny: x**x at 1e-300 is 0 +- 7e285
        # (an estimate at the float resolution of the answer is no reason to refuse: 0.5/x at 7.9e300 is 0 +- 5e-323)
        limit = max(_amax(est), size[0] / max(abs(x), 1.0), _amax(_resolution(est)))
        if not math.isfinite(_amax(err)) or _amax(err) > limit:
            raise Unsupported(f"finite differences cannot resolve the derivative at x={x:g}: no step down to "
                              f"{step:.3g} gave a consistent estimate (its error estimate {_amax(err):.2g} "
                              "exceeds it)")
        differs = _flat_below_resolution(gv, values, first)
        if differs is not None:
            raise Unsupported(f"finite differences cannot resolve the derivative at x={x:g}: f has the same "
                              f"computed value at every step down to {smallest:.3g} but not at x{differs:+.3g}: "
                              "its change near x is below the rounding of its values")
        return est, err, step, tried

    window: list[tuple[float, Any]] = []
    best: list | None = None  # [max error, estimate, error, step, window]
    rejected = None
    worse = 0
    converging = False  # set once the differences are seen to converge as the step shrinks (see the jump test)
    last_jump: tuple[float, float] | None = None  # (step, |D(step) - D(step / 2)|) of the last pair far apart
    # a step of a few ulps of x is no step: x + h rounds, f sees the same argument on both sides (acos(x - 0.1 + 1)
    # at 0.1 gives differences of exactly 0 below 1e-16 while its derivative is -inf); below 64 ulps the argument
    # carries fewer than 6 bits of the step, and the walk stops
    min_step = ADAPTIVE_MIN_ULPS * float(np.spacing(abs(x)))
    while tried < ADAPTIVE_MAX_STEPS and h >= min_step and h > 0.0:
        d = difference_at(h)
        if d is None:
            window = []
            h = exact_step(x, abs(x) / 8 if 0.0 < abs(x) < h else h / ADAPTIVE_JUMP)
            continue
        window = (window + [(h, d)])[-RICHARDSON_LEVELS:]
        h = exact_step(x, h / 2)
        if len(window) < 2:
            continue
        est, change, floor = extrapolate(window)
        jump = _amax(window[-1][1] - window[-2][1])
        if not converging and jump > ADAPTIVE_CONSISTENT * max(_amax(window[-1][1]), _amax(window[-2][1])) \
                and jump > 100 * floor:  # far outside the Taylor range: no candidate, no use halving from here
            # ... unless the disagreement shrank with the step since the last such pair: then the differences
            # converge, to a limit too small for a relative test (x**3 at 0: D(h) = h**2, 75% apart at every
            # halving; x*abs(x) at 0: D(h) = h), and the tableau and its checks decide from here
            top = window[-2][0]
            converging = last_jump is not None and jump <= 1.5 * last_jump[1] * (top / last_jump[0])
            last_jump = (top, jump)
            if not converging:
                window = []
                h = exact_step(x, h / ADAPTIVE_JUMP)
                continue
        err = np.maximum(change, floor)
        if best is None or _amax(err) < best[0]:
            best, worse = [_amax(err), est, err, window[0][0], list(window)], 0
        elif len(window) == RICHARDSON_LEVELS:
            worse += 1
        if len(window) == RICHARDSON_LEVELS and (_amax(change) <= floor or worse >= 2):
            checked = check(best)
            if checked is not None:
                return checked
            rejected = best
            best, window, worse = None, [], 0
            h = exact_step(x, best_step(rejected) / np.sqrt(2.0) / ADAPTIVE_JUMP)
    if best is not None:  # out of differences before a window settled: check the best one seen
        checked = check(best)
        if checked is not None:
            return checked
        rejected = best
    if rejected is None and last_jump is not None:  # every difference computed, none settled
        raise Unsupported(f"finite differences cannot resolve the derivative at x={x:g}: the central differences "
                          f"changed by more than {ADAPTIVE_CONSISTENT:.0%} at every halving of the step down to "
                          f"{smallest:.3g} (f is not smooth at x, or its derivative is infinite there)")
    if rejected is None:
        raise _Hinted(f"f could not be evaluated on both sides of x={x:g} at any step down to {smallest:.3g}: "
                      f"at the edge of its domain; {side_hint(g, x, smallest, 'adaptive')}")
    rescued = all_powers(rejected)
    if rescued is not None:
        return rescued
    # nothing passed the check: no digit of the estimate is vouched for, and |answer| is no bound on its error
    # either (sin at 1e256: 6e-254 +- 6e-254, f' = 0.86): finish refuses the non-finite estimate
    return finish(rejected[1], np.full(np.shape(rejected[2]), np.inf), rejected[3])


def adaptive(f1d: Callable[[float], float], x: float, h: float | None = None, order: int = 1
             ) -> tuple[float, float, int]:
    """Central differences with Richardson extrapolation on steps chosen by the error estimate.

    Returns (estimate, error estimate, calls of ``f1d``). ``h`` is the first step (default: the
    richardson one); see :func:`_adaptive_core` for how the steps are walked. Smooth functions cost
    8 calls, as :func:`richardson` does; near poles, domain edges, kinks and fast oscillation up to 28.
    """
    _check_order(order)
    x = float(x)
    h = default_step("adaptive", x, order) if h is None else float(h)
    calls = [0]

    def g(t: float) -> float:
        calls[0] += 1
        return f1d(x + t)

    value = g(0.0)  # f(x): even-order stencils weight it; at order 1 it anchors the one-sided check
    best, err, _, _ = _adaptive_core(g, x, h, order, value if order % 2 == 0 else None, value)
    return float(best), float(err), calls[0]


def difference(f1d: Callable[[float], float], x: float, h: float, scheme: str, order: int = 1) -> float:
    """One scheme's estimate of ``f1d^(order)(x)`` at the step ``h``, used exactly as given.

    No step adjustment happens here (the error-versus-step curve wants the raw ``h``; use
    :func:`exact_step` to make it representable). For "richardson" ``h`` is the largest of the
    four steps. The complex scheme supports order 1 only.
    """
    _check_scheme(scheme)
    _check_order(order)
    x, h = float(x), float(h)
    if scheme == "complex":
        if order != 1:
            raise DiffcompareError("the complex step gives first derivatives only; use another scheme")
        return float(np.imag(f1d(x + 1j * h)) / h)
    if scheme == "richardson":  # the tableau alone: the curve does not use its estimate or its checks
        center = f1d(x) if order % 2 == 0 else None
        return float(_richardson_core(lambda t: f1d(x + t), x, h, order, center, check=False)[0])
    _, weights = _scheme_stencil(scheme, order)
    return float(_apply(lambda t: f1d(x + t), h, weights, order))


class _Hinted(DomainError):
    """A domain error whose message already names the way out."""


def _with_hint(exc: DomainError, g: Callable[[float], Any], x: float, h: float, scheme: str) -> DomainError:
    """``exc`` with :func:`side_hint`'s advice appended (once)."""
    if isinstance(exc, _Hinted):
        return exc
    return _Hinted(f"{exc}; {side_hint(g, x, h, scheme)}")


def side_hint(g: Callable[[float], Any], x: float, h: float, scheme: str) -> str:
    """Which scheme keeps every point in f's domain, from f tested at x - t and x + t (t = h and h / 2^20).

    ``g(t)`` is f at x + t. At a domain edge only the side inside works (arcsin at 1: backward; x**1.5 at 0:
    forward); no hint names a scheme that would leave the domain the same way, and "a smaller step" is said
    only where the smaller step stays inside.
    """
    def inside(t: float) -> bool:
        try:
            with np.errstate(all="ignore"):
                a = np.asarray(g(t))
        except (ArithmeticError, ValueError, TypeError, DiffcompareError):
            return False
        return a.dtype.kind != "c" and bool(np.all(np.isfinite(a)))

    tiny = exact_step(x, h * 2.0**-20) or h
    left, right = inside(-h) and inside(-tiny), inside(h) and inside(tiny)
    near_left, near_right = inside(-tiny), inside(tiny)
    if near_left and near_right:
        return "try a smaller step (--step)" if scheme != "adaptive" else "try a smaller step with another scheme"
    if near_right and scheme != "forward":
        return "only the right side of x stays in the domain: use the forward scheme" + (
            "" if right else " with a smaller step")
    if near_left and scheme != "backward":
        return "only the left side of x stays in the domain: use the backward scheme" + (
            "" if left else " with a smaller step")
    if near_left or near_right:
        return "try a smaller step (--step)"
    return "f leaves its domain on both sides of x at every step tried: no finite difference is possible here"


class _Counted:
    """``f`` with its calls counted, and non-finite or floating-point-failing values made DomainErrors."""

    def __init__(self, f: Function):
        self.f = f
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                out = self.f(*args)
        except (FloatingPointError, ZeroDivisionError, OverflowError) as exc:
            raise DomainError(
                f"a finite-difference point leaves the function's domain ({point_text(_real(args))}): {exc}"
            ) from None
        if isinstance(out, float) and math.isfinite(out):  # the common case, without numpy's reductions
            return out
        arr = np.asarray(out)
        if arr.dtype.kind == "c" and not any(np.iscomplexobj(a) for a in args):
            # Python's float power: (-1e-6) ** 1.5 is a complex number, not an error
            raise DomainError(
                f"the function is not real at the finite-difference point {point_text(args)} (outside its "
                "domain)"
            )
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            raise DomainError(
                f"the function is not finite at a finite-difference point ({point_text(_real(args))})"
            )
        return out


def _real(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(np.real(a) for a in args)


class FiniteDifferences:
    """Finite-difference derivatives of a plain numpy function.

    ``scheme`` is one of :data:`SCHEMES`; ``step`` (absolute) overrides the theory step of
    :func:`default_step` for every coordinate. Shapes follow :mod:`diffcompare.backends.base`:
    one argument -> the gradient has its shape, the Jacobian is ``out.shape + x.shape`` and the
    Hessian ``x.shape + x.shape``; several arguments -> a flat ``(n,)`` gradient, an ``(m, n)``
    Jacobian (``m`` = output size) and an ``(n, n)`` Hessian over the raveled arguments in order.

    Hessians use central second differences (diagonal: ``(f(x+h) - 2f(x) + f(x-h)) / h^2``, mixed:
    the 4-point formula) at step ``eps^(1/4)``, ``2n^2 + 1`` calls; richardson extrapolates them over
    four steps; the other schemes have no Hessian and refuse (:func:`check_scheme`). Derivatives of
    order ``k >= 2`` use the scheme's stencil of order ``k`` (the complex step has none and refuses),
    and lose digits with ``k``: that is the point.
    For "adaptive", ``step`` is the first step of its walk, and the step reported is the largest of
    the window it chose.
    """

    name = "finite"

    def __init__(self, scheme: str = "central", step: float | None = None):
        _check_scheme(scheme)
        if step is not None and not (np.isfinite(step) and step > 0):
            raise DiffcompareError(f"the step must be a positive number, not {step!r}")
        self.scheme = scheme
        self.step = None if step is None else float(step)

    # -- steps -------------------------------------------------------------------------------

    def _step(self, xi: float, order: int = 1, scheme: str | None = None) -> float:
        scheme = scheme or self.scheme
        if self.step is None:
            return default_step(scheme, xi, order)
        if scheme == "complex" and order == 1:
            return self.step
        h = exact_step(xi, self.step)
        if h == 0.0 or math.isinf(_over_power(1.0, h, order)):  # x + h == x, or h^order underflows: the quotient is 0/0
            raise DiffcompareError(f"the step {self.step:g} is too small at x={xi:g} for order {order} "
                                   "(x + h rounds to x, or h^order underflows); use a larger --step")
        return h

    # -- one coordinate at a time --------------------------------------------------------------

    def _partial(self, fc: _Counted, flat: np.ndarray, like, i: int, value: Any) -> tuple[Any, Any, float]:
        """d f / d x_i as an array of the output's shape, an error estimate (or None) and the step."""
        xi = float(flat[i])
        h = self._step(xi)

        def g(t: float) -> Any:
            if isinstance(t, complex) or self.scheme == "complex":
                moved = flat.astype(complex)
            else:
                moved = flat.copy()
            moved[i] += t
            return fc(*unflatten_args(moved, like))

        if self.scheme == "complex":
            return np.imag(np.asarray(g(1j * h))) / h, None, h
        try:
            if self.scheme == "richardson":
                best, err, _ = _richardson_core(g, xi, h, 1, value)
                return best, err, h
            if self.scheme == "adaptive":
                best, err, h, _ = _adaptive_core(g, xi, h, 1, value=value)
                return best, err, h
            _, weights = _scheme_stencil(self.scheme, 1)
            return _apply(g, h, weights, 1, value), None, h
        except DomainError as exc:
            raise _with_hint(exc, g, xi, h, self.scheme) from None

    def _columns(self, f: Function, x: Any):
        args = as_args(x)
        fc = _Counted(f)
        value = evaluate(fc, args)
        flat = flatten_args(args)
        cols, errs, steps = [], [], []
        for i in range(flat.size):
            d, e, h = self._partial(fc, flat, args, i, value)
            cols.append(np.asarray(d, dtype=float))
            errs.append(e)
            steps.append(h)
        return args, fc, value, cols, errs, steps

    def _options(self, steps: list[float], **extra: Any) -> dict[str, Any]:
        opts: dict[str, Any] = {"scheme": self.scheme}
        opts["step"] = steps[0] if len(steps) == 1 else [float(s) for s in steps]
        if self.scheme in ("richardson", "adaptive"):
            opts["levels"] = RICHARDSON_LEVELS
        opts.update(extra)
        return opts

    # -- the Differentiator interface ----------------------------------------------------------

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        """``f^(order)(x)`` for scalar ``f`` of one scalar ``x``; the value is ``f(x)``."""
        _check_order(order)
        check_scheme(self.scheme, order, several=False)
        t0 = time.perf_counter()
        args = as_args(x)
        if len(args) != 1 or not isinstance(args[0], float):
            raise DiffcompareError("derivative needs a function of one scalar; use gradient or jacobian")
        x0 = args[0]
        fc = _Counted(f)
        value = evaluate(fc, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("derivative needs a scalar output; use jacobian")
        value = float(np.real(value))
        f1d = fc if self.scheme == "complex" and order == 1 else (lambda t: float(fc(t)))
        error = None
        if self.scheme == "complex" and order == 1:
            h = self._step(x0)
            d = float(np.imag(fc(x0 + 1j * h)) / h)
            used = "complex"
        else:
            h = self._step(x0, order)
            try:
                if self.scheme == "richardson":
                    d, error, _ = _richardson_core(lambda t: f1d(x0 + t), x0, h, order, value)
                    d, error = float(d), float(error)
                    used = "richardson"
                elif self.scheme == "adaptive":
                    d, error, h, _ = _adaptive_core(lambda t: f1d(x0 + t), x0, h, order,
                                                    value if order % 2 == 0 else None, value)
                    d, error = float(d), float(error)
                    used = "adaptive"
                else:
                    used, weights = _scheme_stencil(self.scheme, order)
                    d = float(_apply(lambda t: f1d(x0 + t), h, weights, order, value))
            except DomainError as exc:
                raise _with_hint(exc, lambda t: fc(x0 + t), x0, h, self.scheme) from None
        opts = {"scheme": used, "step": h, "order": order}
        if self.scheme in ("richardson", "adaptive"):
            opts["levels"] = RICHARDSON_LEVELS
        return Result(self.name, value, d, time.perf_counter() - t0, opts,
                      evaluations=fc.calls, error_estimate=error)

    def gradient(self, f: Function, x: Any) -> Result:
        """The gradient of scalar ``f``: the argument's shape for one argument, flat ``(n,)`` for several."""
        t0 = time.perf_counter()
        args, fc, value, cols, errs, steps = self._columns(f, x)
        if np.ndim(value) != 0:
            raise DiffcompareError("gradient needs a scalar output; use jacobian")
        grad = np.array([float(c) for c in cols])
        error = None if errs and errs[0] is None else float(max((float(e) for e in errs), default=0.0))
        return Result(self.name, float(np.real(value)), shape_like_input(grad, args), time.perf_counter() - t0,
                      self._options(steps), evaluations=fc.calls, error_estimate=error)

    def jacobian(self, f: Function, x: Any) -> Result:
        """``d out / d in``: ``out.shape + x.shape`` for one argument, ``(m, n)`` flat for several."""
        t0 = time.perf_counter()
        args, fc, value, cols, errs, steps = self._columns(f, x)
        out_shape = np.shape(value)
        jac = np.stack([c.reshape(-1) for c in cols], axis=1) if cols else np.zeros((int(np.prod(out_shape)), 0))
        if len(args) == 1:
            jac = jac.reshape(out_shape + np.shape(args[0]))
            jac = float(jac) if jac.ndim == 0 else jac
        error = None if errs and errs[0] is None else float(max((float(np.max(e)) for e in errs), default=0.0))
        return Result(self.name, np.real(value), jac, time.perf_counter() - t0, self._options(steps),
                      evaluations=fc.calls, error_estimate=error)

    def hessian(self, f: Function, x: Any) -> Result:
        """Second derivatives of scalar ``f``: ``x.shape + x.shape`` for one argument, ``(n, n)`` for several."""
        check_scheme(self.scheme, 2, several=True)
        t0 = time.perf_counter()
        args = as_args(x)
        fc = _Counted(f)
        value = evaluate(fc, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("hessian needs a scalar output; use jacobian of the gradient")
        value = float(value)
        flat = flatten_args(args)
        scheme = self.scheme  # central or richardson: check_scheme refused the others
        steps = np.array([self._step(float(xi), 2, scheme) for xi in flat])
        error = None
        try:
            if scheme == "richardson":
                levels = [np.array([exact_step(float(xi), s / 2**k) for xi, s in zip(flat, steps)])
                          for k in range(RICHARDSON_LEVELS)]
                estimates = [_second_differences(fc, flat, args, value, hs) for hs in levels]
                # the tableau needs one ratio per level: the coordinates share it up to representability
                hess, err = richardson_extrapolate(estimates, [float(hs[0]) if hs.size else 1.0 for hs in levels])
                error = float(np.max(err)) if err.size else 0.0
            else:
                hess = _second_differences(fc, flat, args, value, steps)
        except DomainError as exc:  # second differences need both sides of every coordinate: no one-sided way out
            raise DomainError(f"{exc}; second differences need both sides of each coordinate: away from a domain "
                              "edge a smaller step (--step) may do") from None
        if len(args) == 1:
            shape = np.shape(args[0])
            hess = hess.reshape(shape + shape)
            hess = float(hess) if hess.ndim == 0 else hess
        opts = {"scheme": scheme, "step": float(steps[0]) if steps.size == 1 else [float(s) for s in steps]}
        if scheme == "richardson":
            opts["levels"] = RICHARDSON_LEVELS
        return Result(self.name, value, hess, time.perf_counter() - t0, opts,
                      evaluations=fc.calls, error_estimate=error)


def _second_differences(fc: _Counted, flat: np.ndarray, like, value: float, hs: np.ndarray) -> np.ndarray:
    """Central second differences: ``2n^2`` calls of ``fc`` (``f(x)`` is given as ``value``)."""
    n = flat.size

    def at(*moves: tuple[int, float]) -> float:
        moved = flat.copy()
        for i, t in moves:
            moved[i] += t
        return float(fc(*unflatten_args(moved, like)))

    hess = np.empty((n, n))
    for i in range(n):
        hi = hs[i]
        hess[i, i] = (at((i, hi)) - 2.0 * value + at((i, -hi))) / hi**2
        for j in range(i):
            hj = hs[j]
            mixed = at((i, hi), (j, hj)) - at((i, hi), (j, -hj)) - at((i, -hi), (j, hj)) + at((i, -hi), (j, -hj))
            hess[i, j] = hess[j, i] = mixed / (4.0 * hi * hj)
    return hess
