"""What each differentiation method costs as the problem grows: the lecture's claims, measured.

* :func:`gradient_cost`: f: R^n -> R, n on a grid; finite differences (forward, central, complex
  step), forward-mode AD (n JVPs), reverse-mode AD (one recording and one VJP) and sympy (n partial
  derivatives, in a worker process under the budget). The cheap-gradient principle says reverse
  mode costs a constant multiple of one evaluation of f whatever n: its ``ratio_to_f`` stays flat
  while the others grow like n.
* :func:`jacobian_cost` (in :mod:`diffcompare.analysis.cost_jacobian`): jacfwd against jacrev on
  an (n, m) grid and where they cross.
* :func:`hessian_cost` (in :mod:`diffcompare.analysis.cost_hessian`): Exercise 1 (the Hessian has n^2
  entries), measured against the cost of one gradient, and the Hessian-vector product as the cheap alternative.
* :func:`memory_cost` (in :mod:`diffcompare.analysis.cost_memory`): reverse mode's tape against
  forward mode's flat memory as the computation deepens.

Every report carries the machine it was measured on (:func:`cost_timing.machine`); cells are timed
by :func:`cost_timing.measure` (warm-up, repeats, median). A cell predicted to take more than the
budget is skipped before it starts (from the method's previous cell, scaled by how f's own cost grew
and by the method's expected growth in n), and so are the larger cells of that method.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from diffcompare import ad
from diffcompare import backends as registry
from diffcompare.analysis import families
from diffcompare.analysis.cost_timing import Machine, Timing, fit_slope, machine, measure, predict
from diffcompare.errors import DiffcompareError, Timeout, Unsupported

__all__ = [
    "DEFAULT_BUDGET",
    "GRADIENT_METHODS",
    "CostReport",
    "Method",
    "Row",
    "gradient_cost",
    "instance",
    "check_budget",
    "check_inputs",
    "choose_methods",
    "measure_grid",
    "measure_passes",
    "passes_notes",
    "relative_difference",
]

DEFAULT_BUDGET = 2.0  # seconds per cell
MIN_SLOPE_POINTS = 3  # a line through 2 points always fits: a slope from fewer sizes is shown as weak
MAX_GRID = 10**7  # no n beyond this: a vector of 10^7 floats is 80 MB per copy

Progress = Callable[[int, int, str], None]  # (cells done, cells in all, what is being measured)


@dataclass
class Row:
    """One method at one size: its median time and what it cost in evaluations, passes or memory.

    ``status`` is ``"ok"`` or why no time is given (``skipped: ...``, ``timeout: ...``,
    ``unsupported: ...``); fields that do not apply are ``None``.
    """

    method: str
    n: int
    m: int | None = None
    seconds: float | None = None
    evaluations: int | None = None  # calls of f (finite differences), JVPs / VJPs (AD), gradients (FD of gradient)
    ratio_to_f: float | None = None  # seconds / seconds of one evaluation of f at this size
    peak_bytes: int | None = None
    repeats: int | None = None  # timed calls behind the median (after one warm-up call)
    status: str = "ok"
    max_rel_diff: float | None = None  # max |d - d_ref| / max |d_ref| against the reference method
    ratio_to_gradient: float | None = None  # hessian: seconds / seconds of one reverse gradient
    expression_size: int | None = None  # symbolic: sympy.count_ops of the derivative
    k: int | None = None  # memory: depth of the computation
    operations: int | None = None  # memory: recorded operations on the tape
    bytes_per_op: float | None = None  # memory: peak_bytes / operations
    predicted_seconds: float | None = None  # what the budget check expected
    passes: int | None = None  # forward mode: the passes through f that ran (counted), when batched: < evaluations


@dataclass
class CostReport:
    """A cost measurement: rows, fitted slopes and where it was measured.

    ``slopes`` are least-squares log-log slopes of ``slopes_of`` (seconds against n; for memory, peak
    bytes against depth k) over ``slope_points`` measured sizes per method. ``other_slopes`` holds
    further fits by name, e.g. ``"ratio_to_f vs n"``, which removes the growth of f's own cost and
    shows the method's own scaling. ``summary`` holds what is particular to a kind (the Jacobian
    crossover, the memory per recorded operation).
    """

    kind: str
    function: str
    description: str
    budget: float
    machine: Machine
    rows: list[Row] = field(default_factory=list)
    slopes_of: str = "seconds vs n"
    slopes: dict[str, float | None] = field(default_factory=dict)
    slope_points: dict[str, int] = field(default_factory=dict)
    other_slopes: dict[str, dict[str, float | None]] = field(default_factory=dict)
    other_slope_points: dict[str, dict[str, int]] = field(default_factory=dict)  # by fit name, then method
    reference: str | None = None  # the method max_rel_diff is measured against
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # a peer method's library and version, by method

    def methods(self) -> list[str]:
        seen: list[str] = []
        for r in self.rows:
            if r.method not in seen:
                seen.append(r.method)
        return seen


def check_budget(budget: float) -> float:
    if not (isinstance(budget, (int, float)) and np.isfinite(budget) and budget > 0):
        raise DiffcompareError(f"--budget must be a positive number of seconds, not {budget!r}")
    return float(budget)


def check_inputs(function: str, n: int, methods: Sequence[str] | None, table: dict[str, "Method"],
                 budget: float, kind: str = "gradient") -> None:
    """Every option checked before any measuring starts: one-line errors, no half-drawn progress bar.
    ``kind``: what the peers among ``methods`` would compute ("gradient" or "hessian")."""
    check_budget(budget)
    choose_methods(methods, table, kind)
    instance(function, n)


# -- the function under test -----------------------------------------------------------------------


def instance(function: Any, n: int) -> families.Instance:
    """A family member by name, ``sum(expr(x))`` for an expression in one variable applied elementwise, or the
    user's own function of one vector x (an Expression from ``--file``, diffcompare.userfunc)."""
    if not isinstance(function, str):
        return _own_function(function, n)
    if function in families.GRADIENT_FAMILIES:
        return families.gradient_family(function, n)
    import difflib

    from diffcompare.parse import compile_expression

    close = difflib.get_close_matches(function.strip(), list(families.GRADIENT_FAMILIES), n=1, cutoff=0.7)
    if close and function.strip().isidentifier():  # rosenbrok is a typo, not sum(x_i) of a variable so named
        raise DiffcompareError(f"no function family named {function.strip()!r} (did you mean {close[0]!r}?)")

    expr = compile_expression(function)
    if len(expr.variables) != 1:
        raise DiffcompareError(
            f"--function must be one of {', '.join(families.GRADIENT_FAMILIES)} or an expression in one "
            f"variable, applied to each x_i and summed; {function!r} has variables "
            f"{', '.join(expr.variables) or 'none'}"
        )
    g = expr.function

    def summed(x: Any) -> Any:
        return np.sum(g(x))

    def build(ns: Any) -> Callable[[Any], Any]:
        g_ns = expr.compile_for(ns.name)

        def summed(x: Any) -> Any:
            return ns.sum(g_ns(x))

        return summed

    summed.__name__ = expr.variables[0]
    families.portable(summed, build)
    x = families.irregular_point(n)
    from diffcompare.backends.base import evaluate

    evaluate(summed, (x,))  # a DomainError now, not in the middle of the measurement
    return families.Instance("expression", summed, x, n, 1, f"sum({expr.text}) over x_i")


