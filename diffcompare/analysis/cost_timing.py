"""Honest timing for `diffcompare cost`: warm-up, repeats, the median, the machine, and fitted slopes.

A single call of a fast function is dominated by timer noise and first-call effects (imports,
caches, allocator warm-up). :func:`measure` therefore calls once to warm up, then repeats until the
repeats add up to ``min_time`` (0.1 s by default) or ``max_repeats`` calls, and reports the median:
robust to the odd interruption by another process on a shared machine. A call slower than
``SLOW_CALL`` seconds is repeated only once after the warm-up: its time is far above timer noise,
and repeating it would multiply the run time for no information.

:func:`predict` decides whether a cell is worth starting: it extrapolates the previous measurement
along a power law, so that a method is skipped *before* it blows its budget rather than after.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Machine", "Timing", "fit_slope", "machine", "measure", "predict"]

MIN_TIME = 0.1  # seconds of repeats per measurement (timeit's rule of thumb for stable medians)
MAX_REPEATS = 50
SLOW_CALL = 0.25  # seconds: beyond this one repeat after the warm-up is enough


@dataclass
class Machine:
    """Where the numbers were measured: they mean little without it."""

    platform: str
    cpu: str
    cores: int | None
    python: str
    numpy: str

    def line(self) -> str:
        cores = f"{self.cores} cores" if self.cores else "cores unknown"
        return f"{self.cpu}, {cores}, {self.platform}, Python {self.python}, numpy {self.numpy}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> Machine:
    """The platform, CPU model (from /proc/cpuinfo when readable), core count and library versions."""
    return Machine(platform.platform(), _cpu_model(), os.cpu_count(), platform.python_version(), np.__version__)


@dataclass
class Timing:
    """The median wall time of ``repeats`` calls (after one warm-up call), and their spread."""

    seconds: float
    repeats: int
    min_seconds: float
    max_seconds: float
    result: Any = None  # what the last call returned


def measure(fn: Callable[[], Any], min_time: float | None = None, max_repeats: int = MAX_REPEATS,
            clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time ``fn()``: one warm-up call, then repeats until ``min_time`` is spent or ``max_repeats``.

    ``min_time`` defaults to the module's ``MIN_TIME``, read at call time (tests lower it).
    """
    min_time = MIN_TIME if min_time is None else min_time
    t0 = clock()
    result = fn()
    warm = clock() - t0
    times: list[float] = []
    spent = 0.0
    target = 1 if warm > SLOW_CALL else max_repeats
    while len(times) < target and (spent < min_time or len(times) < min(3, target)):
        t0 = clock()
        result = fn()
        dt = clock() - t0
        times.append(dt)
        spent += dt
    return Timing(statistics.median(times), len(times), min(times), max(times), result)


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> tuple[float | None, int]:
    """Least-squares slope of ``log y`` against ``log x`` over the positive points, and how many.

    ``None`` when fewer than two distinct ``x`` remain: a slope through one point means nothing.
    """
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys)
           if x is not None and y is not None and x > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None, len(pts)
    lx = np.array([p[0] for p in pts])
    ly = np.array([p[1] for p in pts])
    lx0 = lx - lx.mean()
    return float(np.dot(lx0, ly - ly.mean()) / np.dot(lx0, lx0)), len(pts)


def predict(prev_n: float, prev_seconds: float, n: float, slope: float) -> float:
    """The time at ``n`` if time grows like ``n^slope`` from the measurement ``(prev_n, prev_seconds)``."""
    return prev_seconds * (n / prev_n) ** slope
