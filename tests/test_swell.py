"""Expression swell on the logistic map: the textbook rules on a DAG, measured and checked."""

from __future__ import annotations

import json
import time
from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.analysis.swell as swell_mod
from diffcompare.analysis.swell import logistic_dag, swell, tape_operations
from diffcompare.analysis.textbook_dag import Dag
from diffcompare.cli import main

X = sympy.Symbol("x")


def _unfolded_size(dag: Dag, node: int) -> int:
    """Nodes of the tree, counted by really unfolding it (only for small n)."""
    return 1 + sum(_unfolded_size(dag, a) for a in dag.args(node))


def _exact_derivative(n: int, x: Fraction) -> Fraction:
    """d/dx l_n by the chain rule on the recurrence: l' <- 4 l' (1 - 2 l)."""
    value, slope = x, Fraction(1)
    for _ in range(n - 1):
        value, slope = 4 * value * (1 - value), 4 * slope * (1 - 2 * value)
    return slope


def test_the_textbook_derivative_of_l2_is_the_slides_4_1_minus_x_minus_4x() -> None:
    dag, ls = logistic_dag(2)
    assert dag.to_text(ls[1]) == "4x(1 - x)"
    assert dag.to_text(dag.derivative(ls[1])) == "4(1 - x) - 4x"


def test_the_lecture_table_rows_1_to_3_equal_the_slides() -> None:
    result = swell(3, timeout=30)
    assert [f.n for f in result.formulas] == [1, 2, 3]
    for f in result.formulas:
        assert (f.expression_matches, f.derivative_matches, f.simplified_matches) == (True, True, True), f
        assert f.note == ""
    assert result.formulas[2].simplified == "16(1 - 10x + 24x^2 - 16x^3)"


def test_the_slides_row_4_derivative_misses_its_last_term() -> None:
    dag, ls = logistic_dag(4)
    row = swell_mod.formula_row(dag, ls, 4)
    assert row.expression_matches and row.simplified_matches
    assert not row.derivative_matches  # the printed row stops at a trailing "-"
    slide_d = swell_mod.slide_formulas(X)[4][1]
    ours = dag.to_sympy(dag.derivative(ls[3]), X, evaluate=True)
    missing = -256 * X * (1 - X) * (1 - 2 * X) * (1 - 8 * X + 8 * X**2) ** 2
    assert sympy.expand(slide_d + missing - ours) == 0
    assert "cut off" in row.note


@given(st.integers(1, 9))
@settings(max_examples=9, deadline=None)
def test_tree_sizes_by_memoisation_equal_the_unfolded_tree(n: int) -> None:
    dag, ls = logistic_dag(n)
    d = dag.derivative(ls[-1])
    assert dag.tree_size(ls[-1]) == _unfolded_size(dag, ls[-1])
    assert dag.tree_size(d) == _unfolded_size(dag, d)


@given(n=st.integers(1, 14), num=st.integers(-50, 50), den=st.integers(1, 50))
@settings(max_examples=40, deadline=None)
def test_the_textbook_derivative_is_exactly_right(n: int, num: int, den: int) -> None:
    # exact rational arithmetic: equality, no tolerance needed
    x = Fraction(num, den)
    dag, ls = logistic_dag(n)
    assert dag.evaluate(ls[-1], x) == swell_mod.logistic(x, n)
    assert dag.evaluate(dag.derivative(ls[-1]), x) == _exact_derivative(n, x)


def test_the_dag_and_the_tape_grow_linearly_while_the_trees_swell() -> None:
    n = 40
    dag, ls = logistic_dag(n)
    dags = [dag.dag_size(dag.derivative(lk)) for lk in ls]
    trees = [dag.tree_size(dag.derivative(lk)) for lk in ls]
    assert {b - a for a, b in zip(dags[2:], dags[3:])} == {7}  # a constant number of nodes per step
    assert [dag.dag_size(lk) for lk in ls] == [1] + [3 * k for k in range(2, n + 1)]
    assert [tape_operations(k) for k in (1, 2, 10, 40)] == [0, 3, 27, 117]  # 3 ops (4*l, 1-l, *) per step
    assert all(b > 2 * a for a, b in zip(trees[1:], trees[2:]))  # more than doubles every step
    assert isinstance(trees[-1], int) and trees[-1] > 10**14  # 1.3e14 nodes: exact ints, never unfolded


