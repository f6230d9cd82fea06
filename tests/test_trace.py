"""`trace`: the lecture's Tables 1-3 come out of the AD tape, row by row."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.analysis.trace import evaluation_trace, row_names
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError
from diffcompare.parse import compile_expression
from diffcompare.render.trace import adjoint_text, arithmetic, op_line, tangent_text

TABLE = "x1*x2 + x2 - log(x1)"
# the slides' rows (v_1 = v_-1 v_0, v_2 = ln v_-1, v_3 = v_1 + v_0, v_4 = v_3 - v_2) by operation:
# our tape adds before it takes the logarithm, so rows are matched by what they compute
SLIDE_ORDER = ("v_-1 = x1", "v_0 = x2", "* ", "ln(", "+ ", "- ")


def _slide_rows(trace):
    rows = []
    for key in SLIDE_ORDER:
        rows.append(next(r for r in trace.rows if key in op_line(r)))
    return rows


def _trace(point, wrt="x2", mode="all"):
    e = compile_expression(TABLE)
    return evaluation_trace(e.function, point, e.variables, TABLE, mode=mode, wrt=wrt)


def test_rows_are_numbered_as_the_slides_number_them():
    assert row_names(2, 4) == ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4"]
    assert row_names(1, 2) == ["v_0", "v_1", "v_2"]
    t = _trace((2.0, 4.0))
    assert [r.name for r in t.rows] == ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4"]
    assert op_line(t.rows[2]) == "v_1 = v_-1 * v_0"
    assert any(op_line(r) == "v_3 = ln(v_-1)" for r in t.rows)  # the slides' notation: ln for log


def test_powers_are_written_in_the_parsers_syntax_as_the_graph_writes_them():
    """Rows said ``v_1 = v_0 ^ 2`` (``^`` the parser refuses) where `graph` says ``x**2``; the slides' trace tables
    have no power, so the trace follows the parser, and an operation copied out of a row parses back."""
    e = compile_expression("x**2 + x**-3")
    t = evaluation_trace(e.function, (3.0,), e.variables)
    assert [op_line(r) for r in t.rows[1:3]] == ["v_1 = v_0**2", "v_2 = v_0**(-3)"]
    assert arithmetic(t.rows[1]) == "3**2 = 9"
    assert compile_expression(op_line(t.rows[2]).split(" = ")[1].replace("v_0", "x"))(3.0) == 3.0**-3


def test_table1_primal_values_match_the_slides():
    t = _trace((2.0, 4.0), mode="primal")
    values = [r.value for r in _slide_rows(t)]
    # the exact values: 2, 4, 8, ln 2, 12, 12 - ln 2 (the slides print 0.693 and 11.307)
    assert values[:3] == [2.0, 4.0, 8.0] and values[4] == 12.0
    assert values[3] == pytest.approx(math.log(2), rel=1e-15)  # one libm log: within an ulp
    assert round(values[5], 3) == 11.307 and t.value == values[5]
    assert all(r.tangent is None and r.adjoint is None for r in t.rows)


def test_table2_tangents_match_the_slides():
    t = _trace((3.0, -4.0), wrt="x2", mode="forward")
    # Table 2: 0, 1, 3, 0, 4, 4 (exact small integers: no rounding anywhere)
    assert [r.tangent for r in _slide_rows(t)] == [0.0, 1.0, 3.0, 0.0, 4.0, 4.0]
    assert t.derivative == 4.0
    mul_row = _slide_rows(t)[2]
    # the right product rule (the slide prints the typo v̇-1 v0 + v0 v̇-1)
    assert tangent_text(mul_row) == ("v̇_1 = v̇_-1 × v_0 + v̇_0 × v_-1", "0 × (-4) + 1 × 3 = 3")


def test_table3_adjoints_match_the_slides():
    t = _trace((3.0, -4.0), mode="reverse")
    adj = [r.adjoint for r in _slide_rows(t)]
    # Table 3: -4.33, 4, 1, -1, 1, 1; x̄1 = -1/3 - 4 exactly up to one rounding of 1/3
    assert adj[0] == pytest.approx(-13 / 3, rel=1e-15)
    assert adj[1:] == [4.0, 1.0, -1.0, 1.0, 1.0]
    assert t.gradient == [adj[0], 4.0]


def test_adjoints_are_written_as_the_sum_of_their_contributions():
    t = _trace((3.0, -4.0), mode="reverse")
    x1 = t.rows[0]
    # x̄1 = v̄(ln) × (1/v_-1) + v̄(mul) × v_0, the consumers in reverse order as in the slides
    assert adjoint_text(t, x1) == ("v̄_-1 = x̄1 = v̄_3 × (1/v_-1) + v̄_1 × v_0", "(-1) × 0.333333 + 1 × (-4) = -4.33333")
    assert sum(c.term for c in x1.contributions) == x1.adjoint
    assert [c.consumer for c in x1.contributions] == ["v_3", "v_1"]


def test_the_trace_is_the_tape_itself():
    """Same count of rows as the AD engine records, and the same gradient as grad()."""
    from diffcompare import ad

    e = compile_expression("log(x**2)*sin(x) + 1/x")
    t = evaluation_trace(e.function, (2.0,), e.variables)
    rec = ad.record(e.function, 2.0)
    assert len(t.rows) == len(rec.tape)
    # same rules over the same tape; a relative ulp or two allowed should the engine regroup sums
    assert t.gradient[0] == pytest.approx(ad.grad(e.function)(2.0), rel=1e-15)
    assert t.derivative == pytest.approx(t.gradient[0], rel=1e-15)  # forward and reverse sum in another order


@settings(max_examples=30, deadline=None)
@given(st.floats(0.1, 10), st.floats(-10, 10))
def test_tangent_and_adjoint_columns_agree_with_the_engine(x1, x2):
    """Forward (seeded on each input) and reverse columns give the gradient the engine's grad gives."""
    from diffcompare import ad

    e = compile_expression("x1**2*x2 + sin(x1)*exp(x2/10) - x2/x1")
    g = ad.grad(e.function, (0, 1))(x1, x2)
    rev = evaluation_trace(e.function, (x1, x2), e.variables, mode="reverse").gradient
    fwd = [evaluation_trace(e.function, (x1, x2), e.variables, mode="forward", wrt=w).derivative for w in ("x1", "x2")]
    for a, b, c in zip(g, rev, fwd):
        assert b == pytest.approx(a, rel=1e-14, abs=1e-15)  # same reverse walk; a few ulps if regrouped
        assert c == pytest.approx(a, rel=1e-12, abs=1e-12)  # forward sums the chain rule in another order