def _own_function(expression: Any, n: int) -> families.Instance:
    """``f(x)`` from the user's file, called on the family's fixed point x of size n; it must return a scalar."""
    from diffcompare.userfunc import run_user_code

    if len(expression.variables) != 1:
        raise DiffcompareError(f"cost needs a function of one vector, e.g. def f(x): return np.sum(x**2); "
                               f"{expression.text} takes {', '.join(expression.variables)}")
    x = families.irregular_point(n)
    out = run_user_code(expression.function, (x,), expression.text)  # a DomainError or its crash: now, in one line
    if np.ndim(out) != 0:
        raise DiffcompareError(f"cost differentiates a scalar function of x; {expression.text} returned shape "
                               f"{np.shape(out)} for x of size {n}")
    return families.Instance(expression.text, expression.function, x, n, 1, "your own f(x), x of size n")


# -- cells -----------------------------------------------------------------------------------------


@dataclass
class Method:
    """A way of computing the derivative: ``run(inst)`` -> (derivative, evaluations or passes)."""

    name: str
    run: Callable[[families.Instance], tuple[Any, int | None]]
    ratio_slope: float  # expected growth of seconds / f-seconds with n: for the budget prediction
    symbolic: bool = False  # sympy work (symbolic, symengine): timed in a worker process under the budget
    library: str | None = None  # a peer's library and version
    counts_passes: bool = False  # forward mode: count the calls of f (its passes) in the warm-up call


