"""`diffcompare cost`: structure and invariants robust to timing noise; never a speed assertion.

What is checked: exact evaluation and pass counts (central differences 2n+1 calls of f with the
value, forward mode n JVPs, reverse mode one VJP, jacfwd n / jacrev m, finite Hessian 2n^2+1), that
every method's derivative agrees with the others at the measured points, the Jacobian crossover
logic on synthetic timings, the budget skipping a cell before it starts, and that reverse mode's
memory grows with depth while forward mode's stays flat. Grids are tiny and the timer's minimum
measuring time is lowered, so the file runs in a few seconds.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffcompare.analysis import cost_timing, families
from diffcompare.analysis.cost import GRADIENT_METHODS, gradient_cost, instance
from diffcompare.analysis.cost_hessian import hessian_cost
from diffcompare.cli.options import parse_grid
from diffcompare.analysis.cost_jacobian import crossover, jacobian_cost
from diffcompare.analysis.cost_memory import memory_cost, peak_bytes
from diffcompare.analysis.cost_timing import fit_slope, measure
from diffcompare.cli import main
from diffcompare.errors import DiffcompareError

JSON_ROW_KEYS = {"method", "n", "m", "seconds", "evaluations", "ratio_to_f", "peak_bytes"}


@pytest.fixture(autouse=True)
def quick_timer(monkeypatch):
    # 5 ms of repeats instead of 100 ms: medians get noisier, but no test here looks at a time's size
    monkeypatch.setattr(cost_timing, "MIN_TIME", 0.005)
    monkeypatch.setattr(cost_timing, "MAX_REPEATS", 5)


def _row(report, method, n, **kw):
    return next(r for r in report.rows if r.method == method and r.n == n
                and all(getattr(r, k) == v for k, v in kw.items()))


# -- timing helpers ------------------------------------------------------------------------------


def test_measure_discards_the_warm_up_and_reports_the_median():
    durations = iter([0.05, 0.01, 0.03, 0.02, 9.0])  # warm-up first; 9.0 must never be reached
    now = [0.0]
    pending = []

    def clock():
        if pending:
            now[0] += pending.pop()
        return now[0]

    def fn():
        pending.append(next(durations))
        return "done"

    t = measure(fn, min_time=0.05, max_repeats=10, clock=clock)
    # 0.01 + 0.03 + 0.02 = 0.06 >= min_time after three repeats: stop there
    assert t.repeats == 3
    assert t.seconds == pytest.approx(0.02)
    assert (t.min_seconds, t.max_seconds) == (pytest.approx(0.01), pytest.approx(0.03))
    assert t.result == "done"


@given(st.floats(-3, 3), st.floats(1e-6, 1e3))
def test_fit_slope_recovers_an_exact_power_law(slope, scale):
    xs = [10, 100, 1000, 10000]
    fitted, points = fit_slope(xs, [scale * x**slope for x in xs])
    assert points == 4
    assert fitted == pytest.approx(slope, abs=1e-9)  # exact data: only rounding in the logs


def test_fit_slope_needs_two_distinct_sizes():
    assert fit_slope([10], [1.0]) == (None, 1)
    assert fit_slope([10, 10], [1.0, 2.0]) == (None, 2)
    assert fit_slope([10, 100, 1000], [1.0, None, 0.0]) == (None, 1)  # missing and zero times dropped


def test_machine_is_named():
    m = cost_timing.machine()
    assert m.cpu and m.platform and m.numpy == np.__version__
    assert "numpy" in m.line()


def test_parse_grid_sorts_and_rejects_bad_sizes():
    assert parse_grid("100, 10,1e3,10") == [10, 100, 1000]
    for bad in ("", "ten", "1.5", "0", "-3", "inf", "1e9"):
        with pytest.raises(DiffcompareError):
            parse_grid(bad)


# -- gradients -----------------------------------------------------------------------------------

# Tolerances of agreement with the reverse-mode gradient, relative to max |g|:
# forward AD, complex step and sympy are exact up to rounding in a sum of ~n terms (1e-13);
# central differences err by ~eps^(2/3) ~ 4e-11 times f'''-over-f' scales (~1e2 for Rosenbrock at this
# point; measured 2e-10), so 1e-7; forward differences by ~sqrt(eps) ~ 1.5e-8 times f''/f' (~1e2;
# measured 1.2e-7), so 1e-5.
AGREE = {"forward": 1e-13, "finite-complex": 1e-13, "symbolic": 1e-13, "finite-central": 1e-7,
         "finite-forward": 1e-5, "reverse": 0.0}


def test_gradient_evaluation_counts_are_exact_and_all_methods_agree():
    ns = [5, 12]
    report = gradient_cost("rosenbrock", ns, budget=30.0)
    expected = {"reverse": lambda n: 1, "forward": lambda n: n, "finite-forward": lambda n: n + 1,
                "finite-central": lambda n: 2 * n + 1, "finite-complex": lambda n: n + 1}
    for n in ns:
        assert _row(report, "f", n).evaluations == 1
        for method, count in expected.items():
            row = _row(report, method, n)
            assert row.status == "ok", row.status
            assert row.evaluations == count(n), method  # the backend counts f(x) itself too
            assert row.seconds > 0 and row.ratio_to_f == pytest.approx(row.seconds / _row(report, "f", n).seconds)
            assert row.max_rel_diff <= AGREE[method], (method, n, row.max_rel_diff)
    sym = _row(report, "symbolic", 5)  # ran in a worker under the budget
    assert sym.status == "ok" and sym.expression_size > 0 and sym.max_rel_diff <= AGREE["symbolic"]
    assert set(report.slopes) == {"f", *GRADIENT_METHODS}
    assert report.slope_points["reverse"] == 2


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(sorted(families.GRADIENT_FAMILIES)), st.integers(2, 30))
def test_every_gradient_method_agrees_with_reverse_mode(family, n):
    inst = families.gradient_family(family, n)
    ref = GRADIENT_METHODS["reverse"].run(inst)[0]
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    for name in ("forward", "finite-complex", "finite-central"):
        got, passes = GRADIENT_METHODS[name].run(inst)
        assert np.max(np.abs(np.asarray(got) - ref)) / scale <= AGREE[name], (family, n, name)


def test_reverse_gradient_matches_the_50_digit_reference():
    from diffcompare.analysis.compare import error_against
    from diffcompare.backends.symbolic import reference

    for family in ("rosenbrock", "sines"):
        inst = families.gradient_family(family, 6)
        _, exact = reference(inst.f, inst.x, "gradient")
        _, rel = error_against(exact, GRADIENT_METHODS["reverse"].run(inst)[0])
        assert rel < 1e-14  # AD is exact up to rounding in a few dozen operations (~50 eps)


def test_mlp_has_exactly_n_weights_after_rounding_up():
    for n, actual in ((1, 10), (10, 10), (11, 15), (100, 100), (1002, 1005)):
        inst = families.gradient_family("mlp", n)
        assert inst.n == actual == inst.x.size
        assert np.ndim(inst.f(inst.x)) == 0


def test_an_expression_in_one_variable_is_summed_over_x():
    inst = instance("sin(x)**2", 7)
    assert inst.f(inst.x) == pytest.approx(float(np.sum(np.sin(inst.x) ** 2)), rel=1e-15)
    with pytest.raises(DiffcompareError):
        instance("x*y", 7)
    with pytest.raises(DiffcompareError):
        instance("log(x - 5)", 7)  # the point lies in (0.2, 0.8): outside the domain


def test_a_misspelt_family_name_is_refused_not_summed_as_a_variable():
    """cost gradient --function rosenbrok timed sum(x_i), a variable named rosenbrok, and exited 0."""
    with pytest.raises(DiffcompareError, match=r"no function family named 'rosenbrok' \(did you mean 'rosenbrock'\?\)"):
        instance("rosenbrok", 7)
    assert instance("theta", 7).n == 7  # far from every family name: still an expression in one variable


def test_a_cell_predicted_past_the_budget_is_skipped_without_running():
    # at n=10 central differences take ~0.5 ms here; from there the prediction for n=10^4 is ~1000x
    # that, far over 1 ms, so the cell must be skipped whatever the machine's speed
    report = gradient_cost("sines", [10, 10000], ["reverse", "finite-central"], budget=1e-3)
    big = _row(report, "finite-central", 10000)
    assert big.status.startswith("skipped") and big.seconds is None and big.evaluations is None
    assert report.slope_points["finite-central"] <= 1


def test_symbolic_past_its_budget_is_stopped():
    # sympy's gradient of the 20-weight MLP takes over a minute: the worker must be killed at 2*0.2+1 s
    report = gradient_cost("mlp", [20], ["symbolic"], budget=0.2)
    row = _row(report, "symbolic", 20)
    assert row.status.startswith("timeout") and row.seconds is None


# -- Hessians ------------------------------------------------------------------------------------


def test_hessian_counts_and_agreement():
    ns = [4, 9]
    report = hessian_cost("rosenbrock", ns, ["forward-over-reverse", "reverse-over-reverse",
                                              "finite-of-gradient", "finite-second"], budget=30.0)
    for n in ns:
        assert _row(report, "gradient", n).ratio_to_gradient == 1.0
        assert _row(report, "forward-over-reverse", n).evaluations == n
        assert _row(report, "reverse-over-reverse", n).evaluations == n
        assert _row(report, "finite-of-gradient", n).evaluations == 2 * n + 1
        assert _row(report, "finite-second", n).evaluations == 2 * n * n + 1  # Exercise 1: n^2
        # AD both ways: exact up to rounding (1e-13); central differences of the exact gradient err by
        # ~eps^(2/3) x scale (measured 2e-11): 1e-6; second differences of f by ~sqrt(eps) (measured 1e-8): 1e-5
        assert _row(report, "reverse-over-reverse", n).max_rel_diff <= 1e-13
        assert _row(report, "finite-of-gradient", n).max_rel_diff <= 1e-6
        assert _row(report, "finite-second", n).max_rel_diff <= 1e-5
        assert _row(report, "hvp", n).max_rel_diff <= 1e-13  # H v by one JVP of the gradient vs (H) @ v


# -- Jacobians -----------------------------------------------------------------------------------


def test_crossover_of_synthetic_linear_costs():
    # t_fwd = 2 us per input, t_rev = 6 us per output: equal cost at n = 3 m
    sizes = [1, 4, 16, 64, 256]
    cells = [(n, m, 2e-6 * n, 6e-6 * m) for n in sizes for m in sizes]
    c = crossover(cells)
    assert c.ratio == pytest.approx(3.0, rel=1e-9)  # exact data: only rounding
    assert c.slope == pytest.approx(1.0, rel=1e-9)
    assert c.points == 25
    for cell in c.cells:
        ratio = (2e-6 * cell.n) / (6e-6 * cell.m)
        expect = "tie" if max(ratio, 1 / ratio) < 1.10 else ("jacfwd" if ratio < 1 else "jacrev")
        assert cell.winner == expect
    # for n = 64 the winner flips at m = 64/3 (log-interpolation is exact for power laws)
    assert c.per_n[64] == pytest.approx(64 / 3, rel=1e-9)
    assert c.per_n[1] is None  # jacfwd wins the whole row (m = 1 gives a ratio of 1/3)


def test_crossover_without_a_trend_has_no_ratio():
    c = crossover([(4, 4, 1e-3, 2e-3), (8, 8, 1e-3, 2e-3)])  # one value of n/m: no fit
    assert c.ratio is None and c.slope is None
    c = crossover([(1, 4, 1e-3, None), (4, 1, None, 1e-3)])  # missing times are not cells of the fit
    assert c.points == 0 and all(cell.winner is None for cell in c.cells)


def test_jacobian_passes_and_agreement():
    report = jacobian_cost([1, 5], [2, 7], budget=30.0)
    for n in (1, 5):
        for m in (2, 7):
            fwd = _row(report, "jacfwd", n, m=m)
            rev = _row(report, "jacrev", n, m=m)
            assert (fwd.evaluations, rev.evaluations) == (n, m)
            assert fwd.max_rel_diff <= 1e-14  # the same rules applied forwards and backwards: rounding only
    cross = report.summary["crossover"]
    assert len(cross.cells) == 4 and set(cross.per_n) == {1, 5}
    assert len(report.summary["crossover_batched"].cells) == 4


def _calls_per_method(monkeypatch):
    """Calls of f per contestant of `cost jacobian`, told apart by the progress callback (a public hook)."""
    calls: dict[str, int] = {}
    current = ["f"]
    make = families.tanh_linear

    def counting_family(n, m):
        inst = make(n, m)
        f = inst.f

        def counted(x):
            calls[current[0]] = calls.get(current[0], 0) + 1
            return f(x)

        return families.Instance(inst.family, counted, inst.x, inst.n, inst.m, inst.description)

    monkeypatch.setattr(families, "tanh_linear", counting_family)
    return calls, lambda done, total, label: current.__setitem__(0, label.split(" at ")[0])


def test_jacobian_times_one_direction_per_pass_by_default(monkeypatch):
    """The lecture's crossover near n = m needs jacfwd to be n passes of one direction, as jacrev is m pullbacks of
    one cotangent: timing dc.jacfwd (all n tangents in one vectorized pass) moved it to n = 20 m. Counted, not timed:
    every call of f is one forward pass (the progress callback says whose)."""
    calls, progress = _calls_per_method(monkeypatch)
    n, m = 6, 3
    report = jacobian_cost([n], [m], budget=30.0, progress=progress)
    fwd, rev, batched = (_row(report, name, n, m=m) for name in ("jacfwd", "jacrev", "jacfwd-batched"))
    runs = {row.method: row.repeats + 1 for row in (fwd, rev, batched)}  # the warm-up call and the timed ones
    assert calls["jacfwd"] == n * runs["jacfwd"]  # n passes per Jacobian: one direction each
    assert calls["jacrev"] == runs["jacrev"]  # one recording, then m pullbacks that do not call f
    assert calls["jacfwd-batched"] == runs["jacfwd-batched"]  # one pass carries all n directions
    # the rows say the same, from the harness's own count in the warm-up call
    assert (fwd.evaluations, fwd.passes) == (n, n) and (batched.evaluations, batched.passes) == (n, 1)
    assert (rev.evaluations, rev.passes) == (m, None)
    assert batched.max_rel_diff <= 1e-14 and fwd.max_rel_diff <= 1e-14


def test_jacobian_notes_say_what_was_timed():
    from diffcompare.render.cost import summary_text, work_text

    report = jacobian_cost([2, 8], [2, 8], budget=30.0)
    notes = " ".join(report.notes)
    assert "jacfwd n JVPs, one direction per pass" in notes and "jacrev m VJPs after one recording" in notes
    assert "jacfwd: one pass through f per JVP at every size (counted)" in report.notes
    batched = next(note for note in report.notes if note.startswith("jacfwd-batched:"))
    assert "1 pass at n=2, 8" in batched and "N-fold arithmetic" in batched
    assert work_text(_row(report, "jacfwd", 8, m=2)) == "8" and work_text(_row(report, "jacfwd-batched", 8, m=2)) \
        == "8 in 1"
    summary = summary_text(report)
    assert "jacfwd (one direction per pass) wins when n <" in summary and "jacfwd-batched (dc.jacfwd" in summary


def test_forward_passes_are_counted_not_assumed(monkeypatch):
    """dc.jacfwd carries n tangents per pass up to BATCH_ELEMENTS = n x tangents, in chunks past it: the gradient
    and Hessian tables show the passes that ran (calls of f counted in the warm-up call), so a chunked run says so."""
    from diffcompare.ad import transforms
    from diffcompare.render.cost import work_text

    report = gradient_cost("rosenbrock", [5, 12], ["reverse", "forward"], budget=30.0)
    assert [(r.evaluations, r.passes) for r in report.rows if r.method == "forward"] == [(5, 1), (12, 1)]
    assert work_text(_row(report, "forward", 12)) == "12 in 1" and work_text(_row(report, "reverse", 12)) == "1"
    assert any(note.startswith("forward: 'N in P'") and "1 pass at n=5, 12" in note for note in report.notes)
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 48)  # 48 // 12 = 4 tangents per pass: 3 passes
    report = gradient_cost("rosenbrock", [12], ["reverse", "forward"], budget=30.0)
    assert (_row(report, "forward", 12).passes, work_text(_row(report, "forward", 12))) == (3, "12 in 3")
    hess = hessian_cost("rosenbrock", [6], ["forward-over-reverse", "reverse-over-reverse"], budget=30.0)
    assert (_row(hess, "forward-over-reverse", 6).evaluations, _row(hess, "forward-over-reverse", 6).passes) == (6, 1)
    assert _row(hess, "reverse-over-reverse", 6).passes is None  # n pullbacks: evaluations say it
    from diffcompare.render.cost import summary_text

    assert "the n HVPs ride in batched passes" in summary_text(hess)  # not "costs about n gradients"


# -- memory --------------------------------------------------------------------------------------


def test_reverse_tape_grows_with_depth_and_forward_stays_flat():
    report = memory_cost([100, 1000], budget=30.0)
    rev = [_row(report, "reverse", 1, k=k) for k in (100, 1000)]
    fwd = [_row(report, "forward", 1, k=k) for k in (100, 1000)]
    assert [r.operations for r in rev] == [300, 3000]  # three recorded operations per step
    # 10x the depth: the tape should take ~10x the memory (measured 9.85, fixed overhead aside); allow
    # half for allocator and garbage-collector noise. Forward mode keeps one (value, tangent) pair:
    # measured the same ~2 kB at both depths; allow 2x.
    assert rev[1].peak_bytes / rev[0].peak_bytes > 5
    assert fwd[1].peak_bytes / fwd[0].peak_bytes < 2
    assert rev[1].peak_bytes > 5 * fwd[1].peak_bytes
    # every recorded operation keeps at least its 8-byte float result alive until the backward pass
    assert rev[1].bytes_per_op > 8
    assert report.summary["marginal_bytes_per_op"] > 8
    assert fwd[1].max_rel_diff <= 1e-12  # dx_k/dx0 by forward and reverse mode: rounding only


def test_peak_bytes_sees_a_large_allocation():
    peak, result = peak_bytes(lambda: np.ones(100_000).sum())
    assert result == 100_000.0
    assert peak >= 800_000  # the array of 10^5 float64 lived during the call


def test_logistic_map_depth():
    assert families.logistic_map(0)(0.3) == 0.3
    assert families.logistic_map(2)(0.3) == pytest.approx(2.5 * (2.5 * 0.3 * 0.7) * (1 - 2.5 * 0.3 * 0.7))


# -- the command line ----------------------------------------------------------------------------


def _json(capsys, args):
    assert main(args) == 0
    out = capsys.readouterr()
    return json.loads(out.out)


def test_cli_gradient_json_schema(capsys):
    data = _json(capsys, ["cost", "gradient", "--n", "10,20", "--methods", "reverse,forward,finite-central",
                          "--json"])
    assert data["command"] == "cost gradient"
    assert {r["method"] for r in data["rows"]} == {"f", "reverse", "forward", "finite-central"}
    for row in data["rows"]:
        assert JSON_ROW_KEYS <= set(row)
        assert row["m"] is None and row["peak_bytes"] is None  # not applicable to a gradient
    assert set(data["slopes"]) == {"f", "reverse", "forward", "finite-central"}
    assert all(isinstance(v, float) for v in data["slopes"].values())
    assert {"cpu", "cores", "platform", "numpy", "python"} <= set(data["machine"])


def test_cli_jacobian_json_has_the_crossover(capsys):
    data = _json(capsys, ["cost", "jacobian", "--n", "1,6", "--m", "1,6", "--json"])
    assert {(r["n"], r["m"]) for r in data["rows"]} == {(1, 1), (1, 6), (6, 1), (6, 6)}
    assert all(JSON_ROW_KEYS <= set(r) for r in data["rows"])
    assert len(data["summary"]["crossover"]["cells"]) == 4


def test_cli_memory_json_peak_bytes(capsys):
    data = _json(capsys, ["cost", "memory", "--k", "10,100", "--json"])
    rev = [r for r in data["rows"] if r["method"] == "reverse"]
    assert [r["k"] for r in rev] == [10, 100] and all(r["peak_bytes"] > 0 for r in rev)
    assert data["slopes_of"] == "peak bytes vs k"


def test_cli_hessian_table(capsys):
    assert main(["cost", "hessian", "--n", "3,6", "--methods", "forward-over-reverse,finite-second"]) == 0
    out = capsys.readouterr().out
    assert "forward-over-reverse" in out and "hvp" in out and "machine:" in out and "slopes" in out


@pytest.mark.parametrize("args", [
    ["cost", "gradient", "--n", "ten"],
    ["cost", "gradient", "--n", "10", "--budget", "-1"],
    ["cost", "gradient", "--n", "10", "--methods", "magic"],
    ["cost", "gradient", "--n", "10", "--function", "x*y"],
    ["cost", "gradient", "--n", "10", "--function", "__import__('os')"],
    ["cost", "jacobian", "--m", "0"],
    ["cost", "memory", "--k", "10", "--plot", "out.txt"],
    ["cost", "hessian", "--n", "10", "--plot", "/no/such/folder/h.png"],
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, args):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_cli_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for args in (["jacobian", "--n", "1,3", "--m", "1,3"],
                 ["memory", "--k", "10,30"]):
        path = tmp_path / f"{args[0]}.png"
        assert main(["cost", *args, "--plot", str(path), "--json"]) == 0
        assert path.stat().st_size > 1000
        json.loads(capsys.readouterr().out)  # --json still prints exactly one document


def test_slopes_of_a_report_are_finite_or_none():
    report = gradient_cost("sines", [10, 30, 100], ["reverse", "forward"], budget=30.0)
    for slope in report.slopes.values():
        assert slope is None or math.isfinite(slope)
    assert report.slope_points["forward"] == 3


def _jacobian_report_with_skips():
    from diffcompare.analysis.cost import CostReport, Row
    from diffcompare.analysis.cost_jacobian import _plane_slopes
    from diffcompare.analysis.cost_timing import machine

    report = CostReport("jacobian", "tanh_linear", "tanh(A @ x)", 2.0, machine(), reference="jacrev")
    for n, m, fwd in ((1, 1, 1e-4), (1, 4, 1e-4), (4, 1, 2e-4), (4, 4, None), (1024, 256, None), (1024, 1024, None)):
        report.rows.append(Row("jacfwd", n, m, seconds=fwd, evaluations=n, ratio_to_f=1.0) if fwd else
                           Row("jacfwd", n, m, status=f"skipped: predicted {n * m / 100:.3g} s > 2 s"))
        report.rows.append(Row("jacrev", n, m, seconds=1e-4, evaluations=m, ratio_to_f=1.0))
    _plane_slopes(report)
    report.summary["crossover"] = crossover([(r.n, r.m, r.seconds, report.rows[i + 1].seconds)
                                            for i, r in enumerate(report.rows) if r.method == "jacfwd"])
    return report


def test_jacobian_skip_notes_name_n_and_m():
    from rich.console import Console

    from diffcompare.render.cost import table

    console = Console(width=120, record=True, file=__import__("io").StringIO())
    console.print(table(_jacobian_report_with_skips()))
    text = console.export_text()
    # two cells at n = 1024 skipped with different predictions: each note says which m it is
    assert "jacfwd at n=1024, m=256: skipped: predicted 2.62e+03 s" in text
    assert "jacfwd at n=1024, m=1024: skipped: predicted 1.05e+04 s" in text


def test_jacobian_heatmap_labels_skipped_cells():
    pytest.importorskip("matplotlib")
    from diffcompare.render.cost import _heatmap
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = _heatmap(plt, _jacobian_report_with_skips())
    texts = [t.get_text() for t in fig.axes[0].texts]
    xlabel = fig.axes[0].get_xlabel()
    plt.close(fig)
    assert sum("skipped" in t for t in texts) == 3  # (4, 4), (1024, 256), (1024, 1024): none left blank
    assert "hatched: not measured" in xlabel


def test_jacobian_heatmap_draws_both_crossovers_below_the_grid():
    """The lecture's crossover (one direction per pass) and dc.jacfwd's, labelled in a legend under the axes: inside,
    it covered the top row's labels."""
    pytest.importorskip("matplotlib")
    from diffcompare.render.cost import _heatmap
    from diffcompare.render.figures import pyplot

    report = _jacobian_report_with_skips()
    report.summary["crossover"] = crossover([(n, m, 2e-6 * n, 6e-6 * m) for n in (1, 4, 16) for m in (1, 4, 16)])
    report.summary["crossover_batched"] = crossover([(n, m, 1e-7 * n, 6e-6 * m) for n in (1, 4, 16)
                                                     for m in (1, 4, 16)])
    plt = pyplot()
    fig = _heatmap(plt, report)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    below = ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0
    plt.close(fig)
    assert labels == ["fitted crossover n = 3 m", "dc.jacfwd (batched) against jacrev: n = 60 m"]
    assert below


