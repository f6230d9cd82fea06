"""The computational (dependency) graph of a function, read off the AD tape.

Nodes are the trace's rows (inputs ``v_{1-n}..v_0``, operations ``v_1..v_l``); an edge
``v_j -> v_i`` means row i reads row j, labelled with the local partial ∂v_i/∂v_j: as a formula
always, and as a number at the point. This is the lecture's exercise on
``f(x) = log(x^2)·sin(x) + 1/x``: forward differentiation multiplies the edge labels along paths
from x (the tangent column), backward differentiation from f (the adjoint column); the sum
over all paths of the products of the edge labels is df/dx either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.analysis.trace import Operand, local_partial, trace_and_tape

__all__ = ["Edge", "Graph", "GraphNode", "computational_graph", "structure_point"]


# Data only: what each node computes is written (``v_-1 * v_0``, ``x1 * x2``) by diffcompare.render.graph.

@dataclass
class GraphNode:
    """One node: a row of the trace."""

    name: str  # "v_1"
    prim: str | None  # the primitive's name ("mul"); None for an input
    operands: list[Operand]  # its arguments: the node each one reads, or an inline constant
    kw: dict[str, Any]  # the primitive's keyword arguments
    variable: str | None = None  # an input's variable name
    value: Any = None  # None when the graph is drawn without a point
    tangent: Any = None  # d(node)/d(wrt): forward differentiation
    adjoint: Any = None  # d(output)/d(node): backward differentiation
    is_input: bool = False
    is_output: bool = False


@dataclass
class Edge:
    """``source -> target``: target reads source; ``partial`` is ∂target/∂source."""

    source: str
    target: str
    k: int  # which argument of target source is
    partial: Any = None


@dataclass
class Graph:
    """The dependency graph from the inputs to the output."""

    expression: str
    variables: list[str]
    point: list[Any] | None  # None: structure only
    wrt: str | None
    nodes: list[GraphNode]
    edges: list[Edge]
    output: str | None
    value: Any = None
    derivative: Any = None  # dy/d(wrt) by forward differentiation
    gradient: list[Any] | None = None  # by backward differentiation
    notes: list[str] = field(default_factory=list)
    output_name: str = "y"  # what the tree calls the output: never the name of an input


# points tried, in order, to record the structure when no point is given: away from the usual
# singular points (0, ±1, integers) so that log, 1/x, sqrt, arcsin ... all have a value there
_STRUCTURE_CANDIDATES = (0.37, 0.71, 1.37, 2.29, -0.43)


def structure_point(f: Callable[..., Any], n: int) -> tuple[float, ...]:
    """A point where ``f`` is defined, to record its graph's structure when no point is given."""
    for c in _STRUCTURE_CANDIDATES:
        point = tuple(c * (1 + 0.13 * i) for i in range(n))
        try:
            with np.errstate(all="ignore"):
                v = np.asarray(f(*point), dtype=float)
        except (ArithmeticError, ValueError, TypeError):
            continue
        if np.all(np.isfinite(v)):
            return point
    from diffcompare.errors import DomainError

    raise DomainError("could not find a point where the function is defined; give one with --at")


def computational_graph(f: Callable[..., Any], point: Sequence[Any] | None, variables: Sequence[str],
                        expression: str = "", wrt: str | None = None) -> Graph:
    """The graph of ``f``; with a point, each node's value, tangent and adjoint and each edge's partial.

    Without a point the structure is recorded at :func:`structure_point` and every number is
    dropped: for a function without data-dependent branches the structure is the same everywhere.
    """
    at = point if point is not None else structure_point(f, len(variables))
    trace, tape = trace_and_tape(f, at, variables, expression, mode="all", wrt=wrt)
    nodes, edges = [], []
    name_of = {id(node): row.name for node, row in zip(tape, trace.rows)}
    keep = point is not None
    for node, row in zip(tape, trace.rows):
        for parent, k in zip(node.parents, node.argnums):
            edges.append(Edge(name_of[id(parent)], row.name, k, local_partial(node, k) if keep else None))
        operands = [Operand(o.row, o.value if keep or o.row is None else None) for o in row.operands]
        nodes.append(GraphNode(row.name, row.prim, operands, row.kw, row.variable, row.value if keep else None,
                               row.tangent if keep else None, row.adjoint if keep else None,
                               node.prim is None, row.is_output))
    graph = Graph(expression, list(variables), list(point) if point is not None else None, trace.wrt,
                  nodes, edges, trace.output, trace.value if point is not None else None,
                  trace.derivative if point is not None else None,
                  trace.gradient if point is not None else None, list(trace.notes), trace.output_name)
    if point is None:
        graph.notes.append("no point given: structure only (give --at for values and partials)")
    return graph
