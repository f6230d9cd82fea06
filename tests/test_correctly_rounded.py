"""An answer that is the float nearest the exact value is scored as the best a float can be."""

import json

import numpy as np
from typer.testing import CliRunner

from diffcompare.analysis.compare import compare, correctly_rounded
from diffcompare.cli import app


def test_an_underflowing_exact_derivative_answered_by_zero_is_correctly_rounded():
    # tanh'(1000) = sech^2(1000) ~ 4 e^-2000 ~ 1e-868: below the smallest subnormal, so 0 is its float
    c = compare(np.tanh, 1000.0, backends=("reverse", "forward"))
    for row in c.rows:
        assert row.result.derivative == 0.0
        assert row.rel_error == 1.0  # still measured honestly
        assert row.correctly_rounded


def test_a_float_off_by_an_ulp_is_not_correctly_rounded():
    import mpmath

    with mpmath.workdps(50):
        third = mpmath.mpf(1) / 3
    assert correctly_rounded(third, 1 / 3)
    assert not correctly_rounded(third, np.nextafter(1 / 3, 1.0))
    assert not correctly_rounded(None, 0.0)
    assert not correctly_rounded(mpmath.nan, float("nan"))


def test_compare_shows_the_correctly_rounded_zero_green_and_says_so_in_json():
    runner = CliRunner()
    out = runner.invoke(app, ["compare", "tanh(x)", "--at", "x=1000", "--backends", "reverse", "--json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)["results"][0]
    assert row["correctly_rounded"] is True and row["derivative"] == 0.0


def test_a_reference_beyond_the_float_range_is_printed_as_itself_not_as_zero():
    import mpmath

    from diffcompare.render import fmt

    with mpmath.workdps(50):
        assert fmt(mpmath.mpf("1.0306143491844599e-868"), 17) == "1.0306143491844599e-868"
        assert fmt(-mpmath.mpf(2) ** 5000, 6) == "-1.41247e1505"
        assert fmt(mpmath.mpf("0.5"), 17) == "0.5" and fmt(mpmath.mpf(0), 17) == "0"


def test_derivatives_mark_a_correctly_rounded_zero_in_json():
    # tanh'(400) = sech^2(400) ~ 4 e^-800 ~ 7e-348: the nearest float is 0
    runner = CliRunner()
    out = runner.invoke(app, ["derivatives", "tanh(x)", "--at", "x=400", "--order", "1", "--json"])
    assert out.exit_code == 0, out.output
    results = json.loads(out.output)["orders"][0]["results"]
    exact = [r for r in results if r["backend"] in ("reverse", "forward", "symbolic")]
    assert exact and all(r["value"] == 0.0 and r["correctly_rounded"] for r in exact)
