"""error-vs-h: the V of truncation and round-off, measured against 50 digits, fitted, and rendered."""

import csv
import io
import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.analysis.error_model import fit as fit_error_model
from diffcompare.analysis.error_model import robust_optimum
from diffcompare.analysis.error_vs_h import (
    EXPECTED_SLOPES,
    best_scheme,
    error_vs_h,
    step_grid,
)
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError, DomainError

EPS = float(np.finfo(float).eps)
X = float(np.pi / 3)


@pytest.fixture(scope="module")
def sin_curves():
    """The default run of the command: sin at pi/3 on 60 steps from 1e-16 to 1."""
    return error_vs_h(np.sin, X, name="sin(x)")


def curve(result, scheme):
    return next(c for c in result.schemes if c.scheme == scheme)


def lecture(x1, x2):
    return x1 * x2 + x2 - np.log(x1)


# -- the theory the curves must show ---------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["forward", "backward", "central", "five-point", "richardson"])
def test_truncation_and_round_off_slopes_match_the_theory(sin_curves, scheme):
    c = curve(sin_curves, scheme)
    expected_t, expected_r = EXPECTED_SLOPES[scheme]
    # measured here: every slope within 0.05 of theory; on synthetic noisy V curves the fit's slope
    # error stays below 0.17 (see the hypothesis test); 0.25 (0.5 for the steep h^8 arm, fitted on
    # only ~2 decades of steps) leaves room for the rounding noise and still tells 1 from 2 from 4
    tol = 0.5 if scheme == "richardson" else 0.25
    assert c.slopes["truncation"] == pytest.approx(expected_t, abs=tol)
    assert c.slopes["round_off"] == pytest.approx(expected_r, abs=0.25)


def test_complex_step_has_no_round_off_arm_and_reaches_eps(sin_curves):
    c = curve(sin_curves, "complex")
    assert c.slopes["truncation"] == pytest.approx(2, abs=0.25)  # as above
    assert abs(c.slopes["round_off"]) < 0.3  # flat: no subtraction, nothing to cancel
    small = [e for h, e in zip(c.h, c.rel_error) if h < 1e-9]
    # Im sin(x + ih) / h = cos(x) cosh(h) to rounding: one rounding of cos, at most one ulp (2 eps relative)
    assert max(small) <= 2 * EPS
    assert c.robust_h is not None and 1e-10 <= c.robust_h <= 1e-6  # the largest step still on the floor


@pytest.mark.parametrize("scheme", ["forward", "central", "five-point"])
def test_robust_optimum_agrees_with_the_rule_of_thumb(sin_curves, scheme):
    c = curve(sin_curves, scheme)
    # the rule of thumb drops the constants (|f|/|f^(a+1)| and the stencil's weights), which are of
    # order 1 for sin at pi/3: a factor 10 in step and in error is the honest agreement to expect
    assert c.theory_h / 10 <= c.robust_h <= c.theory_h * 10
    assert c.theory_error / 10 <= c.robust_rel_error <= c.theory_error * 10


def test_raw_minimum_is_the_luckiest_step_and_the_robust_one_is_not(sin_curves):
    for c in sin_curves.schemes:
        finite = [e for e in c.abs_error if e is not None]
        assert c.best_abs_error == min(finite)
        assert c.best_h == c.h[c.abs_error.index(c.best_abs_error)]
        # the model is a least-squares fit, so at the sharp corner of the steep h^8 arm it may pass a
        # little under the lowest point (by 20% for richardson here): allow a factor 2 there
        assert c.robust_abs_error >= c.best_abs_error / (2 if c.scheme == "richardson" else 1)
    # the example: central differences touch ~1e-12 at one step, the envelope sits near 1e-11
    central = curve(sin_curves, "central")
    assert central.robust_rel_error > 3 * central.best_rel_error


def test_errors_are_measured_against_50_digits_not_in_float64(sin_curves):
    c = curve(sin_curves, "complex")
    i = 10
    exact = mpmath.cos(mpmath.mpf(X))  # mpf(X) is the float pi/3 exactly
    with mpmath.workdps(50):
        expected = abs(mpmath.mpf(c.derivative[i]) - exact)
    # a float64 subtraction would give 0 or 1.1e-16 here; the real error is a fraction of an ulp
    assert c.abs_error[i] == pytest.approx(float(expected), rel=1e-12)
    assert 0 < c.abs_error[i] < 1.2e-16


