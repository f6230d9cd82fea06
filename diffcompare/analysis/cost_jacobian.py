"""jacfwd against jacrev on an (n, m) grid: which wins, and where they cross.

The lecture: forward mode builds the Jacobian of f: R^n -> R^m one column per pass (n JVPs),
reverse mode one row per pass (m VJPs after one recording). So forward mode should win when
n < m and reverse when n > m, up to the ratio of the cost of one pass of each: the crossover
lies at ``n / m = c_rev / c_fwd``. :func:`crossover` finds it from measured times by fitting
``log(t_fwd / t_rev) = a + b log(n / m)`` (theory: ``b = 1``) and solving for zero.

That lesson compares like with like: ``jacfwd`` here is the textbook forward mode, one direction per
pass (``dc.jvp`` in a loop over the unit vectors), against ``jacrev``'s one cotangent per pass. The
shipped ``dc.jacfwd`` carries all n directions in one vectorized pass, while ``dc.jacrev`` still makes m
pullbacks: timed against each other, one side is vectorized and the other is not, and the crossover
moves far from n = m for a reason the lesson is not about. So the batched jacfwd is its own method,
``jacfwd-batched``, with its own crossover (``summary["crossover_batched"]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from diffcompare import ad
from diffcompare import backends as registry
from diffcompare.analysis import families
from diffcompare.analysis.cost import (
    CostReport, Progress, Row, check_budget, measure_passes, passes_notes, peer_method, peer_names,
    relative_difference,
)
from diffcompare.analysis.cost_timing import machine, measure
from diffcompare.errors import DiffcompareError, Unsupported

__all__ = ["Cell", "Crossover", "crossover", "jacobian_cost"]

TIE = 1.10  # a cell whose two times are within 10% is called a tie: below run-to-run noise of medians


@dataclass
class Cell:
    """One (n, m) cell: the median time of each method (None if not measured) and the winner."""

    n: int
    m: int
    jacfwd: float | None
    jacrev: float | None
    winner: str | None = None  # "jacfwd", "jacrev", "tie", or None when a time is missing
    speedup: float | None = None  # slower / faster


@dataclass
class Crossover:
    """Where jacfwd and jacrev take the same time.

    ``ratio``: jacfwd wins for ``n < ratio * m`` (None without a fit); ``slope``: the fitted
    ``d log(t_fwd/t_rev) / d log(n/m)``, which theory puts at 1; ``points``: cells in the fit;
    ``per_n``: for each n, the m at which the winner flips (interpolated on a log scale; None
    when it does not flip inside the grid).
    """

    ratio: float | None
    slope: float | None
    points: int
    cells: list[Cell] = field(default_factory=list)
    per_n: dict[int, float | None] = field(default_factory=dict)


def _winner(t_fwd: float | None, t_rev: float | None) -> tuple[str | None, float | None]:
    if t_fwd is None or t_rev is None or t_fwd <= 0 or t_rev <= 0:
        return None, None
    speedup = max(t_fwd, t_rev) / min(t_fwd, t_rev)
    if speedup < TIE:
        return "tie", speedup
    return ("jacfwd" if t_fwd < t_rev else "jacrev"), speedup


def crossover(cells: Sequence[tuple[int, int, float | None, float | None]]) -> Crossover:
    """The crossover of jacfwd and jacrev from ``(n, m, t_jacfwd, t_jacrev)`` cells."""
    out: list[Cell] = []
    xs, ys = [], []
    for n, m, tf, tr in cells:
        w, s = _winner(tf, tr)
        out.append(Cell(n, m, tf, tr, w, s))
        if w is not None:
            xs.append(math.log(n / m))
            ys.append(math.log(tf / tr))
    ratio = slope = None
    if len(set(xs)) >= 2:
        x = np.array(xs)
        y = np.array(ys)
        x0 = x - x.mean()
        slope = float(np.dot(x0, y - y.mean()) / np.dot(x0, x0))
        intercept = float(y.mean() - slope * x.mean())
        if slope > 0:
            ratio = math.exp(-intercept / slope)
    return Crossover(ratio, slope, len(xs), out, _per_n(out))


def _per_n(cells: list[Cell]) -> dict[int, float | None]:
    """For each n: the m where log(t_fwd/t_rev) changes sign along increasing m (log-interpolated)."""
    result: dict[int, float | None] = {}
    for n in sorted({c.n for c in cells}):
        row = sorted((c for c in cells if c.n == n and c.winner is not None), key=lambda c: c.m)
        result[n] = None
        for a, b in zip(row, row[1:]):
            ya = math.log(a.jacfwd / a.jacrev)
            yb = math.log(b.jacfwd / b.jacrev)
            if ya == 0:
                result[n] = float(a.m)
                break
            if ya * yb < 0:
                la, lb = math.log(a.m), math.log(b.m)
                result[n] = float(math.exp(la + (lb - la) * ya / (ya - yb)))
                break
    return result


def _plane_slopes(report: CostReport) -> None:
    """Per method, the least-squares plane ``log t = a + b log n + c log m`` over its measured cells."""
    in_m: dict[str, float | None] = {}
    for method in report.methods():
        rows = [r for r in report.rows if r.method == method and r.status == "ok" and r.seconds]
        design = np.array([[1.0, math.log(r.n), math.log(r.m)] for r in rows]).reshape(-1, 3)
        report.slope_points[method] = len(rows)
        if len(rows) < 3 or np.linalg.matrix_rank(design) < 3:
            report.slopes[method] = in_m[method] = None
            continue
        coef, *_ = np.linalg.lstsq(design, np.log([r.seconds for r in rows]), rcond=None)
        report.slopes[method] = float(coef[1])
        in_m[method] = float(coef[2])
    report.other_slopes["seconds vs m"] = in_m


def _jacfwd(inst: families.Instance) -> Any:
    """The textbook forward-mode Jacobian: one JVP per input direction, one pass of f each (m x n)."""
    x = inst.x
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1.0
        columns.append(np.asarray(ad.jvp(inst.f, (x,), (e,))[1], dtype=float))
    return np.stack(columns, axis=-1)


def _jacrev(inst: families.Instance) -> Any:
    return ad.jacrev(inst.f)(inst.x)


def _jacfwd_batched(inst: families.Instance) -> Any:
    return ad.jacfwd(inst.f)(inst.x)


# name -> (run, directions it computes at (n, m): its evaluations, whether its passes through f are counted)
_OURS: dict[str, tuple[Any, Any, bool]] = {
    "jacfwd": (_jacfwd, lambda n, m: n, True),
    "jacrev": (_jacrev, lambda n, m: m, False),
    "jacfwd-batched": (_jacfwd_batched, lambda n, m: n, True),
}
JACOBIAN_METHODS = tuple(_OURS)

PASSES_NOTE = ("evaluations: jacfwd n JVPs, one direction per pass (dc.jvp in a loop over the n unit vectors: the "
               "textbook forward mode), jacrev m VJPs after one recording (one pullback per output): one "
               "direction or cotangent per pass on both sides, so the crossover is the lecture's; jacfwd-batched "
               "is dc.jacfwd as shipped, the same n JVPs in batched passes, against the same jacrev")


def check_methods(methods: Sequence[str] | None) -> list[str]:
    """jacfwd, jacrev and jacfwd-batched always (the crossovers need them), then the peers named (``all``: every
    installed one)."""
    peers = peer_names()
    out = list(JACOBIAN_METHODS)
    for name in methods or ():
        for one in (peers if name == "all" else [name]):
            if one in out:
                continue
            if one not in peers:
                raise DiffcompareError(f"--methods: {registry.unusable(one, 'method')}; allowed: "
                                       f"{', '.join([*JACOBIAN_METHODS, *peers])}, all")
            out.append(one)
    return out


def jacobian_cost(ns: Sequence[int] = (1, 4, 16, 64, 256, 1024), ms: Sequence[int] = (1, 4, 16, 64, 256, 1024),
                  budget: float = 2.0, progress: Progress | None = None,
                  methods: Sequence[str] | None = None) -> CostReport:
    """Time jacfwd (n JVPs, one per pass), jacrev (m VJPs) and jacfwd-batched (dc.jacfwd: the n JVPs in one
    vectorized pass) of ``tanh(A x)`` on every (n, m) of the grid.

    The forward methods' passes through f are counted (calls of f in the untimed warm-up call): ``Row.passes``.
    ``methods`` adds peers (``jax``, ``numdifftools``, ... or ``all``): each cell times them right after
    jacfwd and jacrev, on the same instance. A cell is skipped when its time, predicted from the most
    expensive pass seen so far for that method (seconds per pass per second of f) times its passes and f's
    time, exceeds the budget; a peer counts ``max(n, m)`` passes (finite differences need n, a reverse-mode
    Jacobian m).
    """
    budget = check_budget(budget)
    names = check_methods(methods)
    peers = {name: peer_method(name, "jacobian") for name in names if name not in JACOBIAN_METHODS}
    grid = sorted(((n, m) for n in ns for m in ms), key=lambda nm: (nm[0] * nm[1], nm))
    first = families.tanh_linear(grid[0][0], grid[0][1])
    report = CostReport("jacobian", first.family, "tanh(A @ x), A of shape m x n", budget, machine(),
                        slopes_of="seconds vs n (at fixed m)", reference="jacrev")
    per_pass: dict[str, float] = {}  # method -> max over cells of ratio_to_f / passes
    total = (1 + len(names)) * len(grid)
    done = 0
    times: dict[tuple[int, int], dict[str, float | None]] = {}
    for n, m in grid:
        inst = families.tanh_linear(n, m)
        if progress:
            progress(done, total, f"f at n={n}, m={m}")
        tf = measure(lambda inst=inst: inst.f(inst.x))
        report.rows.append(Row("f", n, m, tf.seconds, 1, 1.0, repeats=tf.repeats))
        done += 1
        results: dict[str, Any] = {}
        cell_times: dict[str, float | None] = dict.fromkeys(JACOBIAN_METHODS)
        contestants = [(name, run, work(n, m), counted) for name, (run, work, counted) in _OURS.items()]
        contestants += [(name, method.run, max(n, m), False) for name, method in peers.items()]
        for name, run, passes, counted in contestants:
            if progress:
                progress(done, total, f"{name} at n={n}, m={m}")
            done += 1
            row = Row(name, n, m)
            if name in per_pass:
                row.predicted_seconds = per_pass[name] * passes * tf.seconds
                if row.predicted_seconds > budget:
                    row.status = f"skipped: predicted {row.predicted_seconds:.3g} s > {budget:g} s"
                    report.rows.append(row)
                    continue
            try:
                if counted:
                    timing, row.passes = measure_passes(run, inst)
                else:
                    timing = measure(lambda run=run, inst=inst: run(inst))
            except (Unsupported, DiffcompareError) as exc:
                row.status = f"{'unsupported' if isinstance(exc, Unsupported) else 'failed'}: {exc}"
                report.rows.append(row)
                continue
            if name in peers:  # a peer's result: its derivative and its own count of calls of f
                timing.result, evaluations = timing.result
            else:
                evaluations = passes
            row.seconds, row.repeats, row.evaluations = timing.seconds, timing.repeats, evaluations
            row.ratio_to_f = timing.seconds / tf.seconds
            per_pass[name] = max(per_pass.get(name, 0.0), row.ratio_to_f / passes)
            results[name] = timing.result
            cell_times[name] = timing.seconds
            report.rows.append(row)
        times[(n, m)] = cell_times
        if "jacrev" in results:
            for row in report.rows[-len(contestants):]:
                if row.method in results:
                    row.max_rel_diff = relative_difference(results[row.method], results["jacrev"])
    if progress:
        progress(total, total, "done")
    _plane_slopes(report)
    cells = sorted(times.items())
    report.summary["crossover"] = crossover([(n, m, t["jacfwd"], t["jacrev"]) for (n, m), t in cells])
    report.summary["crossover_batched"] = crossover([(n, m, t["jacfwd-batched"], t["jacrev"]) for (n, m), t in cells])
    report.notes.append(PASSES_NOTE)
    report.notes.extend(passes_notes(report))
    report.notes.append("slopes: log t = a + b log n + c log m fitted over each method's cells: b is the "
                        "slope in n, c (other_slopes 'seconds vs m') the slope in m; theory: jacfwd b~1, "
                        "jacrev c~1, the other ~0 while f's own cost is flat; jacfwd-batched does jacfwd's arithmetic "
                        "(b~1) but pays the per-operation overhead once, so b<1 while that overhead dominates")
    report.notes.append(f"winner: 'tie' when the two medians are within {100 * (TIE - 1):.0f}%")
    report.versions = {name: method.library for name, method in peers.items() if method.library}
    if peers:
        report.notes.append("peers: evals / passes is the library's calls of f where it counts them (— where not)")
    return report
