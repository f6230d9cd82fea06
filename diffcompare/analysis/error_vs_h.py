"""``error_vs_h``: the error of every finite-difference scheme as a function of the step ``h``.

A difference quotient makes two errors that pull ``h`` in opposite directions:

* **truncation**: the Taylor terms the stencil drops, ``~ C h^a`` with ``a`` the scheme's accuracy
  (forward/backward 1, central 2, five-point 4, complex step 2, Richardson over 4 levels 8);
* **round-off**: each value ``f(x + o h)`` carries a rounding error ``~ eps |f|``; the stencil
  subtracts nearly equal values and divides by ``h``, so it grows like ``eps |f| / h`` (slope -1).

On a log-log plot this makes a V: slope ``a`` on the right, -1 on the left, the bottom near
``h* ~ eps^(1/(a+1))`` with error ``~ eps^(a/(a+1))``. The complex step ``Im f(x + ih) / h``
subtracts nothing, so it has no left arm: its error stays at ``~ eps`` for every small ``h``.

Each curve is summarised three ways, kept apart because they answer different questions:

* ``best_*``, the **raw measured minimum** on the grid: partly luck (rounding errors of the two
  values happen to cancel at one step);
* ``robust_*``, the **robust optimum**: the minimum of a fitted error model
  ``E(h) = A h^p + B h^q`` (:mod:`diffcompare.analysis.error_model`: two straight lines in log-log space,
  fitted to the running median of ``log10 E``, so single lucky dips do not count); ``p`` and ``q`` are
  the measured truncation and round-off slopes;
* ``theory_*``, the **rule of thumb** ``h* = eps^(1/(a+1)) max(|x|, 1)``, error ``eps^(a/(a+1))``.

Every error is computed against the 50-digit symbolic reference in 50-digit arithmetic
(:func:`diffcompare.analysis.compare.error_against`), never by a float64 subtraction.
The steps are used exactly as given (not rounded so that ``(x + h) - x == h``): the representation
error of ``x + h`` is part of the round-off arm the plot is meant to show.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.analysis import error_model
from diffcompare.backends.base import as_args, evaluate, flatten_args, point_text, unflatten_args
from diffcompare.backends.finite import ACCURACY as STENCIL_ACCURACY
from diffcompare.backends.finite import EPS, RICHARDSON_LEVELS, SCHEMES, difference, richardson_extrapolate
from diffcompare.errors import DiffcompareError, DomainError

__all__ = [
    "ACCURACY",
    "EXPECTED_SLOPES",
    "MAX_POINTS",
    "ErrorVsH",
    "ReferenceLine",
    "SchemeCurve",
    "best_scheme",
    "error_vs_h",
    "step_grid",
]

#: Order of the truncation error of each scheme (Richardson: central differences at h, h/2, h/4, h/8).
ACCURACY = {**STENCIL_ACCURACY, "richardson": 2 * RICHARDSON_LEVELS}
#: Calls of f per step and per coordinate (difference() evaluates f(x) again for forward/backward).
CALLS = {"forward": 2, "backward": 2, "central": 2, "five-point": 4, "complex": 1,
         "richardson": 2 * RICHARDSON_LEVELS}
#: Expected log-log slopes: (truncation side, round-off side). The complex step has no round-off arm.
EXPECTED_SLOPES = {s: (float(ACCURACY[s]), 0.0 if s == "complex" else -1.0) for s in SCHEMES}
MAX_POINTS = 10_000
# points whose relative error is this large are outside both asymptotic regimes (h below the float
# spacing of x, where x + h == x, or h so large the Taylor series means nothing): left out of fits
_FIT_CUTOFF = 0.1


@dataclass
class SchemeCurve:
    """One scheme's error curve and its summaries (raw minimum, fitted model, theory)."""

    scheme: str
    accuracy: int  # expected truncation slope
    calls_per_step: int  # calls of f per step (per coordinate for gradients)
    h: list[float]
    derivative: list[Any]  # float, or a list per coordinate for gradients; None where f failed
    abs_error: list[float | None]
    rel_error: list[float | None]
    best_h: float | None  # raw measured minimum of abs_error on the grid (partly luck)
    best_abs_error: float | None
    best_rel_error: float | None
    robust_h: float | None  # minimum of the fitted error model
    robust_abs_error: float | None
    robust_rel_error: float | None
    theory_h: float  # rule of thumb eps^(1/(a+1)) max(|x|, 1)
    theory_error: float  # rule of thumb, relative: eps^(a/(a+1))
    slopes: dict[str, float | None]  # fitted {"truncation": p, "round_off": q}
    expected_slopes: dict[str, float]
    model: dict[str, Any] | None = None  # E(h) = 10^truncation_intercept h^p + 10^round_off_intercept h^q
    failed: int = 0  # steps where f could not be evaluated (outside its domain, overflow)
    note: str | None = None


