"""Crashes in the display commands (issue 11 item 6): negative constant exponents, ranges near the float limit."""

from __future__ import annotations

import numpy as np
import pytest

from diffcompare.analysis.graph import computational_graph
from diffcompare.analysis.sampling import curves, field
from diffcompare.cli import main
from diffcompare.parse import compile_expression
from diffcompare.render.graph import node_texts, partial_expr
from diffcompare.render.termplot import line_plot


@pytest.mark.parametrize("command", ["trace", "graph"])
@pytest.mark.parametrize("expr", ["x**-3", "x**(-2.5) + x", "(2*x)**-1"])
def test_negative_constant_exponents_are_shown_not_crashed_on(command, expr, capsys):
    assert main([command, expr, "--at", "x=2"]) == 0
    assert main([command, expr]) in (0, 2)  # graph draws the structure; trace needs a point (2: told so)
    assert "internal error" not in capsys.readouterr().err


def test_a_negative_exponent_edge_reads_as_the_power_rule():
    e = compile_expression("x**-3")
    g = computational_graph(e.function, (2.0,), e.variables, "x**-3")
    (edge,) = g.edges
    assert partial_expr(g, edge) == "-3 v_0^(-4)" and edge.partial == -3 * 2.0**-4  # exact in binary
    assert node_texts(g)[g.nodes[-1].name][1] == "x**(-3)"  # one pair of parentheses, not "((-3))"


@pytest.mark.parametrize("lo, hi", [(-1e308, 1e308), (-1.7976931348623157e308, 1.7976931348623157e308)])
def test_ranges_wider_than_the_largest_float_are_sampled_without_nan(lo, hi):
    c = curves(np.sin, lo, hi, points=5)
    assert np.all(np.isfinite(c.xs)) and c.xs[0] == lo and c.xs[-1] == hi and c.xs[2] == 0.0
    assert np.all(np.isfinite(c.series[0])) and np.all(np.isfinite(c.series[1]))
    f = field(lambda x, y: np.sin(x) + np.cos(y), (lo, hi), (lo, hi), points=3)
    assert np.all(np.isfinite(f.xs)) and np.all(np.isfinite(f.values))


def test_cli_plot_on_the_widest_range(capsys):
    assert main(["plot", "sin(x)", "--range=-1e308:1e308"]) == 0
    out = capsys.readouterr().out
    assert "-1e+308" in out and "1e+308" in out


def test_terminal_plot_axis_labels_use_their_own_axis():
    """An x label is 0 only when it is small beside the x range (it used to be judged against y's)."""
    out = line_plot({"f": ([-6.0, 0.0, 6.0], [-1e5, 0.0, 1e5])}, width=30)
    assert out.splitlines()[-2].split() == ["-6", "6"]
    wide = line_plot({"f": ([-1e308, 1e308], [-1e308, 1e308])}, width=30)
    assert "-1e+308" in wide and "0" in wide.splitlines()[10]  # the middle tick: (y0 + y1) / 2 without overflow


@pytest.mark.parametrize("expr, text, value", [("tanh(x)", "sech(v_0)^2", 1.6993417021166355e-17),
                                               ("expm1(x)", "exp(v_0)", 4.851651954097903e+08)])
def test_a_partial_reads_as_the_rule_computes_it(expr, text, value):
    """The formula beside a partial is the rule's own form (1 - v^2 would print 0 beside 1.7e-17 at 20)."""
    e = compile_expression(expr)
    g = computational_graph(e.function, (20.0,), e.variables, expr)
    (edge,) = g.edges
    assert partial_expr(g, edge) == text and edge.partial == pytest.approx(value, rel=1e-15)
