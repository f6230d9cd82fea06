"""What a Hessian costs as n grows: the lecture's Exercise 1 (the Hessian has n^2 entries), measured.

Each Hessian method (forward over reverse, reverse over reverse, finite differences of the gradient, second
differences, sympy) is timed at each n of the grid against one reverse gradient of the same function, and the
Hessian-vector product (one JVP of the gradient) beside them as the cheap alternative; the grid, the budget
and the slopes are :mod:`diffcompare.analysis.cost`'s.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from diffcompare import ad
from diffcompare import backends as registry
from diffcompare.analysis import families
from diffcompare.analysis.cost import (
    DEFAULT_BUDGET, CostReport, Method, Progress, Row, check_budget, choose_methods, measure_grid, passes_notes,
    relative_difference,
)
from diffcompare.analysis.cost_timing import measure

__all__ = ["HESSIAN_METHODS", "hessian_cost"]


def _fwd_over_rev(inst: families.Instance) -> tuple[Any, int | None]:
    return ad.hessian(inst.f)(inst.x), inst.n  # jacfwd(jacrev(f)): n JVPs of the gradient, in batched passes


def _rev_over_rev(inst: families.Instance) -> tuple[Any, int | None]:
    return ad.jacrev(ad.grad(inst.f))(inst.x), inst.n  # one recording of the gradient, n VJPs


def _fd_of_gradient(inst: families.Instance) -> tuple[Any, int | None]:
    r = registry.get("finite", scheme="central").jacobian(ad.grad(inst.f), inst.x)
    return r.derivative, r.evaluations  # 2n + 1 gradient evaluations


def _fd_hessian(inst: families.Instance) -> tuple[Any, int | None]:
    r = registry.get("finite", scheme="central").hessian(inst.f, inst.x)
    return r.derivative, r.evaluations  # 2n^2 + 1 evaluations of f


HESSIAN_METHODS: dict[str, Method] = {
    "forward-over-reverse": Method("forward-over-reverse", _fwd_over_rev, 1.0, counts_passes=True),
    "reverse-over-reverse": Method("reverse-over-reverse", _rev_over_rev, 1.0),
    "finite-of-gradient": Method("finite-of-gradient", _fd_of_gradient, 1.0),
    "finite-second": Method("finite-second", _fd_hessian, 2.0),
    "symbolic": Method("symbolic", lambda inst: (None, None), 2.0, symbolic=True),
}


def _direction(n: int) -> np.ndarray:
    return np.cos(np.arange(n, dtype=float))  # a fixed direction with no zero and no symmetry


def _gradient_baseline(report: CostReport, inst: families.Instance) -> dict[str, Any]:
    """Before the Hessian methods at each n: time one reverse gradient and one Hessian-vector product."""
    tf = next(r.seconds for r in reversed(report.rows) if r.method == "f" and r.n == inst.n)
    g = measure(lambda: ad.grad(inst.f)(inst.x))
    report.rows.append(Row("gradient", inst.n, None, g.seconds, 1, g.seconds / tf, repeats=g.repeats,
                           ratio_to_gradient=1.0))
    v = _direction(inst.n)
    h = measure(lambda: ad.hvp(inst.f, inst.x, v))
    report.rows.append(Row("hvp", inst.n, None, h.seconds, 1, h.seconds / tf, repeats=h.repeats,
                           ratio_to_gradient=h.seconds / g.seconds))
    return {"gradient_seconds": g.seconds, "hvp": np.asarray(h.result, dtype=float), "v": v}


def _hvp_check(report: CostReport, inst: families.Instance, extra: dict[str, Any], hess: Any) -> None:
    if hess is None:
        return
    hv = np.asarray(hess, dtype=float).reshape(inst.n, inst.n) @ extra["v"]
    for row in report.rows:
        if row.method == "hvp" and row.n == inst.n:
            row.max_rel_diff = relative_difference(extra["hvp"], hv)


def hessian_cost(function: str = "rosenbrock", ns: Sequence[int] = (10, 30, 100, 300, 1000),
                 methods: Sequence[str] | None = None, budget: float = DEFAULT_BUDGET,
                 progress: Progress | None = None) -> CostReport:
    """Time every Hessian method at each n against one reverse gradient (Exercise 1, measured)."""
    budget = check_budget(budget)
    chosen = choose_methods(methods, HESSIAN_METHODS, "hessian")
    reference = "forward-over-reverse" if any(m.name == "forward-over-reverse" for m in chosen) else chosen[0].name
    report = measure_grid("hessian", function, list(ns), chosen, budget, reference, progress,
                          before=_gradient_baseline, after=_hvp_check)
    report.versions = {m.name: m.library for m in chosen if m.library}
    report.notes.append(
        "evaluations: n JVPs of the gradient (forward-over-reverse), n VJPs after one recording of the gradient "
        "(reverse-over-reverse), 2n+1 gradients (finite-of-gradient), 2n^2+1 calls of f (finite-second); hvp: "
        "one JVP of the gradient")
    report.notes.extend(passes_notes(report))
    report.notes.append(f"max_rel_diff: against {reference}; for hvp: against (that Hessian) @ v")
    return report