@dataclass
class ReferenceLine:
    """A method without a step (reverse AD, symbolic): one error, drawn as a flat line."""

    backend: str
    derivative: Any
    abs_error: float | None
    rel_error: float | None
    unsupported: str | None = None


@dataclass
class PeerLine:
    """A finite-difference library's own best estimate (numdifftools, scipy): it picks its steps itself.

    ``evaluations`` counts the calls of f it made (for a gradient or a partial: the whole gradient's);
    ``error_estimate`` is the library's own estimate of its absolute error.
    """

    backend: str
    library: str | None
    derivative: Any
    abs_error: float | None
    rel_error: float | None
    evaluations: int | None = None
    error_estimate: float | None = None
    unsupported: str | None = None


#: the finite-difference peers listed under the schemes, where installed
FD_PEERS = ("numdifftools", "scipy")


@dataclass
class ErrorVsH:
    function: str
    variables: tuple[str, ...]
    point: tuple[float, ...]
    kind: str  # "derivative", "gradient" (error = 2-norm of the error vector) or "partial"
    component: str | None
    measure: str  # in words, the quantity whose error is measured ("the derivative", "d f / d x2", ...)
    value: Any  # f(point) at 50 digits
    reference: Any  # the exact derivative / gradient / partial at 50 digits
    reference_method: str  # how the reference was decided ("interval", "exact zero (sympy)", ...)
    h: list[float]
    schemes: list[SchemeCurve] = field(default_factory=list)
    references: list[ReferenceLine] = field(default_factory=list)
    peers: list[PeerLine] = field(default_factory=list)
    seconds: float = 0.0
    best_scheme: str | None = None  # the scheme to use for this function (see :func:`best_scheme`)


def best_scheme(curves: Sequence[SchemeCurve]) -> str | None:
    """The scheme whose robust optimum is smallest: the one to use for this function.

    Only a scheme with a robust error is rated (the raw minimum is partly luck); a tie (several
    exact) goes to the fewest calls of f, then to the order given. None when no scheme has one.
    """
    rated = [(c.robust_abs_error, c.calls_per_step, i, c.scheme)
             for i, c in enumerate(curves) if c.robust_abs_error is not None]
    return min(rated)[3] if rated else None