def test_array_inputs_and_outputs_are_seeded_with_ones():
    t = evaluation_trace(lambda a: a * 2.0, (np.arange(3.0),), ["a"])
    assert np.array_equal(t.gradient[0], [2.0, 2.0, 2.0])
    assert any("ones" in n for n in t.notes)


def test_trace_cli_json_has_the_rows(capsys):
    assert main(["trace", "table3", "--wrt", "x2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"name", "op", "inputs", "value", "tangent", "adjoint"} <= set(data["rows"][0])
    assert data["rows"][2]["inputs"] == ["v_-1", "v_0"]
    assert data["derivative"] == 4.0 and data["gradient"][1] == 4.0


def test_trace_cli_table_shows_the_slides_rows(capsys):
    assert main(["trace", "table1", "--mode", "primal"]) == 0
    out = capsys.readouterr().out
    assert "v_1 = v_-1 * v_0" in out and "ln(2) = 0.693147" in out


@pytest.mark.parametrize("args, message", [
    (["trace", "table3", "--wrt", "y"], "--wrt"),
    (["trace", "table3", "--mode", "sideways"], "--mode"),
    (["trace", "log(x)", "--at", "x=-1"], "not finite"),
    (["trace", "x +* 2", "--at", "x=1"], ""),
    (["trace", "x1*x2"], "--at"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and err.count("\n") == 1


def test_analysis_raises_the_package_error():
    e = compile_expression(TABLE)
    with pytest.raises(DiffcompareError):
        evaluation_trace(e.function, (1.0,), e.variables)


@pytest.mark.parametrize("mode,value", [("reverse", "-4.33333"), ("forward", "1 × 0.333333")])
def test_a_split_part_names_the_trace_its_values_come_from(monkeypatch, capsys, mode, value):
    """At 40 columns the derivative values can land in a part whose key column is the primal trace: the
    value column's own header must say they are adjoints (tangents), not the primal output."""
    from test_layout import record, text_at

    printed = record(monkeypatch, capsys, ["trace", "table3", "--mode", mode, "--wrt", "x1"])
    trace = "adjoint" if mode == "reverse" else "tangent"
    for width in (40, 80, 120):
        text = text_at(printed, width)
        tables = text.split("┏")[1:]
        holding = [t for t in tables if value in t]
        assert holding, (width, text)
        for t in holding:
            head = t.split("┡")[0]
            assert trace in head, f"a part with {trace} values but no {trace} header at {width}:\n{t}"