def test_cost_curves_legends_sit_below_the_panels():
    # inside the panel the Hessian's legend covered the hvp line: below it covers nothing
    pytest.importorskip("matplotlib")
    from diffcompare.analysis.cost import CostReport, Row
    from diffcompare.analysis.cost_timing import machine
    from diffcompare.render.cost import _curves
    from diffcompare.render.figures import pyplot

    report = CostReport("hessian", "sines", "sum of sines", 2.0, machine())
    for method in ("f", "reverse-over-forward", "hvp", "finite"):
        for n in (4, 16, 64):
            report.rows.append(Row(method, n, seconds=1e-5 * n, ratio_to_f=float(n)))
    plt = pyplot()
    fig = _curves(plt, report)
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0
    plt.close(fig)


def test_a_slope_through_fewer_than_three_sizes_is_marked_weak():
    """`cost gradient --n 10,100,1000` with n=1000 skipped printed "forward 1.98" next to "(theory … 1)" as if
    measured: two points always lie on a line, so the table and the summary say the slope is weak."""
    import io

    from rich.console import Console

    from diffcompare.analysis.cost import CostReport, Row, fit_slopes
    from diffcompare.analysis.cost_timing import machine
    from diffcompare.render.cost import summary_text, table

    report = CostReport("gradient", "sum_sin", "sum of sines", 2.0, machine())
    for method, sizes in (("f", (10, 100, 1000)), ("reverse", (10, 100, 1000)), ("forward", (10, 100))):
        for n in (10, 100, 1000):
            ok = n in sizes
            report.rows.append(Row(method, n, seconds=1e-6 * n if ok else None, ratio_to_f=float(n) if ok else None,
                                   status="ok" if ok else "skipped: over budget"))
    fit_slopes(report, lambda r: r.n, lambda r: r.seconds)
    fit_slopes(report, lambda r: r.n, lambda r: r.ratio_to_f, "ratio_to_f vs n")
    summary = summary_text(report)
    assert "forward 1.00 (weak: 2 sizes)" in summary
    assert "reverse 1.00," in summary or "reverse 1.00 " in summary  # three sizes: not weak
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(table(report))
    lines = out.getvalue().splitlines()
    assert "weak" in next(line for line in lines if line.startswith("│ forward"))
    assert "weak" not in next(line for line in lines if line.startswith("│ reverse"))
    assert any("fewer than 3 sizes" in line for line in lines)