def step_grid(h_min: float, h_max: float, points: int) -> np.ndarray:
    """``points`` steps evenly spaced in ``log10 h`` from ``h_min`` to ``h_max``; bad ranges are refused."""
    for name, v in (("--h-min", h_min), ("--h-max", h_max)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise DiffcompareError(f"{name} must be a positive number, not {v!r}")
    if not h_min < h_max:
        raise DiffcompareError(f"--h-min ({h_min:g}) must be smaller than --h-max ({h_max:g})")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or not 3 <= points <= MAX_POINTS:
        raise DiffcompareError(f"--points must be an integer from 3 to {MAX_POINTS}, not {points!r}")
    return np.logspace(math.log10(h_min), math.log10(h_max), int(points))


def theory(scheme: str, scale: float) -> tuple[float, float]:
    """The rule-of-thumb optimal step and relative error: balance ``h^a`` against ``eps / h``.

    For the complex step there is nothing to balance: the error is ``~eps`` for every ``h`` below
    ``sqrt(eps) max(|x|, 1)`` (where the truncation ``h^2 |f'''| / 6`` falls under eps); that bound
    is returned as its step.
    """
    a = ACCURACY[scheme]
    if scheme == "complex":
        return math.sqrt(EPS) * scale, EPS
    return EPS ** (1.0 / (a + 1)) * scale, EPS ** (a / (a + 1.0))


def _finite(v: Any) -> bool:
    import mpmath

    try:
        return bool(mpmath.isfinite(v))
    except (TypeError, ValueError):
        return False


def _partials(f: Callable[..., Any], args: tuple[Any, ...], coords: Sequence[int]):
    """For each coordinate, ``t -> f`` with that coordinate set to ``t`` (complex ``t`` allowed)."""
    flat = flatten_args(args)

    def one(i: int) -> Callable[[Any], Any]:
        def g(t: Any) -> Any:
            moved = flat.astype(complex) if isinstance(t, complex) else flat.copy()
            moved[i] = t
            return f(*unflatten_args(moved, args))
        return g

    return [(float(flat[i]), one(i)) for i in coords]


def richardson_raw(g: Callable[[float], float], x: float, h: float) -> float:
    """Richardson extrapolation of central differences at the raw steps ``h, h/2, h/4, h/8``.

    The same Neville tableau as :func:`diffcompare.backends.finite.richardson`, but the steps are
    not rounded to exactly representable ones, like every other scheme on the curve. (Rounded steps
    hide the round-off arm in the default example: at ``x = pi/3``, ``cos x = 1/2`` makes
    ``sin(x + h) - sin(x - h)`` exact for every representable ``h``, a coincidence, not a property.)
    """
    steps = [h / 2**i for i in range(RICHARDSON_LEVELS)]
    best, _ = richardson_extrapolate([difference(g, x, s, "central") for s in steps], steps)
    return float(best)


def _why_not(exc: Exception) -> str:
    """Why f failed at a step, in words: no Python exception name reaches the user."""
    if "complex" in str(exc):  # x**1.5 at x < 0: Python's power gives a complex number
        return "f is not real there: outside its real domain"
    if isinstance(exc, ZeroDivisionError):
        return "f divides by zero there"
    if isinstance(exc, OverflowError):
        return "f overflows there"
    return "f is not defined there"


def _estimate(partials, h: float, scheme: str) -> tuple[np.ndarray | None, str | None]:
    """Each coordinate's difference quotient at ``h``; None (and why) if ``f`` fails or is not finite."""
    out = np.empty(len(partials))
    try:
        with np.errstate(all="ignore"):
            for j, (x, g) in enumerate(partials):
                out[j] = richardson_raw(g, x, h) if scheme == "richardson" else difference(g, x, h, scheme)
    except DiffcompareError:
        raise
    except (ArithmeticError, ValueError, TypeError) as exc:
        return None, _why_not(exc)
    if not np.all(np.isfinite(out)):
        return None, None
    return out, None


def _curve(scheme: str, partials, grid: np.ndarray, ref: Any, scale: float, ref_norm: float) -> SchemeCurve:
    from diffcompare.analysis.compare import error_against

    derivs: list[Any] = []
    abs_e: list[float | None] = []
    rel_e: list[float | None] = []
    failed, reason = 0, None
    for h in grid:
        est, why = _estimate(partials, float(h), scheme)
        if est is None:
            failed += 1
            reason = reason or why
            derivs.append(None)
            abs_e.append(None)
            rel_e.append(None)
            continue
        a, r = error_against(ref, est)
        derivs.append(float(est[0]) if len(est) == 1 else [float(v) for v in est])
        abs_e.append(a)
        rel_e.append(r)
    th, te = theory(scheme, scale)
    exp_t, exp_r = EXPECTED_SLOPES[scheme]
    curve = SchemeCurve(
        scheme=scheme, accuracy=ACCURACY[scheme], calls_per_step=CALLS[scheme], h=[float(v) for v in grid],
        derivative=derivs, abs_error=abs_e, rel_error=rel_e,
        best_h=None, best_abs_error=None, best_rel_error=None,
        robust_h=None, robust_abs_error=None, robust_rel_error=None,
        theory_h=th, theory_error=te, slopes={"truncation": None, "round_off": None},
        expected_slopes={"truncation": exp_t, "round_off": exp_r}, failed=failed)
    ok = [i for i, e in enumerate(abs_e) if e is not None]
    if not ok:
        curve.note = f"f could not be evaluated at any step ({reason or 'not finite'})"
        return curve
    i = min(ok, key=lambda j: abs_e[j])
    curve.best_h, curve.best_abs_error, curve.best_rel_error = float(grid[i]), abs_e[i], rel_e[i]
    # fit only where the asymptotic picture can hold: relative error below 10%
    limit = _FIT_CUTOFF * (ref_norm if ref_norm > 0 else 1.0)
    fit_h = [float(grid[j]) for j in ok if abs_e[j] < limit]
    fit_e = [abs_e[j] for j in ok if abs_e[j] < limit]
    model = error_model.fit(fit_h, fit_e)
    zeros = sum(1 for j in ok if abs_e[j] == 0)
    if model is None and zeros == len(ok) >= error_model.MIN_POINTS:
        # exact at every step it was evaluated (central differences of |x| at 0, a formula linear in the
        # variable): there is nothing to fit, and the robust error is 0, at any step up to the largest
        curve.robust_h, curve.robust_abs_error = max(float(grid[j]) for j in ok), 0.0
        curve.robust_rel_error = 0.0 if ref_norm > 0 else None
        curve.note = f"exact (error 0) at all {zeros} steps"
    elif model is None:
        curve.note = "too few usable steps to fit the error model" + (
            f" (the error is exactly 0 at {zeros} steps)" if zeros else "")
    else:
        curve.model = model
        curve.slopes = {"truncation": model["truncation_slope"], "round_off": model["round_off_slope"]}
        curve.robust_h, curve.robust_abs_error = error_model.robust_optimum(model)
        curve.robust_rel_error = curve.robust_abs_error / ref_norm if ref_norm > 0 else None
    if failed:
        extra = f"{failed} steps left the domain or failed" + (f" ({reason})" if reason else "")
        curve.note = f"{curve.note}; {extra}" if curve.note else extra
    return curve


def error_vs_h(
    f: Callable[..., Any],
    point: Any,
    *,
    name: str = "f",
    variables: Sequence[str] | None = None,
    component: str | None = None,
    h_min: float = 1e-16,
    h_max: float = 1.0,
    points: int = 60,
    schemes: Sequence[str] = SCHEMES,
    references: Sequence[str] = ("reverse", "symbolic"),
    peers: Sequence[str] | None = None,
    timeout: float | None = None,
) -> ErrorVsH:
    """The error of each finite-difference scheme at every step of a log grid, against 50 digits.

    One scalar variable: the derivative. Several: the gradient, whose error is the 2-norm of the
    error vector (relative: divided by the norm of the exact gradient), or with ``component`` the
    partial derivative in that variable alone. ``references`` are methods without a step, whose
    single error is drawn as a flat line. The exact reference, and the symbolic line, get
    ``timeout`` seconds each (default ``REFERENCE_TIMEOUT``). ``peers`` are finite-difference libraries
    (default: those of :data:`FD_PEERS` that are installed) whose own best estimate, error and calls of f
    are listed under the schemes.
    """
    from diffcompare import backends as registry
    from diffcompare.analysis.compare import error_against
    from diffcompare.analysis.compare import check_timeout
    from diffcompare.backends.symbolic import REFERENCE_TIMEOUT, budgeted_reference, run_sympy
    from diffcompare.errors import Timeout, Unsupported

    t0 = time.perf_counter()
    grid = step_grid(h_min, h_max, points)
    for s in schemes:
        if s == "adaptive":
            raise DiffcompareError("the adaptive scheme chooses its own step at each point, so it has no error-vs-h "
                                   f"curve (compare shows its error and estimate); choose from {', '.join(SCHEMES)}")
        if s not in SCHEMES:
            raise DiffcompareError(f"unknown scheme {s!r}; allowed: {', '.join(SCHEMES)}")
    if peers is None:
        peers = [p for p in FD_PEERS if p in registry.available()]
    elif peers:
        peers = registry.resolve(peers, "--peers")
    args = as_args(point)
    n = int(flatten_args(args).size)
    names = tuple(variables) if variables else (("x",) if n == 1 else tuple(f"x{i + 1}" for i in range(n)))
    if len(names) != n:
        raise DiffcompareError(f"{len(names)} variable names for {n} coordinates")
    evaluate(f, args)  # a point outside the domain is bad input, before any work
    scalar = len(args) == 1 and isinstance(args[0], float)
    kind_ref = "derivative" if scalar else "gradient"
    budget = check_timeout(REFERENCE_TIMEOUT if timeout is None else timeout)
    try:
        ref_all = budgeted_reference(f, point if scalar else args, kind=kind_ref, timeout=budget)
    except Unsupported as exc:  # e.g. `if x > 0` in the user's own function: no exact value to measure against
        raise Unsupported(f"error-vs-h measures every step against the exact derivative, which is not available "
                          f"here: {exc}") from None
    value, exact = ref_all.value, ref_all.derivative
    exact_flat = np.atleast_1d(np.asarray(exact, dtype=object)).ravel()
    if not all(_finite(v) for v in exact_flat):
        import mpmath

        shown = ", ".join(mpmath.nstr(v, 6).replace("nan", "undefined") for v in exact_flat)
        why = ref_all.method  # "undefined: kink, one-sided -1 / +1" says it all; "interval" explains nothing alone
        detail = f"does not exist ({why})" if shown == "undefined" else f"is not finite: {shown} ({why})"
        raise DomainError(f"the exact {kind_ref} of {name} at {point_text(args, names)} {detail}; "
                          "there is no value to measure step errors against")
    if component is not None:
        if component not in names:
            raise DiffcompareError(f"--component {component!r} is not a variable; choose one of {', '.join(names)}")
        coords = [names.index(component)]
        kind = "derivative" if n == 1 else "partial"
        measure = f"d f / d {component}"
    elif n == 1:
        coords, kind, measure = [0], "derivative", "the derivative"
    else:
        coords, kind, measure = list(range(n)), "gradient", "the gradient (error: 2-norm of the error vector)"
    ref = exact_flat[coords]
    ref_norm = float(error_against(ref, np.zeros(len(coords)))[0])
    flat = flatten_args(args)
    scale = max(max(abs(float(flat[i])) for i in coords), 1.0)
    partials = _partials(f, args, coords)
    out = ErrorVsH(name, names, tuple(float(v) for v in flat), kind, component, measure, value,
                   ref[0] if len(coords) == 1 else ref, ref_all.method, [float(v) for v in grid])
    for s in schemes:
        out.schemes.append(_curve(s, partials, grid, ref, scale, ref_norm))
    out.best_scheme = best_scheme(out.schemes)
    for backend in references:
        diff = registry.get(backend)
        # a partial, not a lambda: it pickles, for the budget's fork server (diffcompare.budget)
        run = functools.partial(diff.derivative, f, point) if scalar else functools.partial(diff.gradient, f, args)
        try:
            result = run_sympy(run, timeout=budget) if backend == "symbolic" else run()
        except (Unsupported, Timeout) as exc:
            out.references.append(ReferenceLine(backend, None, None, None, unsupported=str(exc)))
            continue
        got = np.atleast_1d(np.asarray(result.derivative, dtype=float)).ravel()[coords]
        a, r = error_against(ref, got)
        out.references.append(ReferenceLine(backend, float(got[0]) if len(got) == 1 else got, a, r))
    for backend in peers:
        diff = registry.get(backend)
        try:
            result = diff.derivative(f, point) if scalar else diff.gradient(f, args)
        except (Unsupported, DomainError) as exc:
            out.peers.append(PeerLine(backend, getattr(diff, "library", None), None, None, None,
                                      unsupported=" ".join(str(exc).split())))
            continue
        got = np.atleast_1d(np.asarray(result.derivative, dtype=float)).ravel()[coords]
        a, r = error_against(ref, got)
        out.peers.append(PeerLine(backend, result.library, float(got[0]) if len(got) == 1 else got, a, r,
                                  result.evaluations, result.error_estimate))
    out.seconds = time.perf_counter() - t0
    return out
