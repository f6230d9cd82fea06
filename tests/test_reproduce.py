"""`reproduce`: every worked number of the slides, checked to its printed precision, errata named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diffcompare.analysis import lecture_values
from diffcompare.analysis import reproduce as R
from diffcompare.cli import main
from diffcompare.render.reproduce import note_text


@pytest.fixture(scope="module")
def result():
    return R.reproduce()


@pytest.fixture(scope="module")
def by_id(result):
    return {c.id: c for c in result.checks}


def test_the_precision_rule_is_half_a_unit_of_the_last_digit():
    assert R.half_unit("0.693") == pytest.approx(0.0005)
    assert R.half_unit("12") == 0.5 and R.half_unit("4.") == 0.5 and R.half_unit("-0.000089") == pytest.approx(5e-7)
    assert R.agrees(np.log(2), "0.693") and not R.agrees(np.log(2), "0.694")
    assert R.agrees(0.6935, "0.693") and R.agrees(0.6925, "0.693")  # ties count as agreement
    assert not R.agrees(0.6936, "0.693")


@given(st.floats(-1e3, 1e3, allow_nan=False), st.integers(0, 6))
def test_a_correctly_rounded_print_always_agrees(x, d):
    assert R.agrees(x, f"{x:.{d}f}")


def test_every_entry_is_checked_and_nothing_is_unexplained(result):
    entries = R.load_seed_numbers()
    assert [c.id for c in result.checks] == [e["id"] for e in entries]
    assert result.unexplained == 0 and result.ok
    assert result.agreed + result.errata == len(result.checks)


def test_tables_1_to_3_agree(by_id):
    for key in ("t1_v2", "t1_v4", "t2_v2", "t2_v4", "t2_dv1", "t2_dy", "t3_xbar1", "t3_xbar2", "t3_vbar2"):
        assert by_id[key].agree and by_id[key].status == "agree", key


def test_table2_formula_typo_is_found(by_id):
    c = by_id["t2_dv1_formula"]
    assert not c.agree and c.status == "erratum" and c.explained
    text = note_text(c.computed)  # the formula on our values, written by render
    assert "(the row is 3)" in text and "= 0" in text


def test_backprop_errata_are_found_and_sized(by_id):
    # slips of the slides' own arithmetic, each beyond half a unit of its last digit
    for key, slip in (("bp_y", 0.0002), ("bp_dsigma_y", -0.0001), ("bp_dsigma_h1", 0.0001), ("bp_dsigma_h2", 0.0001)):
        c = by_id[key]
        assert c.status == "erratum" and not c.agree and c.explained, key
        assert abs(float(c.seed_value) - c.carried) > c.tolerance  # wrong even from the slide's own inputs
        assert float(c.seed_value) - c.carried == pytest.approx(slip, abs=0.5e-4), key
    # the loss inherits y's error: its own step 0.5 × 0.0454² is right
    assert by_id["bp_E"].status == "inherited" and by_id["bp_E"].explained
    assert by_id["bp_E"].carried == pytest.approx(0.5 * 0.0454**2, rel=1e-12)


def test_rounding_carried_forward_is_not_an_erratum(by_id):
    # w_h1 h1 = 0.4 × 0.6106 = 0.24424 prints 0.2442, though the exact 0.244256 would print 0.2443
    c = by_id["bp_wh1h1"]
    assert c.agree and c.status == "rounded inputs" and round(c.computed, 4) == 0.2443
    # δ_h2 = -0.00378 × 0.2362 uses the erring 0.2362, but 0.2361 gives -0.00089 too
    assert by_id["bp_delta_h2"].status == "rounded inputs"


def test_updated_weights_agree(by_id):
    for p in ("wh1", "wh2", "by", "w11", "w21", "w12", "w22", "bh"):
        assert by_id[f"bp_new_{p}"].agree, p


def test_lecture_code_outputs_agree(by_id):
    for key in ("cube_d1", "cube_d2", "cube_d3", "contour_f", "contour_grad", "sin_f", "sin_df"):
        assert by_id[key].status == "agree", key
    assert by_id["cube_d3"].computed == 6.0


def test_swell_formulas(by_id):
    for key in ("swell_l2", "swell_l3", "swell_l4", "swell_d2", "swell_d3", "swell_d3_simplified",
                "swell_d4_simplified"):
        assert by_id[key].agree, key
    c = by_id["swell_d4"]  # the n = 4 cell is cut off: exactly the product rule's fourth term is missing
    assert not c.agree and c.explained
    assert c.difference == "-256*x*(x - 1)*(2*x - 1)*(8*x**2 - 8*x + 1)**2"


def test_exercise2_accumulates_only_when_asked():
    ex = lecture_values.exercise2()
    assert np.array_equal(ex["ex2_first"], [0, 4, 8, 12])
    assert np.array_equal(ex["ex2_second"], [0, 8, 16, 24])
    assert np.array_equal(ex["ex2_zeroed"], [0, 4, 8, 12])
    assert all(np.array_equal(g, [0, 4, 8, 12]) for g in ex["functional"])


@pytest.mark.parametrize("seed", [0, 1, 2, 6])
def test_exercise3_gradient_is_the_predicted_power_of_two(seed):
    ex = lecture_values.exercise3(seed)
    assert np.all(ex["grad"] == ex["predicted"])  # powers of two (×100): exact in float64
    assert 2.0 ** ex["k"] * ex["norm"] >= 1000 > 2.0 ** (ex["k"] - 1) * ex["norm"] or ex["k"] == 1


def test_exercise3_slides_512_needs_a_certain_norm(by_id):
    c = by_id["ex3_grad"]
    assert c.agree and c.computed == [[512.0] * 3] * 2
    assert "0.342" in note_text(c.note)  # the probability of that regime for a 2×3 standard normal
    assert lecture_values.exercise3(0)["grad"][0, 0] == 2048.0


def test_reproduce_cli(capsys):
    assert main(["reproduce", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"id", "description", "seed_value", "computed", "agree", "note"} <= set(data["checks"][0])
    # notes and a formula's evaluation are data in the analysis: the JSON carries them written out, as text
    assert all(isinstance(c["note"], str) for c in data["checks"])
    assert isinstance(next(c for c in data["checks"] if c["id"] == "t2_dv1_formula")["computed"], str)
    assert data["unexplained"] == 0


def test_an_unexplained_disagreement_exits_1(monkeypatch, capsys):
    entries = R.load_seed_numbers()
    broken = [dict(e) for e in entries]
    broken[3]["printed"] = "0.694"  # Table 1's ln 2, misprinted and not documented
    monkeypatch.setattr(R, "load_seed_numbers", lambda: broken)
    assert main(["reproduce"]) == 1
    capsys.readouterr()


def test_a_stale_erratum_is_reported(monkeypatch):
    entries = [dict(e) for e in R.load_seed_numbers()]
    entries[3]["erratum"] = "claimed but not true"
    monkeypatch.setattr(R, "load_seed_numbers", lambda: entries)
    c = R.reproduce().checks[3]
    assert c.agree and not c.explained


def test_our_transcription_of_the_swell_table_matches_the_swell_module():
    """Two hand transcriptions of the same slide (data file, analysis.swell) must agree."""
    import sympy

    from diffcompare.analysis.swell import slide_formulas

    x = sympy.Symbol("x")
    theirs = slide_formulas(x)
    entries = {e["id"]: e for e in R.load_seed_numbers()}
    pairs = {"swell_l2": theirs[2][0], "swell_l3": theirs[3][0], "swell_l4": theirs[4][0],
             "swell_d2": theirs[2][1], "swell_d3": theirs[3][1], "swell_d4": theirs[4][1],
             "swell_d2_simplified": theirs[2][2], "swell_d3_simplified": theirs[3][2],
             "swell_d4_simplified": theirs[4][2]}
    for key, expr in pairs.items():
        assert sympy.expand(lecture_values.sympy_of(entries[key]["formula"], x) - expr) == 0, key


def test_a_sum_put_in_for_its_name_keeps_its_brackets(capsys, monkeypatch):
    """Note [6] read '0.5*t - y**2' for 0.5*bp_t_minus_y**2: the name's label (t - y) needs brackets there."""
    from diffcompare.render.reproduce import _readable

    labels = {"bp_t_minus_y": "t - y", "bp_y": "y", "bp_dE_dy": "∂E/∂y"}
    assert _readable("0.5*bp_t_minus_y**2", labels) == "0.5*(t - y)**2"
    assert _readable("-bp_t_minus_y and 2 * bp_t_minus_y", labels) == "-(t - y) and 2 * (t - y)"
    assert _readable("uses bp_t_minus_y, an erratum; 0.8 - bp_y", labels) == "uses t - y, an erratum; 0.8 - y"
    assert _readable("-0.5*bp_dE_dy", labels) == "-0.5*∂E/∂y"
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["reproduce"]) == 0
    out = capsys.readouterr().out
    assert "(0.5*(t - y)**2 = 0.00103058)" in out and "0.5*t - y**2" not in out
