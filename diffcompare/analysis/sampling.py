"""The data behind ``diffcompare plot``: f and its derivatives sampled on a range, all by AD in one pass.

The lecture's Exercise 4 plots sin and its derivative without writing cos: the derivative comes from
AD. For an *elementwise* f (every expression the parser accepts is one) the derivative at all N
sample points is one forward-mode pass over the whole sample vector with a tangent of ones: the
Jacobian is diagonal, so J·1 is exactly the vector of f'(x_i). Reverse mode gets the same vector
from one backward pass of ``sum(f(x))`` (its gradient is 1ᵀJ, the same diagonal); ``mode`` picks
either, and the two must agree. Higher orders nest the pass. Before trusting the shortcut, the
function is checked to be elementwise: a JVP along a random direction v must equal f'(x)·v.

Where f or a derivative is not defined (log of a negative number, a pole) the sample is NaN and the
plot shows a gap; ``undefined`` counts such samples. Only a range with no defined sample at all is
an error.

For two variables :func:`field` samples f on a grid with both partial derivatives (one forward
pass per variable over the whole grid): contour lines and gradient arrows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.errors import DiffcompareError

__all__ = ["MAX_ORDER", "MAX_POINTS", "Curves", "Field", "curves", "field", "sample"]

MAX_ORDER = 10
MAX_POINTS = 100_000  # samples; 1e7 would take memory
# Nested AD costs ~2^order vector passes per order, and each order is computed from scratch: the
# work grows like points * 2^order (1e5 points at order 10 ran for over a minute). Refused past this budget.
MAX_WORK = 2_000_000
MAX_GRID = 400  # per axis: 400 x 400 = 160 000 grid points
# an elementwise f has J v = f'(x) * v; anything else differs by far more than rounding (relative 1e-9)
_ELEMENTWISE_RTOL = 1e-9


@dataclass
class Curves:
    """Samples of f (order 0) and its derivatives up to ``max_order`` at ``xs``; NaN where undefined."""

    function: str
    variable: str
    xs: np.ndarray
    series: dict[int, np.ndarray]  # order -> values at xs
    max_order: int
    mode: str  # "forward" (ones tangent) or "reverse" (gradient of the sum)
    undefined: int  # samples where f or one of its derivatives is not a finite number


@dataclass
class Field:
    """f on a grid with its gradient: ``values[i, j]`` = f(xs[j], ys[i]) (rows are y, like an image)."""

    function: str
    variables: tuple[str, str]
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    grad_x: np.ndarray
    grad_y: np.ndarray
    undefined: int


def _samples(lo: float, hi: float, n: int) -> np.ndarray:
    """n evenly spaced points of [lo, hi]; np.linspace's hi - lo overflows past 1.8e308 (NaN samples)."""
    if np.isfinite(hi - lo):
        return np.linspace(lo, hi, n)
    t = np.linspace(0.0, 1.0, n)
    return lo * (1.0 - t) + hi * t  # each term stays within [lo, hi]: no overflow


def _check(order: int, points: int, limit: int) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise DiffcompareError(f"--order must be a whole number from 1 to {MAX_ORDER}, not {order!r}")
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= limit:
        raise DiffcompareError(f"--points must be a whole number from 2 to {limit}, not {points!r}")
    if points * 2**order > MAX_WORK:
        raise DiffcompareError(f"--points {points} at --order {order} is too much work (points x 2^order > "
                               f"{MAX_WORK:,}); use at most {MAX_WORK // 2**order} points at this order")


