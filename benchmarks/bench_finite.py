"""Richardson extrapolation (our finite-difference "best" mode) against numdifftools and scipy.

On the issue's three cases (sin at pi/3, exp at 1, log(x^2) sin(x) + 1/x at 2), for each method:
the relative error against the 50-digit symbolic reference, the number of points at which f is
evaluated (and in how many calls: scipy evaluates a vector of points per call), and the wall time of
one derivative (best of several repeats of a timeit loop, so the least disturbed by other load).

Methods: ours, ``richardson(f, x)`` (the pure function: 8 points) and ``FiniteDifferences("richardson")
.derivative(f, x)`` (the backend: also f(x) for the value, call counting, domain checks and the Result
record), numdifftools ``Derivative(f)(x)``
(object built once, outside the timing) and ``scipy.differentiate.derivative(f, x)``, each with its
defaults. A peer that is not installed is skipped (``pip install numdifftools scipy``, the ``bench``
extra).

Run from the repository root: ``python -m benchmarks.bench_finite``.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

CASES: list[tuple[str, Callable[[Any], Any], float, str]] = [
    ("sin(x)", np.sin, float(np.pi / 3), "pi/3"),
    ("exp(x)", np.exp, 1.0, "1"),
    ("log(x**2)*sin(x) + 1/x", lambda x: np.log(x**2) * np.sin(x) + 1 / x, 2.0, "2"),
]


class _Counter:
    """f with its calls and the number of points it was asked for counted."""

    def __init__(self, f: Callable[[Any], Any]):
        self.f, self.calls, self.points = f, 0, 0

    def __call__(self, x: Any) -> Any:
        self.calls += 1
        self.points += int(np.size(x))
        return self.f(x)


def _methods() -> dict[str, Callable[[Callable[[Any], Any], float], float]]:
    """name -> (f, x) -> derivative, for every method installed here."""
    from diffcompare.backends.finite import FiniteDifferences, richardson

    backend = FiniteDifferences("richardson")
    out: dict[str, Callable[[Callable[[Any], Any], float], float]] = {
        "ours: richardson()": lambda f, x: richardson(f, x)[0],
        "ours: FiniteDifferences": lambda f, x: backend.derivative(f, x).derivative,
    }
    try:
        import numdifftools as nd

        def numdifftools(f: Callable[[Any], Any], x: float) -> float:
            return float(nd.Derivative(f)(x))

        out["numdifftools.Derivative"] = numdifftools
    except ImportError:
        pass
    try:
        from scipy.differentiate import derivative as scipy_derivative

        out["scipy.differentiate.derivative"] = lambda f, x: float(scipy_derivative(f, x).df)
    except ImportError:
        pass
    return out


def _timer(name: str, f: Callable[[Any], Any], x: float) -> Callable[[], Any]:
    """What one timed call does; numdifftools' Derivative object is built once, outside the timing."""
    if name == "numdifftools.Derivative":
        import numdifftools as nd

        d = nd.Derivative(f)
        return lambda: d(x)
    method = _methods()[name]
    return lambda: method(f, x)


def _microseconds(call: Callable[[], Any], budget: float = 0.05, repeat: int = 5) -> float:
    """Best of ``repeat`` timeit loops, each sized to take about ``budget`` seconds."""
    t = timeit.Timer(call)
    number, elapsed = t.autorange()
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return min(t.repeat(repeat=repeat, number=number)) / number * 1e6


def run(time_budget: float = 0.05) -> list[dict[str, Any]]:
    """One row per (case, method): relative error, points evaluated, calls of f, µs per derivative."""
    from diffcompare.analysis.compare import error_against
    from diffcompare.backends.symbolic import reference

    rows = []
    methods = _methods()
    for label, f, x, x_text in CASES:
        _, exact = reference(f, x, kind="derivative")
        for name, method in methods.items():
            counted = _Counter(f)
            value = method(counted, x)
            _, rel = error_against(exact, value)
            rows.append({
                "function": label, "point": x_text, "method": name, "derivative": float(value),
                "rel_error": rel, "evaluations": counted.points, "calls": counted.calls,
                "microseconds": _microseconds(_timer(name, f, x), budget=time_budget),
            })
    return rows


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    rows = run()
    console = Console(width=max(Console().width, 120))
    t = Table(title="first derivative by Richardson extrapolation vs numdifftools and scipy",
              caption="relative error against the 50-digit symbolic reference; evals = points at which "
                      "f is evaluated (calls: how many times f is called); µs per derivative: best of 5 timeit loops")
    for col, justify in (("function", "left"), ("x", "left"), ("method", "left"), ("rel error", "right"),
                         ("evals", "right"), ("calls", "right"), ("µs", "right")):
        t.add_column(col, justify=justify, no_wrap=True)
    last = None
    for r in rows:
        if last is not None and r["function"] != last:
            t.add_section()
        last = r["function"]
        t.add_row(r["function"], r["point"], r["method"], f"{r['rel_error']:.1e}", str(r["evaluations"]),
                  str(r["calls"]), f"{r['microseconds']:.0f}")
    console.print(t)
    missing = {"numdifftools.Derivative", "scipy.differentiate.derivative"} - {r["method"] for r in rows}
    if missing:
        Console(stderr=True).print(f"skipped (not installed): {', '.join(sorted(missing))}")


if __name__ == "__main__":
    main()
