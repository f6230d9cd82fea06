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

__all__ = [
    "MODES",
    "Contribution",
    "Operand",
    "Row",
    "TangentTerm",
    "Trace",
    "evaluation_trace",
    "local_partial",
    "row_names",
    "trace_and_tape",
]

MODES = ("primal", "forward", "reverse", "all")

# The trace carries data only (values, primitive names, which row each argument is); the slides' text
# (``v_1 = v_-1 * v_0``, ``v̄_3 × (1/v_-1)``) is written from it by diffcompare.render.trace.

@dataclass
class Operand:
    """One argument of a row's primitive: the row it reads, or (``row`` None) a constant written inline."""

    row: str | None
    value: Any


@dataclass
class TangentTerm:
    """One term of a tangent: ``v̇_{parent} × (∂this/∂argument k)``."""

    parent: str  # name of the row read as argument k
    k: int
    partial: Any  # ∂this/∂argument k; None for a non-elementwise primitive (its JVP is applied instead)
    tangent: Any  # the parent's tangent


@dataclass
class Contribution:
    """One term of an adjoint: ``v̄_{consumer} × (∂v_consumer/∂this)``."""

    consumer: str  # name of the row that used this one
    k: int  # which argument of the consumer this row is
    partial: Any  # its value (None for a non-elementwise primitive: the term is its VJP)
    adjoint: Any  # the consumer's adjoint
    term: Any  # the product (for a non-elementwise primitive: the VJP)


@dataclass
class Row:
    """One intermediate variable of the trace."""

    name: str  # "v_-1", "v_0", "v_1" ...
    prim: str | None  # the primitive's name ("mul", "log"); None for an input
    operands: list[Operand]  # its arguments, in order
    kw: dict[str, Any]  # its keyword arguments (axis=...)
    inputs: list[str]  # names of the rows it reads
    value: Any
    tangent: Any = None
    tangent_terms: list[TangentTerm] = field(default_factory=list)
    adjoint: Any = None
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


def _adjoint_of(name: str) -> str:
    """``y`` -> ``ȳ`` (a macron over the first letter) for this one note; the tables' text is render.trace's."""
    return name[0] + "\u0304" + name[1:]


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
            rows.append(Row(nm, None, [], {}, [], node.value, variable=variables[i]))
            continue
        rows.append(Row(nm, node.prim.name, _operands(node, name_of), dict(node.kw or {}),
                        [name_of[id(p)] for p in node.parents], node.value))
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
    from diffcompare.errors import NonFiniteRow

    for node, nm in zip(tape, names):
        v = np.asarray(node.value)
        if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
            raise NonFiniteRow(nm, node.prim.name if node.prim else None, len(node.args), node.value)


def _operands(node: Any, name_of: dict[int, str]) -> list[Operand]:
    """Each argument as the row it reads (traced) or an inline constant, with its value."""
    traced = dict(zip(node.argnums, node.parents))
    return [Operand(name_of[id(traced[k])] if k in traced else None, a) for k, a in enumerate(node.args)]


def _fill_tangents(trace: Trace, tape: Sequence[Any], names: Sequence[str], name_of: dict[int, str],
                   wrt_index: int, out_node: Any) -> None:
    inputs = [n for n in tape if n.prim is None]
    seed_node = inputs[wrt_index]
    seed = 1.0 if np.ndim(seed_node.value) == 0 else np.ones(np.shape(seed_node.value))
    tangents = _forward_tangents(tape, {id(seed_node): seed})
    if np.ndim(seed_node.value):
        trace.notes.append(f"{trace.wrt} is an array: the tangent is seeded with ones (a directional derivative)")
    for row, node in zip(trace.rows, tape):
        row.tangent = tangents[id(node)]
        if node.prim is None:
            continue
        for k, parent in dict(zip(node.argnums, node.parents)).items():
            row.tangent_terms.append(TangentTerm(name_of[id(parent)], k, local_partial(node, k),
                                                 tangents[id(parent)]))
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
        trace.notes.append(f"the output is an array: the adjoint is seeded with {_adjoint_of(trace.output_name)} = "
                           "ones (a VJP, as in Exercise 3)")
    adjoints, contributions = _reverse_adjoints(tape, out_node, seed)
    for row, node in zip(trace.rows, tape):
        g = adjoints.get(id(node))
        row.adjoint = _zeros_like(node.value) if g is None else g
        if node is out_node:
            continue
        for consumer, k, partial, term in contributions.get(id(node), []):
            row.contributions.append(Contribution(name_of[id(consumer)], k, partial, adjoints[id(consumer)], term))
    trace.gradient = [adjoints.get(id(n), _zeros_like(n.value)) for n in tape if n.prim is None]
