"""The derivative as a program: f, its tangent (forward mode) and its adjoint (reverse mode) as Python source.

f is staged once (:mod:`diffcompare.ad.staging`); the tangent and adjoint programs are then written by source
transformation of its rows, with the rules table's own partials (applied to staged values, so every partial is
a line of the program). Variables carry the evaluation trace's names: ``v_-1, v_0`` the inputs, ``v_1 ..`` the
rows, ``vdot_i`` the tangents, ``vbar_i`` the adjoints (written ``v_m1``, ``vbar_m1`` in Python), and a
partial sum of an adjoint keeps its name, as the slides' ``vbar_j += vbar_i * dv_i/dv_j``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from diffcompare.ad.codegen import Generated, NameClash, generate, trace_names
from diffcompare.ad.forward import push_forward
from diffcompare.ad.reverse import pull_back
from diffcompare.ad.staging import Program, Staged, StagingTrace, Var
from diffcompare.errors import TracingError

MODES = ("primal", "forward", "reverse")


@dataclass
class DerivativeProgram:
    """The generated program of one mode: its source and compiled function, the names, and the value reads
    that make it hold only at the traced point (empty: it holds everywhere f is defined)."""

    mode: str
    generated: Generated
    inputs: list[str]  # the parameters, in the trace's names
    value_reads: list[str]
    fn: Callable[..., Any]

    @property
    def source(self) -> str:
        return self.generated.source


def _stage_primal(f: Callable[..., Any], point: Sequence[float]) -> tuple[StagingTrace, list[Staged], Any, int]:
    """Run f on staged inputs in an open staging trace; the caller adds derivative rows to the same trace."""
    from diffcompare.ad import policy

    trace = StagingTrace()
    trace.__enter__()
    with policy.scoped(policy.REFERENCE):  # this thread only (see policy.scoped)
        xs = []
        for p in point:
            var = trace.new_var(p)
            xs.append(Staged(p, var, trace))
        y = f(*xs)
    if not isinstance(y, Staged):
        trace.__exit__(None, None, None)
        raise TracingError("f does not depend on its variables: there is no program to write")
    return trace, xs, y, len(trace.rows)


def program(f: Callable[..., Any], point: Sequence[float], mode: str = "reverse") -> DerivativeProgram:
    """The program of ``mode`` for a scalar f of ``len(point)`` float variables, staged at ``point``.

    primal: ``(v_-1, v_0, ...) -> f``; forward: ``(v.., vdot..) -> (f, df)`` (the directional derivative);
    reverse: ``(v.., vbar_l) -> (f, vbar_-1, vbar_0, ...)`` (the gradient times the seed ``vbar_l``).
    """
    if mode not in MODES:
        raise TracingError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    trace, xs, y, n_primal = _stage_primal(f, [float(p) for p in point])
    try:
        n = len(xs)
        primal_vars = [x.var for x in xs] + [r.out for r in trace.rows]
        names = dict(zip((v.index for v in primal_vars), trace_names(n, len(trace.rows))))
        inputs = [x.var for x in xs]
        if mode == "primal":
            output: Any = y.var
        elif mode == "forward":
            output, extra = _tangent_rows(trace, xs, y, n_primal, names)
            inputs = inputs + extra
        else:
            output, extra = _adjoint_rows(trace, xs, y, n_primal, names)
            inputs = inputs + extra
    finally:
        trace.__exit__(None, None, None)
    staged = Program(inputs, trace.rows, output, list(trace.reads))
    try:
        gen = generate(staged, name=mode, names=names)
    except NameClash:  # a partial sum read after its name was reassigned: every Var a name of its own
        counts: dict[str, int] = {}
        for index in sorted(names):
            if names[index].startswith("w_"):
                continue
            base = names[index]
            counts[base] = counts.get(base, 0) + 1
            names[index] = base if counts[base] == 1 else f"{base}_{counts[base]}"
        gen = generate(staged, name=mode, names=names)
    return DerivativeProgram(mode, gen, [names[v.index] for v in inputs], staged.value_reads, gen.compile(mode))


def _seed(trace: StagingTrace, value: float) -> Staged:
    return Staged(value, trace.new_var(value), trace)


def _tangent_rows(trace: StagingTrace, xs: list[Staged], y: Staged, n_primal: int,
                  names: dict[int, str]) -> tuple[Any, list[Var]]:
    """vdot_i for every row, by forward mode's one rule (push_forward) on staged values."""
    tangent: dict[int, Any] = {}
    extra = []
    for x in xs:
        t = _seed(trace, 1.0)
        names[t.var.index] = names[x.var.index].replace("v_", "vdot_", 1)
        tangent[x.var.index] = t
        extra.append(t.var)
    for row in list(trace.rows[:n_primal]):
        tans = [tangent.get(a.index) if isinstance(a, Var) else None for a in row.args]
        if all(t is None for t in tans):
            continue
        args = [_staged(a, trace) for a in row.args]
        ans = _staged(row.out, trace)
        t = push_forward(row.prim, ans, args, tans, row.kw)
        if isinstance(t, Staged):
            names.setdefault(t.var.index, names[row.out.index].replace("v_", "vdot_", 1))
        tangent[row.out.index] = t
    out = tangent.get(y.var.index, 0.0)
    return (y.var, out.var if isinstance(out, Staged) else out), extra


def _adjoint_rows(trace: StagingTrace, xs: list[Staged], y: Staged, n_primal: int,
                  names: dict[int, str]) -> tuple[Any, list[Var]]:
    """vbar_j for every row, by reverse mode's one rule (pull_back) on staged values, rows in reverse."""
    seed = _seed(trace, 1.0)
    names[seed.var.index] = names[y.var.index].replace("v_", "vbar_", 1)
    adjoint: dict[int, Any] = {y.var.index: seed}
    for row in reversed(trace.rows[:n_primal]):
        g = adjoint.pop(row.out.index, None)
        if g is None:
            continue
        args = tuple(_staged(a, trace) for a in row.args)
        node = SimpleNamespace(prim=row.prim, args=args, kw=row.kw, value=_staged(row.out, trace))
        for i, a in enumerate(row.args):
            if not isinstance(a, Var):
                continue
            c, _ = pull_back(node, i, g)
            old = adjoint.get(a.index)
            total = c if old is None else old + c
            if isinstance(total, Staged):
                names.setdefault(total.var.index, names[a.index].replace("v_", "vbar_", 1))
            adjoint[a.index] = total
    grads = []
    for x in xs:
        g = adjoint.get(x.var.index, 0.0)
        grads.append(g.var if isinstance(g, Staged) else g)
    return (y.var, *grads), [seed.var]


def _staged(a: Any, trace: StagingTrace) -> Any:
    """A row's argument as the rules take it: a Var becomes its staged value again."""
    return Staged(trace.values[a.index], a, trace) if isinstance(a, Var) else a