def _finite(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """As a float array of ``shape`` (a constant function broadcasts), inf made NaN so both read as gaps."""
    from diffcompare.ad import raw

    arr = np.array(np.broadcast_to(np.asarray(raw(values), dtype=float), shape), dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _derivative_pass(g: Callable[[Any], Any], mode: str) -> Callable[[Any], Any]:
    """The elementwise derivative of ``g`` over a whole vector, in one AD pass."""
    from diffcompare.ad import transforms as T

    if mode == "forward":
        return T.derivative(g, 1, "forward")  # a JVP with a tangent of ones
    return T.grad(lambda x: np.sum(g(x)))


def _check_elementwise(f: Callable[[Any], Any], xs: np.ndarray) -> None:
    """Refuse an f whose output at x_i depends on other samples: the one-pass derivative needs J diagonal."""
    from diffcompare.ad import transforms as T
    from diffcompare.ad import raw

    rng = np.random.default_rng(0)
    v = rng.uniform(0.5, 1.5, xs.shape)
    with np.errstate(all="ignore"):
        out, ones = T.jvp(f, (xs,), (np.ones_like(xs),))
        _, along = T.jvp(f, (xs,), (v,))
    if np.shape(raw(out)) not in ((), xs.shape):
        raise DiffcompareError("plot needs a function that maps each sample to one value (elementwise)")
    ones = np.broadcast_to(np.asarray(raw(ones), dtype=float), xs.shape)
    along = np.broadcast_to(np.asarray(raw(along), dtype=float), xs.shape)
    ok = np.isfinite(ones) & np.isfinite(along)
    # where f'(x_i) = 0 (exp(x)*sin(x) at 3*pi/4) both sides are rounding residues of cancelling terms,
    # unrelated to each other: a tolerance relative to each sample alone fails there. Relative to the
    # largest |f'| on the range instead: rounding stays ~1e-16 of it, a dependence on other samples does not
    scale = float(np.max(np.abs(ones[ok]))) if np.any(ok) else 0.0
    if not np.allclose(along[ok], (ones * v)[ok], rtol=_ELEMENTWISE_RTOL, atol=_ELEMENTWISE_RTOL * scale):
        raise DiffcompareError("the function is not elementwise (its value at one sample depends on others): "
                               "plot its derivative point by point with `compare` instead")


def curves(
    f: Callable[[Any], Any],
    lo: float,
    hi: float,
    *,
    order: int = 1,
    points: int = 401,
    mode: str = "forward",
    name: str = "f",
    variable: str = "x",
) -> Curves:
    """f and its derivatives of order 1..``order`` at ``points`` evenly spaced samples of [lo, hi]."""
    _check(order, points, MAX_POINTS)
    if mode not in ("forward", "reverse"):
        raise DiffcompareError(f"mode must be forward or reverse, not {mode!r}")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise DiffcompareError(f"the range [{lo}, {hi}] is empty or not finite")
    xs = _samples(lo, hi, points)
    _check_elementwise(f, xs)
    series: dict[int, np.ndarray] = {}
    g = f
    with np.errstate(all="ignore"):  # undefined samples become NaN: gaps, counted below
        series[0] = _finite(f(xs), xs.shape)
        for k in range(1, order + 1):
            g = _derivative_pass(g, mode)
            series[k] = _finite(g(xs), xs.shape)
    # AD differentiates the formula, not the function: log'(x) = 1/x comes out at x < 0 too. Where f
    # (or a lower derivative) is undefined, so is every higher derivative: mask cumulatively.
    defined = np.isfinite(series[0])
    for k in range(1, order + 1):
        series[k][~defined] = np.nan
        defined &= np.isfinite(series[k])
    if not np.any(np.isfinite(series[0])):
        raise DiffcompareError(f"{name} is not defined anywhere on [{lo:g}, {hi:g}]")
    return Curves(name, variable, xs, series, order, mode, int(np.sum(~defined)))


def field(
    f: Callable[[Any, Any], Any],
    xrange: tuple[float, float],
    yrange: tuple[float, float],
    *,
    points: int = 41,
    name: str = "f",
    variables: tuple[str, str] = ("x1", "x2"),
) -> Field:
    """f(x, y) and its gradient on a ``points`` x ``points`` grid: one forward pass per variable."""
    from diffcompare.ad import transforms as T

    _check(1, points, MAX_GRID)
    xs = _samples(*xrange, points)
    ys = _samples(*yrange, points)
    X, Y = np.meshgrid(xs, ys)
    ones, zeros = np.ones_like(X), np.zeros_like(X)
    with np.errstate(all="ignore"):
        value, gx = T.jvp(f, (X, Y), (ones, zeros))
        _, gy = T.jvp(f, (X, Y), (zeros, ones))
    values, gx, gy = (_finite(a, X.shape) for a in (value, gx, gy))
    if not np.any(np.isfinite(values)):
        raise DiffcompareError(f"{name} is not defined anywhere on the grid")
    gx[~np.isfinite(values)] = np.nan  # no gradient where f itself is undefined (see curves)
    gy[~np.isfinite(values)] = np.nan
    undefined = int(np.sum(~(np.isfinite(values) & np.isfinite(gx) & np.isfinite(gy))))
    return Field(name, tuple(variables), xs, ys, values, gx, gy, undefined)


def sample(
    f: Callable[..., Any],
    variables: tuple[str, ...] | list[str],
    xrange: tuple[float, float],
    yrange: tuple[float, float] | None = None,
    *,
    order: int = 1,
    points: int | None = None,
    field_of_two: bool = False,
    mode: str = "forward",
    name: str = "f",
) -> Curves | Field:
    """What ``diffcompare plot`` draws (and ``dc.plot``): curves of f and its derivatives for one variable,
    the field of f and its gradient for two (``field_of_two`` insists on two). ``yrange`` defaults to ``xrange``."""
    names = tuple(variables)
    if len(names) == 2 or field_of_two:
        if len(names) != 2:
            raise DiffcompareError(f"--field needs a function of two variables; {name!r} has {len(names)}")
        if order != 1:
            raise DiffcompareError("--order is for one variable; a field shows f and its gradient")
        return field(f, xrange, yrange if yrange is not None else xrange, points=41 if points is None else points,
                     name=name, variables=(names[0], names[1]))
    if len(names) == 1:
        if yrange is not None:
            raise DiffcompareError("--yrange is for functions of two variables")
        return curves(f, *xrange, order=order, points=401 if points is None else points, mode=mode, name=name,
                      variable=names[0])
    raise DiffcompareError(f"plot draws functions of one or two variables; {name!r} has {len(names)}")
