"""Finite differences that hold near singularities: our adaptive scheme against numdifftools and scipy.

A suite of 14 first derivatives chosen to break fixed steps: smooth cases, poles nearby, rapid
oscillation, large and tiny scales, points near the edge of the domain (where a fixed step leaves
it) and a Runge function. For each method: the relative error against the exact derivative
(written out by hand and evaluated by mpmath at 50 digits at the exact binary value of x, independent
of the tool's own sympy reference), the number of points at which f is evaluated, and the time of one
derivative (best of 5 timeit loops, the least disturbed by other load).

Methods: ours through the backend a user gets (``FiniteDifferences(scheme).derivative(f, x)``: the
value f(x) is one of the evaluations), ``adaptive`` (with its error estimate) and the fixed-step
``richardson`` it starts from; numdifftools ``Derivative(f)(x)`` (object built once, outside the
timing) and ``scipy.differentiate.derivative(f, x)``, each with its defaults. A method that raises,
or returns nan or inf, has *no answer* (``fail``): it counts as an infinite error in the summary.
A peer that is not installed is skipped with a note (``pip install numdifftools scipy``, the ``bench``
extra).

Run from the repository root: ``python -m benchmarks.bench_finite``.
"""

from __future__ import annotations

import math
import statistics
import timeit
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

mp = mpmath


@dataclass
class Case:
    label: str
    kind: str  # why it is here
    f: Callable[[Any], Any]  # numpy, vectorised (scipy evaluates arrays of points)
    df: Callable[[Any], Any]  # the exact derivative, in mpmath
    x: float
    x_text: str


CASES = [
    Case("sin(x)", "smooth", np.sin, mp.cos, float(np.pi / 3), "pi/3"),
    Case("exp(x)", "smooth", np.exp, mp.exp, 1.0, "1"),
    Case("log(x^2) sin x + 1/x", "smooth", lambda x: np.log(x**2) * np.sin(x) + 1 / x,
         lambda x: 2 / x * mp.sin(x) + mp.log(x**2) * mp.cos(x) - 1 / x**2, 2.0, "2"),
    Case("exp(-x^2) cos 3x", "smooth", lambda x: np.exp(-x**2) * np.cos(3 * x),
         lambda x: -mp.exp(-x**2) * (2 * x * mp.cos(3 * x) + 3 * mp.sin(3 * x)), 1.0, "1"),
    Case("tan(x)", "pole 0.07 away", np.tan, lambda x: 1 / mp.cos(x) ** 2, 1.5, "1.5"),
    Case("1/(x - 1.01)", "pole 0.01 away", lambda x: 1 / (x - 1.01), lambda x: -1 / (x - mp.mpf(1.01)) ** 2,
         1.0, "1"),
    Case("sin(50x)", "oscillation", lambda x: np.sin(50 * x), lambda x: 50 * mp.cos(50 * x), 0.3, "0.3"),
    Case("exp(x)", "large scale", np.exp, mp.exp, 50.0, "50"),
    Case("arctan(x)", "large x", np.arctan, lambda x: 1 / (1 + x**2), 1e4, "1e4"),
    Case("tanh(1e8 x)", "tiny scale", lambda x: np.tanh(1e8 * x),
         lambda x: mp.mpf(1e8) / mp.cosh(mp.mpf(1e8) * x) ** 2, 1e-8, "1e-8"),
    Case("exp(-1e8 x)", "tiny scale", lambda x: np.exp(-1e8 * x),
         lambda x: -mp.mpf(1e8) * mp.exp(-mp.mpf(1e8) * x), 1e-8, "1e-8"),
    Case("log(x)", "domain edge", np.log, lambda x: 1 / x, 1e-3, "1e-3"),
    Case("sqrt(x)", "domain edge", np.sqrt, lambda x: 1 / (2 * mp.sqrt(x)), 1e-4, "1e-4"),
    Case("1/(1 + 25x^2)", "Runge", lambda x: 1 / (1 + 25 * x**2), lambda x: -50 * x / (1 + 25 * x**2) ** 2,
         0.2, "0.2"),
]

