"""`graph`: the dependency graph of the lecture's exercise, log(x^2)·sin x + 1/x, from the tape."""

from __future__ import annotations

import json
import math

import pytest

from diffcompare.analysis.graph import computational_graph
from diffcompare.cli import main
from diffcompare.parse import compile_expression
from diffcompare.render.graph import dot, node_texts, partial_expr, tree

EXERCISE = "log(x**2)*sin(x) + 1/x"


def _graph(point=(2.0,)):
    e = compile_expression(EXERCISE)
    return computational_graph(e.function, point, e.variables, EXERCISE)


def test_nodes_are_the_exercise_steps():
    g = _graph()
    # the slides' steps: x, x^2, log x^2, sin x, product, 1/x, f
    assert [label for _, label in node_texts(g).values()] == ["x", "x**2", "ln(x**2)", "sin(x)", "ln(x**2) * sin(x)",
                                                              "1 / x", "(ln(x**2) * sin(x)) + (1 / x)"]
    assert g.output == "v_6" and g.nodes[-1].is_output and g.nodes[0].is_input


def test_edges_carry_the_slides_local_partials():
    g = _graph()
    edges = {(e.source, e.target): e for e in g.edges}
    assert len(edges) == 8  # x feeds x^2, sin x and 1/x; each binary node has two inputs
    assert partial_expr(g, edges[("v_0", "v_1")]) == "2 v_0" and edges[("v_0", "v_1")].partial == 4.0  # 2x
    assert edges[("v_1", "v_2")].partial == 0.25  # 1/x^2 at x = 2
    assert edges[("v_0", "v_3")].partial == pytest.approx(math.cos(2.0), rel=1e-15)  # one libm call
    assert partial_expr(g, edges[("v_2", "v_4")]) == "v_3"  # ∂product/∂log x^2 = sin x
    assert edges[("v_0", "v_5")].partial == -0.25  # -1/x^2


def test_sum_over_paths_of_edge_products_is_the_derivative():
    """Backward differentiation on the graph: the three paths of the slides add up to f'(x)."""
    g = _graph()
    e = {(a.source, a.target): a.partial for a in g.edges}
    paths = (e["v_5", "v_6"] * e["v_0", "v_5"]
             + e["v_4", "v_6"] * e["v_2", "v_4"] * e["v_1", "v_2"] * e["v_0", "v_1"]
             + e["v_4", "v_6"] * e["v_3", "v_4"] * e["v_0", "v_3"])
    x = 2.0
    exact = math.log(x * x) * math.cos(x) + 2 * math.sin(x) / x - 1 / x**2  # the slides' final result
    # a handful of float64 operations in different orders: agreement to a few ulps of the terms (~1)
    assert paths == pytest.approx(exact, abs=1e-15)
    assert g.derivative == pytest.approx(exact, abs=1e-15)
    assert g.gradient[0] == pytest.approx(exact, abs=1e-15)


def test_without_a_point_only_the_structure():
    e = compile_expression("log(x - 1)")  # undefined at the first candidate points: a defined one is found
    g = computational_graph(e.function, None, e.variables)
    assert g.point is None and all(n.value is None for n in g.nodes) and all(ed.partial is None for ed in g.edges)
    assert partial_expr(g, g.edges[-1]) == "1/v_1"


def test_dot_is_valid_graphviz_text():
    text = dot(_graph())
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert text.count("->") == 8 and '"v_0" -> "v_1" [label="2 v_0 = 4"]' in text
    assert text.count("{") == text.count("}")


def test_tree_shows_shared_inputs_once_expanded():
    from rich.console import Console

    c = Console(width=200, record=True)
    c.print(tree(_graph()))
    out = c.export_text()
    assert out.count("v_0 = x (input)") == 3  # x is used by x^2, sin x and 1/x


def test_graph_cli_writes_dot_and_json(tmp_path, capsys):
    target = tmp_path / "g.dot"
    assert main(["graph", "dependency_graph", "--dot", str(target)]) == 0
    assert target.read_text().startswith("digraph")
    capsys.readouterr()
    assert main(["graph", EXERCISE, "--at", "x=2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["nodes"]) == 7 and len(data["edges"]) == 8


@pytest.mark.parametrize("args", [
    ["graph", EXERCISE, "--dot", "/no/such/folder/g.dot"],
    ["graph", "log(x)", "--at", "x=-2"],
    ["graph", "log(", "--at", "x=1"],
])
def test_graph_bad_input_exit_code_2(args, capsys):
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_every_label_and_operation_parses_back():
    """`graph` printed ln(x ^ 2) and v_0 ^ 2: the parser refuses '^', so a label copied back failed."""
    from diffcompare.parse import compile_expression

    g = _graph()
    for op, label in node_texts(g).values():
        assert "^" not in label and "^" not in op, (label, op)
        compile_expression(label)