def _finite(scheme: str) -> Callable[[families.Instance], tuple[Any, int | None]]:
    backend = registry.get("finite", scheme=scheme)

    def run(inst: families.Instance) -> tuple[Any, int | None]:
        r = backend.gradient(inst.f, inst.x)
        return r.derivative, r.evaluations

    return run


def _forward_gradient(inst: families.Instance) -> tuple[Any, int | None]:
    return ad.jacfwd(inst.f)(inst.x), int(np.size(inst.x))  # n JVPs, carried by batched passes (counted)


def _reverse_gradient(inst: families.Instance) -> tuple[Any, int | None]:
    return ad.grad(inst.f)(inst.x), 1  # one recorded pass, one VJP


GRADIENT_METHODS: dict[str, Method] = {
    "reverse": Method("reverse", _reverse_gradient, 0.0),
    "forward": Method("forward", _forward_gradient, 1.0, counts_passes=True),
    "finite-forward": Method("finite-forward", _finite("forward"), 1.0),
    "finite-central": Method("finite-central", _finite("central"), 1.0),
    "finite-complex": Method("finite-complex", _finite("complex"), 1.0),
    "symbolic": Method("symbolic", lambda inst: (None, None), 1.0, symbolic=True),
}


def _symbolic_cell(function: str, n: int, kind: str, name: str = "symbolic") -> tuple[Timing, int | None]:
    """Runs in the worker process: time sympy's (or SymEngine's) gradient or Hessian of the family member."""
    inst = instance(function, n)
    backend = registry.get(name)
    run = backend.gradient if kind == "gradient" else backend.hessian
    from sympy.core.cache import clear_cache

    def cold() -> Any:
        clear_cache()  # sympy memoises diff and friends: a repeat would time a cache lookup
        return run(inst.f, inst.x)

    timing = measure(cold)
    size = timing.result.expression_size
    timing.result = np.asarray(timing.result.derivative, dtype=float)
    return timing, size