def test_ad_and_symbolic_are_flat_reference_lines_at_rounding_level(sin_curves):
    names = {r.backend: r for r in sin_curves.references}
    assert set(names) == {"reverse", "symbolic"}
    for r in names.values():
        assert r.rel_error <= 2 * EPS  # one rounding of cos(x): at most an ulp


def test_richardson_curve_reaches_1e_13_near_its_default_step(sin_curves):
    c = curve(sin_curves, "richardson")
    near = [e for h, e in zip(c.h, c.rel_error) if 0.01 <= h <= 0.2]
    assert near and max(near) <= 1e-13  # the accuracy target for the "best" mode


# -- the fitted model --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(p=st.sampled_from([1, 2, 4]), log_a=st.floats(-2, 2), log_b=st.floats(-18, -14),
       seed=st.integers(0, 2**32 - 1))
def test_fit_recovers_slopes_and_optimum_of_a_noisy_v(p, log_a, log_b, seed):
    rng = np.random.default_rng(seed)
    h = step_grid(1e-16, 1.0, 60)
    a, b = 10.0**log_a, 10.0**log_b
    # round-off is a random multiple of eps/h: |A h^p + B z / h| with z standard normal
    err = np.abs(a * h**p + b * rng.standard_normal(h.size) / h)
    model = fit_error_model(h, err)
    # over 500 random cases the worst slope error was 0.17, the worst step 0.37 decades and the worst
    # error 0.52 decades from the exact optimum of A h^p + B/h (whose noise-free minimum it estimates);
    # hypothesis has since found rarer, worse draws, hence the allowances below
    # p = 4's truncation arm is short (from h* ~ 1e-3 to 1: ~11 of the 60 steps), so its noisy slope
    # is less certain: hypothesis found 3.58 for 4; 0.5 still tells 4 from 2
    assert model["truncation_slope"] == pytest.approx(p, abs=0.5 if p == 4 else 0.25)
    assert model["round_off_slope"] == pytest.approx(-1, abs=0.25)
    h_opt = (b / (p * a)) ** (1 / (p + 1))
    e_opt = a * h_opt**p + b / h_opt
    rh, re = robust_optimum(model)
    # the step of a forward difference (p = 1) is ill-conditioned: its V is so flat at the bottom that
    # the error changes by < 2x over +-0.5 decades (hypothesis found 0.504 decades once); the error
    # at the robust step, asserted next, is what a user relies on
    assert abs(math.log10(rh / h_opt)) <= (0.75 if p == 1 else 0.5)
    assert abs(math.log10(re / e_opt)) <= 0.7


def test_fit_of_an_exact_formula_reports_no_truncation_arm():
    h = step_grid(1e-14, 1.0, 40)
    model = fit_error_model(h, 1e-16 / h)  # round-off only: central differences of x**2
    assert model["truncation_slope"] is None
    assert model["round_off_slope"] == pytest.approx(-1, abs=1e-9)  # an exact line
    assert fit_error_model(h[:5], 1e-16 / h[:5]) is None  # fewer than 6 points: no model


# -- gradients and components --------------------------------------------------------------------------


def test_gradient_error_is_the_norm_of_the_component_errors():
    kw = dict(h_min=1e-12, h_max=1e-1, points=12, schemes=["central", "complex"], references=())
    both = error_vs_h(lecture, (3.0, -4.0), **kw)
    e1 = error_vs_h(lecture, (3.0, -4.0), component="x1", **kw)
    e2 = error_vs_h(lecture, (3.0, -4.0), component="x2", **kw)
    assert both.kind == "gradient" and e1.kind == "partial"
    assert [float(v) for v in both.reference] == pytest.approx([-13 / 3, 4.0], rel=1e-15)
    for c, c1, c2 in zip(both.schemes, e1.schemes, e2.schemes):
        for n, a, b in zip(c.abs_error, c1.abs_error, c2.abs_error):
            # the same floats, errors taken in 50 digits: equal up to the final rounding to float
            assert n == pytest.approx(math.hypot(a, b), rel=1e-14)
        assert c.derivative[0] == [c1.derivative[0], c2.derivative[0]]


def test_steps_outside_the_domain_are_gaps_not_errors():
    r = error_vs_h(np.log, 0.5, h_min=1e-6, h_max=1.0, points=13, schemes=["forward", "backward"],
                   references=())
    fwd, bwd = r.schemes
    assert fwd.failed == 0
    assert bwd.failed > 0 and all(e is None for h, e in zip(bwd.h, bwd.abs_error) if h > 0.5)
    assert "domain" in bwd.note


