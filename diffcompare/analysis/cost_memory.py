"""Reverse mode pays in memory: the tape of a computation k steps deep, against forward mode.

The logistic map ``x <- r x (1 - x)`` iterated k times is a computation 3k operations deep with one
input and one output. Reverse mode must keep every intermediate value (the tape) until the backward
pass has used it, so its peak memory grows linearly in k; forward mode carries one (value, tangent)
pair along and forgets the past, so its peak stays flat. Peak memory is measured with
:mod:`tracemalloc` (Python objects and numpy buffers allocated during the call), in a run separate
from the timed runs because tracing slows Python several-fold.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any, Callable, Sequence

import numpy as np

from diffcompare import ad
from diffcompare.analysis import families
from diffcompare.analysis.cost import CostReport, Progress, Row, check_budget, fit_slopes
from diffcompare.analysis.cost_timing import machine, measure, predict

__all__ = ["X0", "memory_cost", "peak_bytes"]

X0 = 0.3  # start of the logistic orbit
DEFAULT_KS = (10, 100, 1000, 10_000, 100_000)
DEFAULT_MEMORY_BUDGET = 10.0  # seconds per untraced call; the traced run takes several times longer


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated (and not yet freed) while ``fn()`` runs, above what was live before; and its result."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, peak - base), result


def _reverse(f: Callable[[Any], Any]) -> tuple[Any, None]:
    return ad.grad(f)(X0), None  # the recording and the backward pass: the whole cost of one gradient


def _forward(f: Callable[[Any], Any]) -> tuple[Any, None]:
    return ad.jvp(f, (X0,), (1.0,))[1], None


def _plain(f: Callable[[Any], Any]) -> tuple[Any, None]:
    return f(X0), None


METHODS: dict[str, tuple[Callable[[Callable[[Any], Any]], tuple[Any, int | None]], float]] = {
    # name: (run, expected log-log slope of time in k, for the budget prediction)
    "f": (_plain, 1.0),
    "reverse": (_reverse, 1.0),
    "forward": (_forward, 1.0),
}


def memory_cost(ks: Sequence[int] = DEFAULT_KS, budget: float = DEFAULT_MEMORY_BUDGET,
                progress: Progress | None = None) -> CostReport:
    """Peak memory and time of reverse and forward mode through the logistic map at each depth k."""
    budget = check_budget(budget)
    ks = sorted(ks)
    report = CostReport("memory", "logistic", f"logistic map x <- {families.LOGISTIC_R}*x*(1-x) iterated k times "
                        f"from x0={X0}", budget, machine(), slopes_of="peak bytes vs k", reference="reverse")
    total = len(ks) * len(METHODS)
    done = 0
    last: dict[str, tuple[int, float]] = {}
    out: dict[str, str] = {}
    for k in ks:
        f = families.logistic_map(k)
        f_seconds = None
        results: dict[str, Any] = {}
        for name, (run, slope) in METHODS.items():
            if progress:
                progress(done, total, f"{name} at k={k}")
            done += 1
            row = Row(name, 1, None, k=k)
            if name in out:
                row.status = out[name]
                report.rows.append(row)
                continue
            if name in last:
                row.predicted_seconds = predict(last[name][0], last[name][1], k, slope)
                if row.predicted_seconds > budget:
                    row.status = f"skipped: predicted {row.predicted_seconds:.3g} s > {budget:g} s"
                    out[name] = f"skipped: over budget at k={k}"
                    report.rows.append(row)
                    continue
            timing = measure(lambda run=run, f=f: run(f))
            peak, (derivative, ops) = peak_bytes(lambda run=run, f=f: run(f))
            row.seconds, row.repeats, row.peak_bytes = timing.seconds, timing.repeats, peak
            row.evaluations = 1
            if name == "f":
                f_seconds = timing.seconds
            if f_seconds:
                row.ratio_to_f = timing.seconds / f_seconds
            if name == "reverse":  # the tape's length, counted outside the measured runs
                ops = ad.tape_size(f, X0)
            if ops:
                row.operations = ops
                row.bytes_per_op = peak / ops
            results[name] = derivative
            last[name] = (k, timing.seconds)
            report.rows.append(row)
        if "reverse" in results and "forward" in results:
            fwd = next(r for r in reversed(report.rows) if r.method == "forward")
            a, b = float(results["forward"]), float(results["reverse"])
            scale = max(abs(b), np.finfo(float).tiny)
            fwd.max_rel_diff = abs(a - b) / scale
    if progress:
        progress(total, total, "done")
    fit_slopes(report, lambda r: r.k, lambda r: r.peak_bytes)
    fit_slopes(report, lambda r: r.k, lambda r: r.seconds, "seconds vs k")
    _bytes_per_op(report)
    report.notes.append("peak_bytes: tracemalloc peak during one call (recording + backward pass for reverse; "
                        "one JVP for forward; the plain loop for f), measured in a separate untimed run")
    report.notes.append("bytes_per_op: peak_bytes / recorded operations (3 per step: r*x, 1-x, product); "
                        "summary.marginal_bytes_per_op: the slope of a straight-line fit of peak bytes "
                        "against operations, without the fixed overhead")
    report.notes.append("rows: n is the number of inputs (1), k the depth; evaluations: one call of each")
    report.notes.append(f"r = {families.LOGISTIC_R}: a contracting regime, so the derivative stays finite at any "
                        "depth (it decays towards 0; the lecture's r = 4 overflows past k ~ 1000)")
    return report


def _bytes_per_op(report: CostReport) -> None:
    rows = [r for r in report.rows if r.method == "reverse" and r.status == "ok" and r.operations]
    report.summary["marginal_bytes_per_op"] = None
    report.summary["marginal_points"] = len(rows)
    if len({r.operations for r in rows}) >= 2:
        ops = np.array([r.operations for r in rows], dtype=float)
        peaks = np.array([r.peak_bytes for r in rows], dtype=float)
        ops0 = ops - ops.mean()
        report.summary["marginal_bytes_per_op"] = float(np.dot(ops0, peaks - peaks.mean()) / np.dot(ops0, ops0))