def relative_difference(d: Any, ref: Any) -> float | None:
    """``max |d - ref| / max |ref|`` (absolute where ref is all zero); None when either is missing.

    One number per row that says whether a method agrees with the reference, at any size.
    """
    if d is None or ref is None:
        return None
    d = np.asarray(d, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if d.shape != ref.shape:
        d = d.reshape(ref.shape)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    return float(np.max(np.abs(d - ref)) / (scale if scale > 0 else 1.0))


def measure_passes(run: Callable[[families.Instance], Any], inst: families.Instance) -> tuple[Timing, int]:
    """Time ``run(inst)`` as :func:`measure` does, and count the calls of ``inst.f`` in one run: its passes.

    Forward mode calls f once per pass (with dual values), so the count says what ran: n for one direction
    per pass, 1 for all n tangents in one batched pass. Only the untimed warm-up call gets the counting f,
    so the timed calls pay nothing for it.
    """
    calls = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return inst.f(*args, **kwargs)

    counted = replace(inst, f=counting)
    first = True

    def call() -> Any:
        nonlocal first
        if first:
            first = False
            return run(counted)
        return run(inst)

    return measure(call), calls


class _Budget:
    """Per method: the last measured (n, ratio_to_f) and whether the method has dropped out."""

    def __init__(self, budget: float):
        self.budget = budget
        self.last: dict[str, tuple[int, float]] = {}
        self.prev: dict[str, tuple[int, float]] = {}
        self.out: dict[str, str] = {}

    def prediction(self, method: str, n: int, f_seconds: float, prior_slope: float) -> float | None:
        """Seconds expected at ``n``: the last ratio to f, grown by the larger of the prior and observed slope."""
        if method not in self.last:
            # no measurement yet: a lower bound, as if the method cost one f at n = 1 and grew from
            # there with its expected slope (forward mode at n = 1e5 is >= 1e5 calls of f)
            return predict(1, 1.0, n, prior_slope) * f_seconds
        n0, ratio0 = self.last[method]
        slope = prior_slope
        if method in self.prev:
            n1, ratio1 = self.prev[method]
            observed, _ = fit_slope([n1, n0], [ratio1, ratio0])
            if observed is not None:
                slope = max(slope, observed)
        return predict(n0, ratio0, n, slope) * f_seconds

    def record(self, method: str, n: int, ratio: float) -> None:
        if method in self.last:
            self.prev[method] = self.last[method]
        self.last[method] = (n, ratio)


def _run_cell(method: Method, inst: families.Instance, function: str, kind: str, budget: float,
              ) -> tuple[Timing | None, Any, int | None, int | None, str, int | None]:
    """(timing, derivative, evaluations, expression size, status, passes) of one method at one size."""
    if method.symbolic:
        from diffcompare.budget import run_with_budget

        try:
            # a warm-up call and one timed call of at most `budget` each, plus the worker's start-up
            timing, size = run_with_budget(_symbolic_cell, function, inst.n, kind, method.name,
                                           timeout=2 * budget + 1.0)
        except Timeout:
            return None, None, None, None, f"timeout: over {2 * budget + 1.0:g} s (warm-up + timed call)", None
        except Unsupported as exc:
            return None, None, None, None, f"unsupported: {exc}", None
        except (DiffcompareError, RuntimeError) as exc:  # a domain error, or the worker died (memory)
            return None, None, None, None, f"failed: {exc}", None
        return timing, timing.result, None, size, "ok", None
    passes = None
    try:
        if method.counts_passes:
            timing, passes = measure_passes(method.run, inst)
        else:
            timing = measure(lambda: method.run(inst))
    except Unsupported as exc:
        return None, None, None, None, f"unsupported: {exc}", None
    except DiffcompareError as exc:  # e.g. a finite-difference step leaving the function's domain
        return None, None, None, None, f"failed: {exc}", None
    except MemoryError:
        return None, None, None, None, "failed: out of memory at this size", None
    derivative, evaluations = timing.result
    return timing, derivative, evaluations, None, "ok", passes


def passes_notes(report: CostReport) -> list[str]:
    """What ran, from the passes through f counted in each forward-mode row (``Row.passes``)."""
    notes = []
    for method in report.methods():
        rows = [r for r in report.rows if r.method == method and r.status == "ok" and r.passes is not None]
        if not rows:
            continue
        if all(r.passes == r.evaluations for r in rows):
            notes.append(f"{method}: one pass through f per JVP at every size (counted)")
            continue
        groups: dict[int, list[int]] = {}
        for r in rows:
            groups.setdefault(r.passes, []).append(r.n)
        where = ", ".join(f"{_count(p, 'pass')} at n={_span(ns)}" for p, ns in groups.items())
        notes.append(f"{method}: 'N in P' = its N JVPs carried by P batched passes through f (counted: {where}); "
                     "a batched pass holds N tangents per intermediate (N times the memory of one JVP) and still "
                     "does the N-fold arithmetic: it saves the per-operation overhead of N passes, not the work")
    return notes


def _span(ns: list[int]) -> str:
    ns = sorted(set(ns))
    return str(ns[0]) if len(ns) == 1 else f"{ns[0]}..{ns[-1]}" if len(ns) > 2 else f"{ns[0]}, {ns[1]}"


def _count(k: int, unit: str) -> str:
    """``1 pass``, ``3 passes``."""
    return f"{k} {unit}" + ("" if k == 1 else ("es" if unit.endswith("s") else "s"))


def fit_slopes(report: CostReport, x_of: Callable[[Row], float | None], y_of: Callable[[Row], float | None],
               name: str | None = None) -> dict[str, float | None]:
    """Per method, the log-log slope of ``y_of(row)`` against ``x_of(row)`` over the measured rows.

    Without ``name`` the result goes to ``report.slopes`` (and the point counts to ``slope_points``),
    with one to ``report.other_slopes[name]``.
    """
    out: dict[str, float | None] = {}
    for method in report.methods():
        rows = [r for r in report.rows if r.method == method and r.status == "ok"]
        slope, points = fit_slope([x_of(r) for r in rows], [y_of(r) for r in rows])
        out[method] = slope
        if name is None:
            report.slope_points[method] = points
        else:
            report.other_slope_points.setdefault(name, {})[method] = points
    if name is None:
        report.slopes = out
    else:
        report.other_slopes[name] = out
    return out


def measure_grid(kind: str, function: str, ns: Sequence[int], methods: Sequence[Method], budget: float,
                 reference: str, progress: Progress | None,
                 before: Callable[[CostReport, families.Instance], dict[str, Any]] | None = None,
                 after: Callable[[CostReport, families.Instance, dict[str, Any], Any], None] | None = None,
                 ) -> CostReport:
    """The shared loop of gradient and Hessian costs: f, then each method, at each n.

    ``before(report, inst)`` runs after f at each n and returns what ``after(report, inst, that, reference's
    derivative)`` gets once the methods have run (the Hessian costs time a gradient and an hvp before, and
    check the hvp against the reference Hessian after); ``before``'s ``gradient_seconds`` gives each row its
    ratio to one gradient."""
    first = instance(function, ns[0])
    report = CostReport(kind, first.family, first.description, budget, machine(), reference=reference)
    if any(m.symbolic for m in methods):
        import sympy  # noqa: F401 - imported once here, so forked workers do not time the import

    book = _Budget(budget)
    total = len(ns) * (len(methods) + 1)
    done = 0
    for n in ns:
        inst = instance(function, n)
        if progress:
            progress(done, total, f"f at n={inst.n}")
        tf = measure(lambda inst=inst: inst.f(inst.x))
        report.rows.append(Row("f", inst.n, None, tf.seconds, 1, 1.0, repeats=tf.repeats))
        done += 1
        extra = before(report, inst) if before else None
        derivatives: dict[str, Any] = {}
        for method in methods:
            if progress:
                progress(done, total, f"{method.name} at n={inst.n}")
            done += 1
            row = Row(method.name, inst.n)
            if method.name in book.out:
                row.status = book.out[method.name]
                report.rows.append(row)
                continue
            expected = book.prediction(method.name, inst.n, tf.seconds, method.ratio_slope)
            row.predicted_seconds = expected
            if expected is not None and expected > budget:
                row.status = f"skipped: predicted {expected:.3g} s > {budget:g} s"
                book.out[method.name] = f"skipped: over budget at n={inst.n}"
                report.rows.append(row)
                continue
            timing, derivative, evaluations, size, status, passes = _run_cell(method, inst, function, kind, budget)
            row.status = status
            if timing is None:
                book.out[method.name] = f"skipped: {status.split(':')[0]} at n={inst.n}"
                report.rows.append(row)
                continue
            row.seconds, row.repeats, row.evaluations = timing.seconds, timing.repeats, evaluations
            row.passes = passes
            row.ratio_to_f = timing.seconds / tf.seconds
            row.expression_size = size
            if extra is not None:
                row.ratio_to_gradient = timing.seconds / extra["gradient_seconds"]
            derivatives[method.name] = derivative
            book.record(method.name, inst.n, row.ratio_to_f)
            report.rows.append(row)
            if timing.seconds > budget:
                book.out[method.name] = f"skipped: {timing.seconds:.3g} s > budget at n={inst.n}"
        ref = derivatives.get(reference)
        for row in report.rows:
            if row.n == inst.n and row.method in derivatives:
                row.max_rel_diff = relative_difference(derivatives[row.method], ref)
        if after is not None and extra is not None:
            after(report, inst, extra, ref)
    if progress:
        progress(total, total, "done")
    fit_slopes(report, lambda r: r.n, lambda r: r.seconds)
    fit_slopes(report, lambda r: r.n, lambda r: r.ratio_to_f, "ratio_to_f vs n")
    return report


def gradient_cost(function: str = "rosenbrock", ns: Sequence[int] = (10, 100, 1000, 10000, 100000),
                  methods: Sequence[str] | None = None, budget: float = DEFAULT_BUDGET,
                  progress: Progress | None = None) -> CostReport:
    """Time every gradient method on ``function`` at each n (see the module docstring)."""
    budget = check_budget(budget)
    chosen = choose_methods(methods, GRADIENT_METHODS, "gradient")
    report = measure_grid("gradient", function, list(ns), chosen, budget, "reverse", progress)
    report.versions = {m.name: m.library for m in chosen if m.library}
    report.notes.append(
        "evaluations: calls of f for finite differences (the backend counts the value too: n+1, 2n+1, n+1), "
        "JVPs for forward mode (n, one per direction), the one VJP of reverse mode")
    report.notes.extend(passes_notes(report))
    report.notes.append("max_rel_diff: max |g - g_reverse| / max |g_reverse| at the same n")
    return report


def peer_names() -> list[str]:
    """The installed peer backends (jax, torch, numdifftools, ...), and jax compiled (``jax-jit``): cost methods."""
    names = [n for n in registry.available() if n not in ("finite", "symbolic", "reverse", "forward")]
    return names + (["jax-jit"] if "jax" in names else [])


# (gradient, hessian) growth of seconds / f-seconds with n, for the budget prediction: finite differences
# and the symbolic peer take n (n^2) evaluations or derivatives; an AD peer's gradient is one reverse pass
_PEER_SLOPES = {"numdifftools": (1.0, 2.0), "scipy": (1.0, 2.0), "symengine": (1.0, 2.0)}


def peer_method(name: str, kind: str) -> Method:
    """A peer backend as a cost method: its ``gradient``, ``jacobian`` or ``hessian`` of the family member.

    An AD peer (jax, torch, autograd) is timed as a user runs it: its transform of the family member written
    in its own library (``runner``) is built once per size, in the untimed warm-up call, and each timed call
    is one call of that transform (``jax-jit``: of ``jax.jit`` of it, compiled in the warm-up; ``jax``: op by
    op). A finite-difference peer is timed whole; its evaluations are its calls of f. SymEngine traces through
    sympy, so it runs in a worker under the budget, as the symbolic method does.
    """
    base = name.removesuffix("-jit")
    backend = registry.get(base)
    runner = getattr(backend, "runner", None)
    if callable(runner):
        run = _transform_runner(backend, kind, jit=name.endswith("-jit"))
    else:
        call = getattr(backend, kind)

        def run(inst: families.Instance) -> tuple[Any, int | None]:
            r = call(inst.f, inst.x)
            return r.derivative, r.evaluations

    slopes = _PEER_SLOPES.get(base, (0.0, 1.0))
    slope = slopes[1] if kind == "hessian" else slopes[0]
    return Method(name, run, slope, symbolic=base == "symengine", library=getattr(backend, "library", None))


def _transform_runner(backend: Any, kind: str, jit: bool) -> Callable[[families.Instance], tuple[Any, int | None]]:
    """``run(inst)`` for an AD peer: the library's transform of ``inst.f`` prepared once per instance, then called."""
    prepared: dict[str, Any] = {}

    def run(inst: families.Instance) -> tuple[Any, int | None]:
        if prepared.get("inst") is not inst:  # the warm-up call of this size: build (and compile) the transform
            prepared.clear()
            t, _, v0 = backend.runner(kind, inst.f, inst.x)
            if jit:
                t = backend.jax.jit(t)
            if hasattr(backend, "threads"):  # torch: the thread count its backend is configured with
                backend.torch.set_num_threads(backend.threads)
            try:
                first = backend.lower(t(v0))
            except DiffcompareError:
                raise
            except Exception as exc:  # noqa: BLE001 - a plain numpy f the library cannot trace: one line
                raise Unsupported(f"{backend.name} cannot run this function ({type(exc).__name__}); give it as an "
                                  "expression or a family") from None
            prepared.update(inst=inst, t=t, v0=v0)
            return first, None
        return backend.lower(prepared["t"](prepared["v0"])), None  # lower waits for jax's asynchronous result

    return run


def choose_methods(names: Sequence[str] | None, table: dict[str, Method], kind: str) -> list[Method]:
    """The methods named (``all``: the table's and every installed peer's), in the order given."""
    if names is None:
        return list(table.values())
    peers = peer_names()
    out: list[Method] = []
    for name in names:
        wanted = [*table, *peers] if name == "all" else [name]
        for one in wanted:
            if any(m.name == one for m in out):
                continue
            if one in table:
                out.append(table[one])
            elif one in peers:
                out.append(peer_method(one, kind))
            else:
                raise DiffcompareError(f"--methods: {registry.unusable(one, 'method')}; allowed: "
                                       f"{', '.join([*table, *peers])}, all")
    if not out:
        raise DiffcompareError("--methods is empty")
    return out
