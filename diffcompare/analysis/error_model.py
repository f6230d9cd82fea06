"""The error model of a difference quotient, ``E(h) = A h^p + B h^q``, fitted to measured errors.

Two straight lines in log-log space: the truncation arm (slope ``p``, the scheme's accuracy) on the right, the
round-off arm (slope ``q``, about -1) on the left. Fitted by segmented least squares to the running median of
``log10 E`` over 5 neighbouring steps, so single lucky dips (rounding errors that happen to cancel) do not
count; its minimum is the robust optimum step that :mod:`diffcompare.analysis.error_vs_h` reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MIN_POINTS", "MIN_SEGMENT", "fit", "model_error", "robust_optimum"]

MIN_SEGMENT = 3  # a slope needs at least 3 points
MIN_POINTS = 2 * MIN_SEGMENT  # fewer usable errors than this: no model
_MEDIAN_HALF_WIDTH = 2  # running median over 5 steps (1.3 decades on the default grid)
_FLAT = 0.3  # a round-off slope above -0.3 means "no round-off arm" (complex step)
_RISING = 0.5  # a truncation arm rises at least this steeply (the lowest expected slope is 1)


def _running_median(y: np.ndarray, half: int) -> np.ndarray:
    """Median over a symmetric window that shrinks at the ends, so straight lines pass unchanged."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        w = min(half, i, n - 1 - i)
        out[i] = np.median(y[i - w: i + w + 1])
    return out


def _lines(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares lines ``y = c + s t`` through every prefix ``t[:k]``: (slopes, intercepts, SSEs).

    Closed form from running sums, so all splits of a segmented fit cost O(n).
    """
    k = np.arange(1, len(t) + 1, dtype=float)
    st, sy = np.cumsum(t), np.cumsum(y)
    stt, sty, syy = np.cumsum(t * t), np.cumsum(t * y), np.cumsum(y * y)
    with np.errstate(all="ignore"):
        slope = (k * sty - st * sy) / (k * stt - st * st)
        intercept = (sy - slope * st) / k
    sse = syy - intercept * sy - slope * sty
    return slope, intercept, np.maximum(sse, 0.0)


def fit(h: Sequence[float], err: Sequence[float | None]) -> dict[str, Any] | None:
    """Fit ``E(h) = 10^c_t h^p + 10^c_r h^q``: segmented least squares on ``log10 E`` vs ``log10 h``.

    Zero, missing and non-finite errors are dropped; the rest is smoothed by a running median and
    split at the break that minimises the total squared residual of two straight lines (each at
    least 3 points). If that is not a V (falling left arm, rising right arm, or a flat floor left of
    a rising arm), one line is fitted instead and the missing arm's slope is None. Returns
    ``{"truncation_slope": p, "truncation_intercept": c_t, "round_off_slope": q, "round_off_intercept": c_r,
    "break_h": ...}`` or None with fewer than 6 usable points.
    """
    pts = sorted((math.log10(hh), math.log10(e)) for hh, e in zip(h, err)
                 if e is not None and math.isfinite(e) and e > 0 and hh > 0)
    n = len(pts)
    if n < MIN_POINTS:
        return None
    t = np.array([p[0] for p in pts])
    y = _running_median(np.array([p[1] for p in pts]), _MEDIAN_HALF_WIDTH)
    left = _lines(t, y)  # left[.][k - 1]: the line through t[:k]
    right = _lines(t[::-1], y[::-1])  # right[.][n - k - 1]: the line through t[k:]
    splits = np.arange(MIN_SEGMENT, n - MIN_SEGMENT + 1)
    total = left[2][splits - 1] + right[2][n - splits - 1]
    k = int(splits[int(np.argmin(total))])
    q, cr = float(left[0][k - 1]), float(left[1][k - 1])
    p, ct = float(right[0][n - k - 1]), float(right[1][n - k - 1])
    break_h: float | None = float(10 ** ((t[k - 1] + t[k]) / 2))
    if not (p >= _RISING and q < _RISING):
        # no V: one straight line fits the whole range (a formula exact for this f leaves only the
        # round-off arm; a range of large steps only the truncation arm)
        s, c = float(left[0][n - 1]), float(left[1][n - 1])
        break_h = None
        if s >= _RISING:
            p, ct, q, cr = s, c, None, None
        else:
            p, ct, q, cr = None, None, s, c
    return {"truncation_slope": p, "truncation_intercept": ct, "round_off_slope": q,
            "round_off_intercept": cr, "break_h": break_h, "t_min": float(t[0]), "t_max": float(t[-1])}


def model_error(model: dict[str, Any], h: np.ndarray | float) -> np.ndarray:
    """The fitted model's error at ``h`` (an arm that was not seen contributes nothing)."""
    t = np.log10(h)
    out = np.zeros(np.shape(t))
    for arm in ("truncation", "round_off"):
        if model[f"{arm}_slope"] is not None:
            out = out + 10.0 ** (model[f"{arm}_intercept"] + model[f"{arm}_slope"] * t)
    return out


def robust_optimum(model: dict[str, Any]) -> tuple[float, float]:
    """(h, error) at the minimum of the model over the fitted range.

    Without a falling round-off arm (slope above -0.3: the complex step, whose error stays at its
    floor) every small step is optimal: then the largest step whose model error is within 2x of the
    minimum is returned, the honest answer to "how large may h be".
    """
    hs = np.logspace(model["t_min"], model["t_max"], 2001)
    e = model_error(model, hs)
    i = int(np.argmin(e))
    q = model["round_off_slope"]
    if q is None or q > -_FLAT:
        i = int(np.nonzero(e <= 2.0 * e[i])[0].max())
    return float(hs[i]), float(e[i])