def test_sympy_count_ops_of_the_textbook_tree_is_our_memoised_operation_count() -> None:
    dag, ls = logistic_dag(6)
    for lk in ls:
        d = dag.derivative(lk)
        assert sympy.count_ops(dag.to_sympy(d, X)) == dag.tree_size(d) - dag.tree_leaves(d)


def test_textbook_and_sympy_derivatives_are_the_same_function() -> None:
    result = swell(5, timeout=30)
    dag, ls = logistic_dag(5)
    for k, lk in enumerate(ls, start=1):
        ours = dag.to_sympy(dag.derivative(lk), X, evaluate=True)
        assert sympy.expand(ours - sympy.diff(swell_mod.logistic_sympy(k), X)) == 0
    r = result.rows[-1]
    assert r.derivative_count_ops == r.derivative_tree_ops
    assert r.timed_out == [] and r.skipped == []
    assert sympy.expand(sympy.sympify(r.simplified) - sympy.diff(swell_mod.logistic_sympy(5), X)) == 0


def _slow(*args, **kw):
    time.sleep(60)


def test_a_cell_past_its_budget_says_timeout_and_the_table_goes_on(monkeypatch) -> None:
    monkeypatch.setattr(swell_mod, "_expand", _slow)
    start = time.perf_counter()
    result = swell(3, timeout=0.5, formulas=False)
    assert time.perf_counter() - start < 30  # one 0.5 s timeout, not three 60 s sleeps
    first, *later = result.rows
    assert "expand" in first.timed_out and first.simplified is None
    assert all("expand" in r.skipped for r in later)
    assert all(r.cse_size is not None and r.sympy_derivative_count_ops is not None for r in result.rows)


def test_swell_json_has_the_documented_keys(capsys) -> None:
    assert main(["swell", "--n", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = {"n", "expression_tree_size", "derivative_tree_size", "derivative_dag_size", "derivative_count_ops",
            "simplified", "simplified_count_ops", "cse_size", "ad_tape_ops", "seconds",
            "sympy_derivative_count_ops", "sympy_seconds"}
    assert [r["n"] for r in data["rows"]] == [1, 2, 3]
    assert keys <= set(data["rows"][0])
    assert data["rows"][1]["simplified"] == "4 - 8*x"
    assert data["rows"][2]["derivative_tree_size"] == 41 and data["rows"][2]["derivative_dag_size"] == 14
    assert len(data["formulas"]) == 3


def test_swell_table_shows_the_lecture_column_and_the_laue_point(capsys) -> None:
    assert main(["swell", "--n", "3"]) == 0
    out = capsys.readouterr().out
    assert "4(1 - x) - 4x" in out and "Laue" in out


def test_swell_csv_has_one_line_per_n(capsys) -> None:
    assert main(["swell", "--n", "2", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("n,expression_tree_size") and len(lines) == 3


@pytest.mark.parametrize("args", [["--n", "0"], ["--n", "-3"], ["--n", "1001"], ["--timeout", "0"],
                                  ["--timeout", "-1"], ["--plot", "out.txt"]])
def test_bad_input_is_one_line_and_exit_2(capsys, args) -> None:
    assert main(["swell", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_swell_plot_writes_a_file(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "swell.png"
    assert main(["swell", "--n", "3", "--plot", str(path)]) == 0
    assert path.stat().st_size > 1000  # a real PNG, not an empty file


def test_swell_plot_marks_where_a_curve_stopped_at_its_timeout() -> None:
    pytest.importorskip("matplotlib")
    from diffcompare.render.figures import pyplot
    from diffcompare.render.swell import figure

    result = swell(3, timeout=30)
    result.rows[2].timed_out.append("expand")  # as if expanding at n = 3 had run out of time
    for row in result.rows[2:]:
        row.simplified_count_ops = None
    plt = pyplot()
    fig = figure(plt, result)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    from matplotlib.text import Annotation

    notes = [t.get_text() for t in ax.get_children() if isinstance(t, Annotation)]
    plt.close(fig)
    assert "expanded, count_ops (timeout at n = 3)" in labels
    assert notes == ["timeout (> 30 s)"]  # only the curve that stopped is marked


def test_the_adjoint_code_column_grows_by_a_constant_per_step_beside_the_exploding_tree(capsys) -> None:
    assert main(["swell", "--n", "5", "--json", "--no-formulas"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    lines = [r["adjoint_code_lines"] for r in rows]
    steps = {b - a for a, b in zip(lines[1:], lines[2:])}
    assert steps == {7} and rows[-1]["derivative_tree_size"] > 10 * lines[-1]
