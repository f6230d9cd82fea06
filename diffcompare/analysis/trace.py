"""The lecture's evaluation trace (Tables 1-3), read off the AD tape itself.

``diffcompare.ad.record`` runs the function once in reverse mode; its tape *is* the trace: one
row per recorded primitive, inputs first. Rows are numbered as the slides number them: for n
inputs, ``v_{1-n} .. v_0``, then ``v_1 .. v_l`` in creation order. The three columns are

* primal: the value each node stored while recording;
* tangent: a forward pass over the same tape, each row's tangent from its parents' through the
  primitive's own rule (``partials`` or ``jvp``): no second interpreter, one source of truth;
* adjoint: a reverse pass over the tape, each adjoint kept as the list of its contributions
  ``v̄_j × ∂v_j/∂v_i``, so a row reads like the slides' ``x̄1 = v̄2 × (1/v_-1) + v̄1 × v_0``.

The row order is the tape's (the order the function computed things), which may differ from a
hand-written table: for ``x1*x2 + x2 - log(x1)`` the tape adds before it takes the logarithm,
where Table 1 takes the logarithm first. Both are topological orders of the same graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.errors import DiffcompareError
# the rows are the slides' text (``v_1 = v_-1 * v_0``, ``v̄_3 × (1/v_-1)``), written in one notation
from diffcompare.render.notation import BAR, DOT, accent, bar, dot, number, op_text, operand, partial_text, times

__all__ = [
    "MODES",
    "Contribution",
    "Row",
    "Trace",
    "evaluation_trace",
    "local_partial",
    "row_names",
    "trace_and_tape",
]

MODES = ("primal", "forward", "reverse", "all")

@dataclass
class Contribution:
    """One term of an adjoint: ``v̄_{consumer} × (∂v_consumer/∂this)``."""

    consumer: str  # name of the row that used this one
    partial_expr: str  # the local partial in the trace's names, e.g. "1/v_-1"
    partial: Any  # its value
    adjoint: Any  # the consumer's adjoint
    term: Any  # the product (for a non-elementwise primitive: the VJP)


@dataclass
class Row:
    """One intermediate variable of the trace."""

    name: str  # "v_-1", "v_0", "v_1" ...
    op: str  # "v_1 = v_-1 * v_0"; for an input "v_-1 = x1"
    inputs: list[str]  # names of the rows it reads
    value: Any
    arithmetic: str  # the op with numbers: "3 * (-4) = -12"
    tangent: Any = None
    tangent_expr: str = ""  # "v̇_1 = v̇_-1 × v_0 + v̇_0 × v_-1"
    tangent_arithmetic: str = ""
    adjoint: Any = None
    adjoint_expr: str = ""  # "v̄_-1 = x̄1 = v̄_3 × (1/v_-1) + v̄_1 × v_0"
    adjoint_arithmetic: str = ""
    contributions: list[Contribution] = field(default_factory=list)
    variable: str | None = None  # the input's variable name, for an input row
    is_output: bool = False


@dataclass
class Trace:
    """The evaluation trace of one function at one point."""

    expression: str
    variables: list[str]
    point: list[Any]
    mode: str
    wrt: str | None  # the input the tangent column is seeded on
    rows: list[Row]
    output: str | None  # name of the output row (None: the output does not depend on the inputs)
    value: Any
    derivative: Any = None  # ẏ (forward) for the seeded input
    gradient: list[Any] | None = None  # x̄ (reverse) for every input
    notes: list[str] = field(default_factory=list)
    output_name: str = "y"  # what the tables call the output: never the name of an input


def output_name(variables: Sequence[str]) -> str:
    """The slides' ``y`` for the output, unless an input is called y: then ``f`` (or ``out``, ``out2`` ...)."""
    taken = set(variables)
    return next(n for n in ("y", "f", "out", *(f"out{i}" for i in range(2, len(taken) + 3))) if n not in taken)


def row_names(n_inputs: int, n_ops: int) -> list[str]:
    """The slides' numbering: inputs v_{1-n}..v_0, then v_1..v_l."""
    return [f"v_{i}" for i in range(1 - n_inputs, 1)] + [f"v_{i}" for i in range(1, n_ops + 1)]


def _zeros_like(x: Any) -> Any:
    return 0.0 if np.ndim(x) == 0 else np.zeros(np.shape(x))


def local_partial(node: Any, k: int) -> Any | None:
    """∂node/∂(argument k) from the primitive's own rule, or None for a non-elementwise one."""
    partials = node.prim.partials
    if partials is None:
        return None
    return partials[k](node.value, *node.args, **(node.kw or {}))


def _forward_tangents(tape: Sequence[Any], seeds: dict[int, Any]) -> dict[int, Any]:
    """Tangents of every tape node: the seeds on inputs, then forward mode's own rule per node."""
    from diffcompare.ad import push_forward

    tangents: dict[int, Any] = {}
    for node in tape:
        if node.prim is None:
            tangents[id(node)] = seeds.get(id(node), _zeros_like(node.value))
            continue
        per_arg: list[Any] = [None] * len(node.args)
        for parent, k in zip(node.parents, node.argnums):
            per_arg[k] = tangents[id(parent)]
        t = push_forward(node.prim, node.value, node.args, per_arg, node.kw or {})
        tangents[id(node)] = _zeros_like(node.value) if t is None else t
    return tangents