@pytest.mark.parametrize("kwargs, message", [
    (dict(h_min=0.0), "--h-min must be a positive"),
    (dict(h_min=-1e-8), "--h-min must be a positive"),
    (dict(h_max=float("inf")), "--h-max must be a positive"),
    (dict(h_min=1e-2, h_max=1e-4), "must be smaller"),
    (dict(points=2), "--points"),
    (dict(points=10_001), "--points"),
    (dict(component="y"), "not a variable"),
])
def test_bad_ranges_are_refused(kwargs, message):
    with pytest.raises(DiffcompareError, match=message):
        error_vs_h(np.sin, 1.0, **kwargs)


def test_a_point_outside_the_domain_is_refused():
    with pytest.raises(DomainError):
        error_vs_h(np.log, -1.0)


# -- the command ------------------------------------------------------------------------------------------


def test_default_command_is_sin_at_pi_over_3_with_table_and_terminal_plot(capsys):
    assert main(["error-vs-h", "--points", "24"]) == 0
    out = capsys.readouterr().out
    assert "sin(x) at x=1.047197551" in out
    assert "★" in out  # the best scheme is marked
    assert "step h" in out and "reverse AD and symbolic (same values)" in out  # the plot, references merged when equal
    for scheme in ("forward", "backward", "central", "five-point", "complex", "richardson"):
        assert scheme in out


