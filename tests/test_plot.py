"""`plot`: derivatives over a whole range by one AD pass (Exercise 4), gaps, fields, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diffcompare.analysis.sampling import curves, field
from diffcompare.cli.options import parse_range
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError
from diffcompare.parse import compile_expression
from diffcompare.render.plot import ARROWS, arrow


def f_of(text: str):
    return compile_expression(text).function


def test_exercise_4_sin_derivative_by_ad_is_cos_at_every_sample():
    c = curves(f_of("sin(x)"), -6, 6, order=1, points=1001)
    # AD's rule for sin is cos of the same float: the same bits, allow 1 ulp for the tangent product
    assert np.allclose(c.series[1], np.cos(c.xs), rtol=0, atol=2.3e-16)
    assert np.array_equal(c.series[0], np.sin(c.xs)) and c.undefined == 0


def test_forward_and_reverse_modes_give_the_same_vector_of_derivatives():
    fwd = curves(f_of("x*exp(-x**2)*sin(3*x)"), -3, 3, order=3, points=301, mode="forward")
    rev = curves(f_of("x*exp(-x**2)*sin(3*x)"), -3, 3, order=3, points=301, mode="reverse")
    for k in range(4):
        # same rules in a different order of accumulation: a few ulps of the largest value (|f'''| < 100)
        assert np.allclose(fwd.series[k], rev.series[k], rtol=0, atol=1e-13), k


def test_third_derivative_of_sin_is_minus_cos():
    c = curves(f_of("sin(x)"), 0, 6, order=3, points=50)
    assert np.allclose(c.series[3], -np.cos(c.xs), rtol=0, atol=1e-15)  # three exact rules, ~1 ulp


def test_undefined_samples_are_gaps_in_every_series():
    c = curves(f_of("log(x)"), -2, 2, order=2, points=9)  # samples -2, -1.5, ..., 2
    undefined = c.xs <= 0  # log(0) = -inf is not finite either
    for k in range(3):
        assert np.all(np.isnan(c.series[k][undefined])), k
        assert np.all(np.isfinite(c.series[k][~undefined])), k
    assert c.undefined == int(undefined.sum()) == 5
    assert np.allclose(c.series[2][~undefined], -1 / c.xs[~undefined] ** 2, rtol=1e-15)


def test_a_function_defined_nowhere_on_the_range_is_an_error():
    with pytest.raises(DiffcompareError, match="not defined anywhere"):
        curves(f_of("sqrt(x)"), -3, -1)


def test_non_elementwise_functions_are_refused():
    with pytest.raises(DiffcompareError, match="elementwise"):
        curves(lambda x: x - np.mean(x), 0, 1)


def test_a_constant_function_has_zero_derivatives():
    c = curves(f_of("3 + 0*x"), 0, 1, order=2, points=5)
    assert np.all(c.series[0] == 3) and np.all(c.series[1] == 0) and np.all(c.series[2] == 0)


def test_the_slides_field_has_the_right_gradient():
    fl = field(f_of("x1**2*x2 + sin(x1)"), (-2, 2), (-1, 3), points=5)
    X, Y = np.meshgrid(fl.xs, fl.ys)
    assert np.allclose(fl.values, X**2 * Y + np.sin(X), rtol=0, atol=1e-15)
    assert np.allclose(fl.grad_x, 2 * X * Y + np.cos(X), rtol=0, atol=1e-14)  # |2xy| <= 12: a few ulps
    assert np.array_equal(fl.grad_y, X**2)


@pytest.mark.parametrize("gx, gy, char", [(1, 0, "→"), (1, 1, "↗"), (0, 1, "↑"), (-1, 1, "↖"), (-1, 0, "←"),
                                          (-1, -1, "↙"), (0, -1, "↓"), (1, -1, "↘"), (0, 0, "·"),
                                          (float("nan"), 1, " ")])
def test_arrow_characters_point_along_the_gradient(gx, gy, char):
    assert arrow(gx, gy, 1.0) == char


@pytest.mark.parametrize("text, expected", [("-6:6", (-6.0, 6.0)), ("-2*pi:2*pi", (-2 * np.pi, 2 * np.pi)),
                                            ("0:1e-3", (0.0, 1e-3))])
def test_ranges(text, expected):
    assert parse_range(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("text", ["6:-6", "1:1", "abc", "1:2:3", "1:", ":", "-inf:1", "0:1e400", "1..2"])
def test_bad_ranges(text):
    with pytest.raises(DiffcompareError):
        parse_range(text)


def test_cli_terminal_curve(capsys):
    assert main(["plot", "sin(x)", "--range=-6:6"]) == 0
    out = capsys.readouterr().out
    assert "f(x)" in out and "f'(x)" in out and "forward-mode AD" in out


def test_cli_csv_and_json(capsys):
    assert main(["plot", "log(x)", "--range", "-1:1", "--points", "5", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "x,f(x),f'(x)" and len(lines) == 6
    assert lines[1] == "-1.0,," and lines[-1].startswith("1.0,0.0,1.0")  # undefined: empty cells
    assert main(["plot", "sin(x)", "--range", "0:1", "--points", "3", "--order", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["x"] == [0.0, 0.5, 1.0] and set(data["series"]) == {"0", "1", "2"}


def test_cli_field_in_the_terminal_shows_arrows(capsys):
    assert main(["plot", "x1 + 0*x2", "--range", "-1:1", "--points", "5"]) == 0  # gradient (1, 0) everywhere
    out = capsys.readouterr().out
    arrow_rows = [ln.strip() for ln in out.splitlines() if ln.strip() and set(ln.strip()) <= set(ARROWS + "·")]
    assert arrow_rows and all(set(r) == {"→"} for r in arrow_rows)


def test_cli_images(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    curve, fld = tmp_path / "sin.png", tmp_path / "field.svg"
    assert main(["plot", "sin(x)", "--out", str(curve)]) == 0
    assert main(["plot", "x1**2*x2 + sin(x1)", "--field", "--range", "-2:2", "--points", "21",
                 "--out", str(fld)]) == 0
    assert curve.read_bytes()[:4] == b"\x89PNG" and "<svg" in fld.read_text()


@pytest.mark.parametrize("args", [
    ["plot", "sin(x)", "--order", "0"],
    ["plot", "sin(x)", "--order", "11"],
    ["plot", "sin(x)", "--points", "1"],
    ["plot", "sin(x)", "--points", "100000000"],
    ["plot", "sin(x)", "--range", "6:-6"],
    ["plot", "sin(x)", "--range", "zero:one"],
    ["plot", "sin(x)", "--field"],
    ["plot", "x*y*z", "--range", "0:1"],
    ["plot", "sin(x)", "--out", "picture.txt"],
    ["plot", "sin(x)", "--out", "/no/such/folder/p.png"],
    ["plot", "sin(x)", "--mode", "sideways"],
    ["plot", "sqrt(x)", "--range", "-2:-1"],
    ["plot", "x1*x2", "--order", "2"],
])
def test_cli_bad_input_is_one_line_and_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


@pytest.mark.parametrize("lo, hi, points", [(-2 * np.pi, 2 * np.pi, 401), (-np.pi, np.pi, 401), (0, np.pi, 5)])
def test_a_sample_where_the_derivative_is_zero_is_still_elementwise(lo, hi, points):
    # the help's own example: f' = exp(x)(sin x + cos x) = 0 at the sample 3*pi/4, where the check's two
    # JVPs are rounding residues of cancelling terms that differ from each other
    c = curves(f_of("exp(x)*sin(x)"), lo, hi, order=1, points=points)
    exact = np.exp(c.xs) * (np.sin(c.xs) + np.cos(c.xs))
    scale = np.max(np.abs(exact))
    assert np.allclose(c.series[1], exact, rtol=0, atol=1e-14 * scale)  # AD rules: a few ulps of max |f'|


# -- undefined samples and poles (issue 13 item 8) -------------------------------------------------------


def _axis_lines(text):
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("+--"))
    return lines[:i], lines[i + 1]


def test_x_axis_is_the_requested_range_even_where_f_is_undefined():
    from diffcompare.render.plot import curves_text

    text = curves_text(curves(f_of("log(x)"), -2, 5, order=2, points=401), width=60)
    _, xaxis = _axis_lines(text)
    assert xaxis.split() == ["-2", "5"]  # was "0.0125 ... 5": the defined part only
    assert "undefined at 115 of 401 samples (-2 ≤ x ≤ -0.005)" in text


def test_a_pole_is_clipped_and_marked_not_stretching_the_axis():
    from diffcompare.render.plot import curves_text, y_limits

    c = curves(f_of("1/x"), -1, 1, points=401)
    lo, hi = y_limits(c)
    # bulk: 5th..95th percentiles of f = 1/x (±10) and f' = -1/x^2 (-400 .. -1), padded by a quarter
    assert -600 < lo < -400 and 0 < hi < 200
    text = curves_text(c, width=60)
    rows, xaxis = _axis_lines(text)
    assert xaxis.split() == ["-1", "1"]
    assert "^" in rows[-20] and "v" in rows[-1]  # clipped samples marked on the edges
    assert "y clipped to" in text and "undefined at 1 of 401 samples (x = 0)" in text
    assert sum("*" in r for r in rows) >= 5  # f is a curve, not a flat line (it spanned 1 row of 20 before)


def test_a_smooth_function_is_not_clipped():
    from diffcompare.render.plot import y_limits

    assert y_limits(curves(f_of("exp(x)"), 0, 10, points=101)) is None
    assert y_limits(curves(f_of("sin(x)"), -6, 6, order=3, points=101)) is None


def test_field_text_names_the_saved_image_instead_of_suggesting_out(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "contour.png"
    assert main(["plot", "x1**2 - x2**2", "--range", "-2:2", "--points", "11", "--out", str(target)]) == 0
    out = capsys.readouterr().out
    assert "add --out" not in out and f"contour lines with arrows: in {target}" in out


@pytest.mark.parametrize("argv", [
    ["plot", "sin(x)", "--range", "-6:6"],
    ["plot", "x1**2*x2 + sin(x1)", "--range", "-2:2", "--field"],
    ["plot", "1/x", "--range", "-2:2", "--order", "2"],
    ["error-vs-h", "sin(x)", "--at", "x=1", "--points", "12"],
])
@pytest.mark.parametrize("width", [40, 80, 120])
def test_no_plot_line_is_wider_than_the_terminal(monkeypatch, capsys, argv, width):
    """The README promises output that fits from 40 columns: titles, grids and legends too (display cells)."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", str(width))
    assert main(argv) == 0
    out = capsys.readouterr().out
    wide = [line for line in out.splitlines() if cell_len(line) > width]
    assert not wide, f"{len(wide)} lines wider than {width}:\n" + "\n".join(wide[:5])