def _reverse_adjoints(tape: Sequence[Any], output: Any, seed: Any
                      ) -> tuple[dict[int, Any], dict[int, list[tuple[Any, int, Any, Any]]]]:
    """Adjoints of every tape node and, per node, its contributions (consumer, k, partial, term).

    The walk of ``diffcompare.ad.reverse.backward`` (reverse creation order, the engine's own
    ``pull_back`` rule per edge), but it keeps every term instead of only their sum, and it leaves
    the nodes' own ``grad`` alone.
    """
    from diffcompare.ad import pull_back

    adjoints: dict[int, Any] = {id(output): seed}
    contributions: dict[int, list[tuple[Any, int, Any, Any]]] = {}
    for node in reversed(tape):
        g = adjoints.get(id(node))
        if g is None or node.prim is None:
            continue
        for parent, k in zip(node.parents, node.argnums):
            term, partial = pull_back(node, k, g)
            contributions.setdefault(id(parent), []).append((node, k, partial, term))
            prev = adjoints.get(id(parent))
            adjoints[id(parent)] = term if prev is None else prev + term
    return adjoints, contributions


def evaluation_trace(f: Callable[..., Any], point: Sequence[Any], variables: Sequence[str],
                     expression: str = "", mode: str = "all", wrt: str | None = None) -> Trace:
    """The evaluation trace of ``f`` at ``point`` (see :func:`trace_and_tape`)."""
    return trace_and_tape(f, point, variables, expression, mode, wrt)[0]


def trace_and_tape(f: Callable[..., Any], point: Sequence[Any], variables: Sequence[str],
                   expression: str = "", mode: str = "all", wrt: str | None = None
                   ) -> tuple[Trace, list[Any]]:
    """The evaluation trace of ``f`` at ``point``: primal, tangent (seeded on ``wrt``) and adjoint rows.

    ``mode`` picks the columns: "primal" (Table 1), "forward" (Table 2), "reverse" (Table 3) or
    "all". The tangent seed is 1 on ``wrt`` (default: the first variable; ones for an array input)
    and 0 elsewhere; the adjoint seed is ȳ = 1 (ones for an array output, as Exercise 3 does).
    """
    from diffcompare.ad import record
    from diffcompare.ad import raw

    if mode not in MODES:
        raise DiffcompareError(f"unknown --mode {mode!r}; choose one of {', '.join(MODES)}")
    variables = list(variables)
    if len(point) != len(variables):
        raise DiffcompareError(f"the point has {len(point)} values for {len(variables)} variables")
    if wrt is None:
        wrt = variables[0] if variables else None
    elif wrt not in variables:
        raise DiffcompareError(f"--wrt {wrt!r} is not a variable of the function "
                               f"(variables: {', '.join(variables) or 'none'})")
    if not variables:
        raise DiffcompareError("the function has no variables: there is nothing to trace")

    with np.errstate(all="ignore"):
        rec = record(f, *point)
    tape = rec.tape
    n_in = len(rec.inputs)
    names = row_names(n_in, len(tape) - n_in)
    name_of = {id(node): nm for node, nm in zip(tape, names)}
    out_node = rec.output if id(rec.output) in name_of else None
    value = raw(rec.value)
    _check_finite(tape, names)

    rows: list[Row] = []
    for i, node in enumerate(tape):
        nm = names[i]
        if node.prim is None:
            var = variables[i]
            rows.append(Row(nm, f"{nm} = {var}", [], node.value, number(node.value), variable=var))
            continue
        operands, numbers = _operands(node, name_of)
        expr = op_text(node.prim.name, operands, node.kw)
        arith = op_text(node.prim.name, numbers, node.kw)
        rows.append(Row(nm, f"{nm} = {expr}", [name_of[id(p)] for p in node.parents], node.value,
                        f"{arith} = {number(node.value)}"))
    if out_node is not None:
        rows[names.index(name_of[id(out_node)])].is_output = True

    trace = Trace(expression, variables, list(point), mode, wrt if mode in ("forward", "all") else None,
                  rows, name_of.get(id(out_node)) if out_node is not None else None, value,
                  output_name=output_name(variables))
    if out_node is None:
        trace.notes.append("the output does not depend on the inputs: every derivative is 0")
    if out_node is not None and out_node is not tape[-1]:
        trace.notes.append(f"the output is {name_of[id(out_node)]}, not the last row: later rows do not "
                           "reach y (adjoint 0)")
    if mode in ("forward", "all"):
        _fill_tangents(trace, tape, names, name_of, variables.index(wrt), out_node)
    if mode in ("reverse", "all"):
        _fill_adjoints(trace, tape, names, name_of, out_node, value)
    return trace, list(tape)