OURS = "adaptive"
PEERS = ("numdifftools", "scipy")


class _Counter:
    """f with the number of points it was asked for counted (scipy asks for arrays of them)."""

    def __init__(self, f: Callable[[Any], Any]):
        self.f, self.points = f, 0

    def __call__(self, x: Any) -> Any:
        self.points += int(np.size(x))
        return self.f(x)


def _methods() -> tuple[dict[str, Callable[[Callable[[Any], Any]], Callable[[float], Any]]], list[str]]:
    """name -> (f -> (x -> (derivative, error estimate or None))), for every method installed; and what is missing.

    The outer call does the set-up that is not timed (numdifftools builds its Derivative object once).
    """
    from diffcompare.backends.finite import FiniteDifferences

    def ours(scheme: str):
        backend = FiniteDifferences(scheme)

        def prepare(f):
            def call(x):
                r = backend.derivative(f, x)
                return r.derivative, r.error_estimate
            return call
        return prepare

    out = {"adaptive": ours("adaptive"), "richardson": ours("richardson")}
    missing = []
    try:
        import numdifftools as nd

        def numdifftools(f):
            d = nd.Derivative(f)
            return lambda x: (float(d(x)), None)

        out["numdifftools"] = numdifftools
    except ImportError:
        missing.append("numdifftools")
    try:
        from scipy.differentiate import derivative as scipy_derivative

        out["scipy"] = lambda f: (lambda x: (float(scipy_derivative(f, x).df), None))
    except ImportError:
        missing.append("scipy")
    return out, missing


def _microseconds(call: Callable[[], Any], budget: float, repeat: int = 5) -> float:
    """Best of ``repeat`` timeit loops, each sized to take about ``budget`` seconds."""
    t = timeit.Timer(call)
    number, elapsed = t.autorange()
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return min(t.repeat(repeat=repeat, number=number)) / number * 1e6


def _quiet(call: Callable[[], Any]) -> Any:
    """Run a method with numpy's warnings off (the peers step outside domains and overflow on purpose)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call()


def run(time_budget: float = 0.05) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per (case, method): relative error (inf: no answer), estimate, evaluations, µs per derivative."""
    methods, missing = _methods()
    rows = []
    for case in CASES:
        with mp.workdps(50):
            exact = case.df(mp.mpf(case.x))
        for name, prepare in methods.items():
            counted = _Counter(case.f)
            call = prepare(counted)
            try:
                value, estimate = _quiet(lambda: call(case.x))
                failure = None if math.isfinite(value) else "nan" if math.isnan(value) else "inf"
            except Exception as exc:  # a refusal is an answer too, just not a number
                value, estimate, failure = math.nan, None, type(exc).__name__
            with mp.workdps(50):
                rel = math.inf if failure else float(abs((mp.mpf(value) - exact) / exact))
            timed = prepare(case.f)
            try:
                micro = _microseconds(lambda: _quiet(lambda: timed(case.x)), time_budget)
            except Exception:
                micro = math.nan
            rows.append({"function": case.label, "kind": case.kind, "point": case.x_text, "method": name,
                         "derivative": value, "rel_error": rel, "failure": failure, "estimate": estimate,
                         "rel_estimate": None if estimate is None or failure else estimate / abs(value),
                         "evaluations": counted.points, "microseconds": micro})
    return rows, missing


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per method: median and worst relative error (all cases; and over the cases every method answers),
    mean evaluations, median µs."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    answered_by_all = {c.label + c.x_text for c in CASES
                       if all(r["failure"] is None for r in rows if r["function"] + r["point"] == c.label + c.x_text)}
    out = {}
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        common = [r["rel_error"] for r in mine if r["function"] + r["point"] in answered_by_all]
        out[m] = {"median_rel_error": statistics.median(r["rel_error"] for r in mine),
                  "worst_rel_error": max(r["rel_error"] for r in mine),
                  "worst_where_all_answer": max(common) if common else math.nan,
                  "failures": sum(r["failure"] is not None for r in mine),
                  "mean_evaluations": statistics.mean(r["evaluations"] for r in mine),
                  "median_microseconds": statistics.median(r["microseconds"] for r in mine)}
    return out