def test_json_has_the_documented_keys(capsys):
    assert main(["error-vs-h", "exp(x)", "--at", "x=1", "--points", "10", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"function", "point", "reference", "schemes", "references"} <= set(doc)
    assert doc["function"] == "exp(x)" and doc["point"] == {"x": 1.0}
    assert doc["reference"] == pytest.approx(math.e, rel=1e-15)
    assert doc["reference_digits"].startswith("2.71828182845904523536028747135266249775724709")  # 1.0 is exact
    keys = {"scheme", "h", "abs_error", "rel_error", "best_h", "best_abs_error", "best_rel_error", "theory_h",
            "theory_error", "robust_h", "robust_abs_error", "slopes"}
    assert [s["scheme"] for s in doc["schemes"]] == ["forward", "backward", "central", "five-point", "complex",
                                                      "richardson"]
    for s in doc["schemes"]:
        assert keys <= set(s)
        assert len(s["h"]) == len(s["abs_error"]) == len(s["rel_error"]) == 10
        assert set(s["slopes"]) == {"truncation", "round_off"}


def test_csv_is_long_format_one_row_per_scheme_and_step(capsys):
    assert main(["error-vs-h", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--points", "5", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["scheme", "h", "derivative_x1", "derivative_x2", "abs_error", "rel_error"]
    assert len(rows) == 1 + 6 * 5
    assert float(rows[1][1]) == pytest.approx(1e-16)


def test_csv_of_one_variable_has_a_single_derivative_column(capsys):
    assert main(["error-vs-h", "--points", "4", "--csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "scheme,h,derivative,abs_error,rel_error"


@pytest.mark.parametrize("args, message", [
    (["--h-min", "0"], "--h-min must be a positive number"),
    (["--h-min", "1", "--h-max", "0.1"], "must be smaller"),
    (["--points", "2"], "--points must be an integer from 3"),
    (["--points", "1000000"], "--points must be an integer from 3"),
    (["log(x)", "--at", "x=-1"], "not defined"),
    (["sqrt(x)", "--at", "x=0"], "not finite"),  # f is defined, its derivative is not
    (["x1*x2", "--at", "x1=1,x2=2", "--component", "x3"], "not a variable"),
    (["--plot", "curve.txt"], ".png, .svg or .pdf"),
    (["--schemes", "secant"], "unknown scheme"),
    (["--json", "--csv"], "one of --json and --csv"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, args, message):
    assert main(["error-vs-h", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_plot_file_or_a_clear_message_without_matplotlib(tmp_path, capsys):
    target = tmp_path / "v.png"
    code = main(["error-vs-h", "--points", "8", "--no-plot", "--plot", str(target)])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert code == 2 and "matplotlib" in capsys.readouterr().err
        assert not target.exists()
    else:
        assert code == 0 and target.stat().st_size > 0


# -- the star, zeros, overlapping curves and the words of the caption (issue 13 item 5) -----------------


def _table_text(result, columns=80):
    from rich.console import Console

    from diffcompare.render.error_vs_h import table

    console = Console(width=columns, record=True, file=io.StringIO())
    console.print(table(result))
    return console.export_text()


def test_the_analysis_names_the_best_scheme_and_the_json_carries_it(sin_curves):
    from diffcompare.render.error_vs_h import to_json

    assert sin_curves.best_scheme == "complex"  # exact to 2e-17 at every small step: no round-off arm
    assert to_json(sin_curves)["best_scheme"] == "complex"


def test_best_scheme_ties_go_to_the_fewest_calls_then_the_order_given():
    from types import SimpleNamespace as C

    exact = [C(scheme="five-point", robust_abs_error=0.0, calls_per_step=4),
             C(scheme="central", robust_abs_error=0.0, calls_per_step=2),
             C(scheme="forward", robust_abs_error=0.0, calls_per_step=2),
             C(scheme="complex", robust_abs_error=None, calls_per_step=1)]  # no robust error: not rated
    assert best_scheme(exact) == "central"
    assert best_scheme([C(scheme="complex", robust_abs_error=None, calls_per_step=1)]) is None


@pytest.mark.parametrize("f, point, component", [
    (lambda x1, x2: x1**2 * x2 + np.sin(x1), (1.0, 2.0), "x2"),  # complex step exact at every step
    (np.cos, 0.0, None),  # central exact at every step (an even function; abs at 0 was this case until its
    # reference became undefined: abs'(0) does not exist, so error-vs-h now refuses it)
])
def test_the_star_sits_on_a_robust_error_that_is_shown(f, point, component):
    names = ("x1", "x2") if component else None
    r = error_vs_h(f, point, variables=names, component=component, points=24, references=())
    star = curve(r, r.best_scheme)
    assert star.robust_abs_error is not None
    assert star.robust_abs_error == min(c.robust_abs_error for c in r.schemes if c.robust_abs_error is not None)
    for line in _table_text(r).splitlines():
        if "★" in line:
            assert line.split()[4] != "—", line  # scheme ★ best_h best robust_h robust ...


def test_exact_zero_prints_as_0_and_identical_curves_share_one_label(capsys):
    assert main(["error-vs-h", "x1**2*x2 + sin(x1)", "--at", "x1=1,x2=2", "--component", "x2",
                 "--points", "24"]) == 0
    out = capsys.readouterr().out
    assert "0.0e0" not in out
    # the complex step is exact like AD and symbolic: one line, all three named, none hidden
    assert "complex, reverse AD and symbolic (same values)" in out
    assert " = symbolic" not in out  # a legend entry is a marker and a label, not an equation
    assert "complex: exact (error 0) at all 24 steps" in out


def test_the_caption_names_the_error_the_column_and_axis_show(sin_curves):
    from diffcompare.render.error_vs_h import error_words

    assert error_words(sin_curves).startswith("relative error |approx − exact| / |exact| of the derivative")
    text = _table_text(sin_curves, 120)
    assert "rel err" in text and "relative error |approx − exact| / |exact|" in text and "|error| of" not in text
    zero = error_vs_h(lambda x: (x - 1) ** 2, 1.0, points=12, references=())  # exact 0: absolute
    assert error_words(zero).startswith("absolute error |approx − exact| of the derivative")


def test_no_python_exception_name_in_a_schemes_note(capsys):
    # issue 11 item 6: x**1.5 left of 0 is complex in Python's power; the note says so in words
    assert main(["error-vs-h", "x**1.5", "--at", "x=0", "--points", "12", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "Error" not in out and "float()" not in out
    assert "not real there" in out


def test_adaptive_scheme_has_no_single_step(capsys):
    assert main(["error-vs-h", "--schemes", "central,adaptive"]) == 2
    err = capsys.readouterr().err
    assert "adaptive scheme chooses its own step" in err and "unknown scheme" not in err and err.count("\n") == 1


def test_every_series_of_a_terminal_plot_has_its_own_marker():
    """forward and a peer (scipy) both drew '*' when peers made more than 8 series: the legend lied."""
    from diffcompare.render.termplot import line_plot

    names = [f"series{k}" for k in range(14)]
    text = line_plot({n: ([1.0, 2.0], [float(k), float(k) + 1]) for k, n in enumerate(names)}, width=60)
    legend = " ".join(text.splitlines()[-5:])
    marks = [legend.split(f" {n}")[0].split()[-1] for n in names]
    assert len(set(marks)) == len(names), marks
    assert not set(marks) & {"^", "v"}  # those mark clipped points