def _check_finite(tape: Sequence[Any], names: Sequence[str]) -> None:
    from diffcompare.errors import DomainError

    for node, nm in zip(tape, names):
        v = np.asarray(node.value)
        if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
            what = op_text(node.prim.name, ["·"] * len(node.args)) if node.prim else "an input"
            raise DomainError(f"{nm} = {what} is not finite at this point ({number(node.value)}): "
                              "outside the function's domain")


def _operands(node: Any, name_of: dict[int, str]) -> tuple[list[str], list[str]]:
    """Each argument as a row name (traced) or an inline constant, and as a number."""
    traced = dict(zip(node.argnums, node.parents))
    operands, numbers = [], []
    for k, a in enumerate(node.args):
        if k in traced:
            operands.append(name_of[id(traced[k])])
        else:
            operands.append(operand(a))
        numbers.append(operand(a))
    return operands, numbers


def _fill_tangents(trace: Trace, tape: Sequence[Any], names: Sequence[str], name_of: dict[int, str],
                   wrt_index: int, out_node: Any) -> None:
    inputs = [n for n in tape if n.prim is None]
    seed_node = inputs[wrt_index]
    seed = 1.0 if np.ndim(seed_node.value) == 0 else np.ones(np.shape(seed_node.value))
    tangents = _forward_tangents(tape, {id(seed_node): seed})
    if np.ndim(seed_node.value):
        trace.notes.append(f"{trace.wrt} is an array: the tangent is seeded with ones (a directional derivative)")
    for row, node in zip(trace.rows, tape):
        t = tangents[id(node)]
        row.tangent = t
        if node.prim is None:
            row.tangent_expr = f"{dot(row.name)} = {accent(row.variable, DOT)}"
            row.tangent_arithmetic = number(t)
            continue
        operands, _ = _operands(node, name_of)
        terms, arith = [], []
        traced = dict(zip(node.argnums, node.parents))
        for k, parent in traced.items():
            pname = name_of[id(parent)]
            if node.prim.partials is None:
                terms.append(f"jvp_{node.prim.name}({dot(pname)})")
                continue
            ptxt = partial_text(node.prim.name, k, operands, row.name)
            pval = node.prim.partials[k](node.value, *node.args, **(node.kw or {}))
            terms.append(times(dot(pname), ptxt))
            arith.append(times(operand(tangents[id(parent)]), operand(pval)))
        row.tangent_expr = f"{dot(row.name)} = " + " + ".join(terms)
        row.tangent_arithmetic = (" + ".join(arith) + " = " if arith else "") + number(t)
    if out_node is not None:
        trace.derivative = tangents[id(out_node)]
    else:
        trace.derivative = _zeros_like(trace.value)


def _fill_adjoints(trace: Trace, tape: Sequence[Any], names: Sequence[str], name_of: dict[int, str],
                   out_node: Any, value: Any) -> None:
    if out_node is None:
        for row, node in zip(trace.rows, tape):
            row.adjoint = _zeros_like(node.value)
        trace.gradient = [_zeros_like(n.value) for n in tape if n.prim is None]
        return
    seed = 1.0 if np.ndim(value) == 0 else np.ones(np.shape(value))
    if np.ndim(value):
        trace.notes.append(f"the output is an array: the adjoint is seeded with {accent(trace.output_name, BAR)} = "
                           "ones (a VJP, as in Exercise 3)")
    adjoints, contributions = _reverse_adjoints(tape, out_node, seed)
    for row, node in zip(trace.rows, tape):
        g = adjoints.get(id(node))
        row.adjoint = _zeros_like(node.value) if g is None else g
        lhs = bar(row.name) + (f" = {accent(row.variable, BAR)}" if row.variable else "")
        if node is out_node:
            row.adjoint_expr = f"{lhs} = {accent(trace.output_name, BAR)}"
            row.adjoint_arithmetic = number(seed)
            continue
        terms, arith = [], []
        for consumer, k, partial, term in contributions.get(id(node), []):
            cname = name_of[id(consumer)]
            operands, _ = _operands(consumer, name_of)
            if partial is None:
                ptxt = f"∂{cname}/∂{row.name}"
                terms.append(f"vjp_{consumer.prim.name}({bar(cname)})")
                arith.append(operand(term))
            else:
                ptxt = partial_text(consumer.prim.name, k, operands, cname)
                terms.append(times(bar(cname), ptxt))
                arith.append(times(operand(adjoints[id(consumer)]), operand(partial)))
            row.contributions.append(Contribution(cname, ptxt, partial, adjoints[id(consumer)], term))
        if not terms:
            row.adjoint_expr = f"{lhs} = 0"
            row.adjoint_arithmetic = "0 (does not reach y)"
            continue
        row.adjoint_expr = f"{lhs} = " + " + ".join(terms)
        row.adjoint_arithmetic = " + ".join(arith) + " = " + number(row.adjoint)
    trace.gradient = [adjoints.get(id(n), _zeros_like(n.value)) for n in tape if n.prim is None]
