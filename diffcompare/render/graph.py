"""The computational graph: a rich tree (from the output back to the inputs) and Graphviz DOT.

The analysis hands over data (each node's primitive, which node each argument reads); the text is written
here, powers in the parser's syntax (``x**2``, the rules table's own text) so a label copied back parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diffcompare.analysis.graph import Edge, Graph, GraphNode
from diffcompare.render.notation import infix, number, op_text, operand, partial_text


def operand_names(n: GraphNode) -> list[str]:
    """A node's arguments as written: the node read, or an inline constant (``(-3)``)."""
    return [o.row if o.row is not None else operand(o.value) for o in n.operands]


def node_texts(g: Graph) -> dict[str, tuple[str, str]]:
    """Node name -> (what it computes from its operand nodes ``v_-1 * v_0``, the same in the function's
    variables ``x1 * x2``); an input is its variable's name twice."""
    labels: dict[str, str] = {}
    out: dict[str, tuple[str, str]] = {}
    for n in g.nodes:
        if n.prim is None:
            labels[n.name] = n.variable or n.name
            out[n.name] = (labels[n.name], labels[n.name])
            continue
        names = operand_names(n)
        labels[n.name] = _label(n, names, labels)
        out[n.name] = (op_text(n.prim, names, n.kw), labels[n.name])
    return out


def partial_expr(g: Graph, e: Edge) -> str:
    """∂target/∂source in the trace's names: ``2 v_0``, ``cos(v_0)``."""
    n = next(n for n in g.nodes if n.name == e.target)
    return partial_text(n.prim or "", e.k, operand_names(n), n.name)


def _label(n: GraphNode, operands: Sequence[str], labels: dict[str, str]) -> str:
    """What a node computes in the function's variables: ``ln(x**2) * sin(x)``."""
    wrap = infix(n.prim or "")
    parts = []
    for o in operands:
        lab = labels.get(o, o)
        parts.append(f"({lab})" if wrap and not _atomic(lab) else lab)
    return op_text(n.prim or "", parts, n.kw)


def _atomic(text: str) -> bool:
    """A name, a number (a negative one comes parenthesized), or one call ``f(...)`` enclosing all the rest."""
    if not any(c in text for c in " +-*/^@|"):
        return True
    if text.startswith("(-") and text.endswith(")") and not any(c in text[2:-1] for c in " ()+-*/^@|"):
        return True  # "(-3)": already wrapped by operand_names
    head = text.find("(")
    if head <= 0 or not text.endswith(")") or not text[:head].isidentifier():
        return False
    depth = 0
    for c in text[head:-1]:
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return False
    return True


def _node_text(g: Graph, name: str, texts: dict[str, tuple[str, str]]) -> str:
    n = next(n for n in g.nodes if n.name == name)
    op, label = texts[name]
    text = f"[bold]{n.name}[/bold] = {op}" if not n.is_input else f"[bold]{n.name}[/bold] = {op} (input)"
    if not n.is_input and label != op:
        text += f"  [dim]({label})[/dim]"
    if n.value is not None:
        text += f"  = {number(n.value)}"
        if n.tangent is not None:
            text += f"  [cyan]d/d{g.wrt}: {number(n.tangent)}[/cyan]"
        if n.adjoint is not None:
            wrt_node = op if n.is_input else n.name  # an input by its own name: ∂f/∂y
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
    texts = node_texts(g)
    stack: list[tuple[Any, str, Any]] = [(root, g.output, None)]
    while stack:  # iterative: a long chain must not hit the recursion limit
        parent, name, edge = stack.pop()
        label = _node_text(g, name, texts)
        if edge is not None:
            part = f"∂{edge.target}/∂{name} = {_edge_text(g, edge)}"
            label = f"[yellow]{part}[/yellow]  ← " + label
        if name in shown and into.get(name):
            parent.add(label + "  [dim](inputs shown above)[/dim]")
            continue
        shown.add(name)
        branch = parent.add(label)
        for e in reversed(into.get(name, [])):
            stack.append((branch, e.source, e))
    return root


def _edge_text(g: Graph, e: Edge) -> str:
    """``cos(v_0) = -0.416147``; a constant partial once (``1``, not ``1 = 1``)."""
    expr = partial_expr(g, e)
    if e.partial is None or expr == number(e.partial):
        return expr
    return f"{expr} = {number(e.partial)}"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(g: Graph) -> str:
    """Graphviz DOT text (``dot -Tsvg``): data flows left to right, edges carry ∂target/∂source."""
    lines = ["digraph computational_graph {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];',
             f'  label="{_dot_escape(g.output_name + " = " + g.expression)}"; labelloc=t;']
    texts = node_texts(g)
    for n in g.nodes:
        parts = [n.name, texts[n.name][1]]
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
        lines.append(f'  "{e.source}" -> "{e.target}" [label="{_dot_escape(_edge_text(g, e))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(g: Graph) -> dict[str, Any]:
    """The graph's data with each node's ``op`` and ``label`` and each edge's ``partial_expr`` written out."""
    from diffcompare.render import jsonable

    out = jsonable(g)
    texts = node_texts(g)
    nodes = []
    for n, d in zip(g.nodes, out["nodes"]):
        op, label = texts[n.name]
        nodes.append({"name": d["name"], "op": op, "label": label, "value": d["value"], "tangent": d["tangent"],
                      "adjoint": d["adjoint"], "is_input": d["is_input"], "is_output": d["is_output"],
                      "prim": d["prim"], "operands": d["operands"], "kw": d["kw"], "variable": d["variable"]})
    out["nodes"] = nodes
    out["edges"] = [{"source": d["source"], "target": d["target"], "partial_expr": partial_expr(g, e),
                     "partial": d["partial"], "k": d["k"]} for e, d in zip(g.edges, out["edges"])]
    return out