def targets(s: dict[str, dict[str, float]]) -> list[tuple[str, bool]]:
    """The issue's four targets for the adaptive scheme, each with whether it is met."""
    peers = [p for p in PEERS if p in s]
    if not peers:
        return []
    ours = s[OURS]
    best_worst = min(s[p]["worst_rel_error"] for p in peers)
    out = []
    if "numdifftools" in s:
        nd = s["numdifftools"]
        out.append(("median rel error <= numdifftools'", ours["median_rel_error"] <= nd["median_rel_error"]))
    out.append(("worst case within 10x of the best peer's worst", ours["worst_rel_error"] <= 10 * best_worst))
    if "numdifftools" in s:
        out.append(("fewer evaluations than numdifftools", ours["mean_evaluations"] < nd["mean_evaluations"]))
    out.append(("less time per call than " + " and ".join(peers),
                all(ours["median_microseconds"] < s[p]["median_microseconds"] for p in peers)))
    return out


def _err(r: dict[str, Any]) -> str:
    return "fail" if r["failure"] else f"{r['rel_error']:.1e}"


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    rows, missing = run()
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["function"] + r["point"], r["method"]): r for r in rows}
    console = Console(width=max(Console().width, 176))
    t = Table(title="first derivatives that break fixed steps: ours (adaptive, richardson) vs numdifftools and scipy",
              caption="err: relative error against the exact derivative at 50 digits (fail: nan, inf or an exception); "
                      "est: adaptive's own error estimate, relative; ev: points at which f is evaluated; "
                      "µs: per derivative, best of 5 timeit loops")
    t.add_column("function", no_wrap=True)
    t.add_column("x", no_wrap=True)
    t.add_column("why", no_wrap=True)
    for m in methods:
        t.add_column(f"{m}\nerr", justify="right", no_wrap=True)
        if m == OURS:
            t.add_column("est", justify="right", no_wrap=True)
        t.add_column("ev", justify="right", no_wrap=True)
        t.add_column("µs", justify="right", no_wrap=True)
    for c in CASES:
        cells = [c.label, c.x_text, c.kind]
        for m in methods:
            r = by[(c.label + c.x_text, m)]
            cells.append(_err(r))
            if m == OURS:
                cells.append("—" if r["rel_estimate"] is None else f"{r['rel_estimate']:.0e}")
            cells += [str(r["evaluations"]), f"{r['microseconds']:.0f}"]
        t.add_row(*cells)
    s = summary(rows)
    t.add_section()
    for label, key in (("median rel error", "median_rel_error"), ("worst case", "worst_rel_error"),
                       ("worst where all answer", "worst_where_all_answer"), ("failures", "failures"),
                       ("mean evaluations", "mean_evaluations"), ("median µs", "median_microseconds")):
        cells = [label, "", ""]
        for m in methods:
            v = s[m][key]
            if key == "mean_evaluations":
                text = f"{v:.1f}"
            elif key == "median_microseconds":
                text = f"{v:.0f}"
            elif key == "failures":
                text = str(int(v))
            else:
                text = "fail" if math.isinf(v) else f"{v:.1e}"
            cells.append(text)
            cells += ([""] if m == OURS else []) + ["", ""]
        t.add_row(*cells)
    console.print(t)
    bounded = [r for r in rows if r["method"] == OURS and r["estimate"] is not None and not r["failure"]]
    held = sum(abs(r["derivative"]) * r["rel_error"] <= r["estimate"] for r in bounded)
    console.print(f"adaptive's error estimate >= its true error in {held} of {len(bounded)} cases")
    for text, met in targets(s):
        console.print(f"target: {text}: {'met' if met else 'NOT met'}")
    if missing:
        Console(stderr=True).print(f"skipped (not installed): {', '.join(missing)}; pip install {' '.join(missing)}")


if __name__ == "__main__":
    main()
