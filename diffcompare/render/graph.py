"""The computational graph: a rich tree (from the output back to the inputs) and Graphviz DOT."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.graph import Graph
from diffcompare.render.notation import number


def _node_text(g: Graph, name: str) -> str:
    n = next(n for n in g.nodes if n.name == name)
    text = f"[bold]{n.name}[/bold] = {n.op}" if not n.is_input else f"[bold]{n.name}[/bold] = {n.op} (input)"
    if not n.is_input and n.label != n.op:
        text += f"  [dim]({n.label})[/dim]"
    if n.value is not None:
        text += f"  = {number(n.value)}"
        if n.tangent is not None:
            text += f"  [cyan]d/d{g.wrt}: {number(n.tangent)}[/cyan]"
        if n.adjoint is not None:
            wrt_node = n.op if n.is_input else n.name  # an input by its own name: ∂f/∂y
            text += f"  [magenta]∂{g.output_name}/∂{wrt_node}: {number(n.adjoint)}[/magenta]"
    return text


def tree(g: Graph) -> Any:
    """The dependency tree rooted at the output; each branch is labelled with its edge's partial.

    A node reached a second time (shared sub-expression: x in log(x^2)·sin x + 1/x) is shown
    once in full and then as a reference, so the tree stays the graph's size.
    """
    from rich.tree import Tree

    point = "" if g.point is None else " at " + ", ".join(
        f"{v} = {number(p)}" for v, p in zip(g.variables, g.point))
    y = g.output_name
    root_label = f"{y} = {g.expression}{point}"
    if g.value is not None:
        root_label += f"  = {number(g.value)}"
        if g.derivative is not None:
            root_label += f";  d{y}/d{g.wrt} = {number(g.derivative, 10)}"
    root = Tree(root_label)
    if g.output is None:
        root.add("[dim]the output does not depend on the inputs[/dim]")
        return root
    into: dict[str, list[Any]] = {}
    for e in g.edges:
        into.setdefault(e.target, []).append(e)
    shown: set[str] = set()
    stack: list[tuple[Any, str, Any]] = [(root, g.output, None)]
    while stack:  # iterative: a long chain must not hit the recursion limit
        parent, name, edge = stack.pop()
        label = _node_text(g, name)
        if edge is not None:
            part = f"∂{edge.target}/∂{name} = {_edge_text(edge)}"
            label = f"[yellow]{part}[/yellow]  ← " + label
        if name in shown and into.get(name):
            parent.add(label + "  [dim](inputs shown above)[/dim]")
            continue
        shown.add(name)
        branch = parent.add(label)
        for e in reversed(into.get(name, [])):
            stack.append((branch, e.source, e))
    return root


def _edge_text(e: Any) -> str:
    """``cos(v_0) = -0.416147``; a constant partial once (``1``, not ``1 = 1``)."""
    if e.partial is None or e.partial_expr == number(e.partial):
        return e.partial_expr
    return f"{e.partial_expr} = {number(e.partial)}"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(g: Graph) -> str:
    """Graphviz DOT text (``dot -Tsvg``): data flows left to right, edges carry ∂target/∂source."""
    lines = ["digraph computational_graph {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];',
             f'  label="{_dot_escape(g.output_name + " = " + g.expression)}"; labelloc=t;']
    for n in g.nodes:
        parts = [n.name, n.op if n.is_input else n.label]
        if n.value is not None:
            parts.append(f"= {number(n.value)}")
            if n.adjoint is not None:
                parts.append(f"∂{g.output_name}/∂{n.name} = {number(n.adjoint)}")
        attrs = [f'label="{_dot_escape(chr(10).join(parts))}"'.replace("\n", "\\n")]
        if n.is_input:
            attrs.append("shape=ellipse")
        if n.is_output:
            attrs.append("peripheries=2")
        lines.append(f'  "{n.name}" [{", ".join(attrs)}];')
    for e in g.edges:
        lines.append(f'  "{e.source}" -> "{e.target}" [label="{_dot_escape(_edge_text(e))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(g: Graph) -> dict[str, Any]:
    from diffcompare.render import jsonable

    return jsonable(g)
