"""`diffcompare code`: the program for f, its tangent and its adjoint, in the trace's names, checked against grad."""

import json

import pytest

from diffcompare.analysis.code import generated_program
from diffcompare.cli import main


def _json(capsys, *args):
    assert main(["code", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_adjoint_program_of_table3_reads_like_the_slides_and_agrees_with_grad(capsys):
    data = _json(capsys, "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4")
    src = data["source"]
    assert src.startswith("def reverse(v_m1, v_0, vbar_4):")
    assert "    v_1 = v_m1 * v_0\n" in src and "    v_3 = math.log(v_m1)\n" in src
    assert "    vbar_m1 = vbar_m1 + w_" in src  # the adjoint of v_-1 summed over its two uses
    assert data["names"]["v_m1"] == "v_-1" and data["names"]["vbar_m1"] == "vbar_-1"
    assert data["agrees"] and data["derivative"] == pytest.approx([-13 / 3, 4.0], rel=1e-15)


@pytest.mark.parametrize("mode", ["primal", "forward", "reverse"])
def test_every_mode_runs_and_checks(capsys, mode):
    data = _json(capsys, "sin(x)*y + exp(x*y)", "--at", "x=0.5,y=2", "--mode", mode)
    assert data["mode"] == mode and data["lines"] >= 4
    if mode != "primal":
        assert data["agrees"] and data["max_rel_diff"] <= 1e-15


def test_the_check_reports_a_program_that_differs_from_grad(monkeypatch):
    from diffcompare.ad import expressions

    real = expressions.expression

    def wrong(row, ref, em):  # a planted slip: cos written as sin
        return real(row, ref, em).replace("math.cos", "math.sin")

    monkeypatch.setattr(expressions, "expression", wrong)
    r = generated_program(lambda x: __import__("numpy").sin(x), ("x",), "sin(x)", "reverse", (0.3,))
    assert r.agrees is False


def test_the_terminal_shows_the_code_and_the_check(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["code", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert "def forward(v_m1, v_0, vdot_m1, vdot_0):" in out and "agree" in out


def test_a_bad_mode_is_one_line_and_exit_code_2(capsys):
    assert main(["code", "x", "--mode", "sideways"]) == 2
    err = capsys.readouterr().err
    assert "--mode must be primal, forward or reverse" in err and "Traceback" not in err


def test_the_adjoint_program_of_the_logistic_map_grows_linearly():
    from diffcompare.analysis.swell import logistic

    lines = [generated_program(lambda x, n=n: logistic(x, n), ("x",), f"l_{n}", "reverse", None).lines
             for n in (2, 3, 4, 10)]
    per_step = lines[1] - lines[0]
    assert lines[2] - lines[1] == per_step and lines[3] - lines[2] == 6 * per_step


@pytest.mark.parametrize("expr, at, why", [
    ("log(x)", "x=-1", "the function is not defined at x=-1"),
    ("sqrt(x)", "x=-1", "the function is not defined at x=-1"),
    ("arcsin(x)", "x=2", "the function is not defined at x=2"),
    ("1/x", "x=0", "the function is not defined at x=0"),
    ("x**0.5", "x=-1", "the function is not real at x=-1"),  # ran to 'f = nan ... agree', exit 0
])
def test_a_point_outside_the_domain_is_compares_refusal(capsys, expr, at, why):
    """Checked as compare checks it, before the program runs (it raised math's ValueError: exit 1)."""
    for command in ("code", "compare"):
        assert main([command, expr, "--at", at]) == 2
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "internal error" not in err


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_an_infinite_derivative_where_f_is_defined_is_one_line(capsys, mode):
    """sqrt at 0: f = 0, grad gives inf, the program's Python float division raises: one line, exit 2."""
    assert main(["code", "sqrt(x)", "--at", "x=0", "--mode", mode]) == 2
    err = capsys.readouterr().err
    assert "the derivative is not finite at x=0" in err and err.count("\n") == 1
    assert main(["code", "sqrt(x)", "--at", "x=0", "--mode", "primal"]) == 0


def test_the_readmes_code_table3_example_is_the_real_output(capsys, monkeypatch):
    """The README showed a stale program (a per-product check, '# if p != p'); its example must be what runs."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```text\n$ diffcompare code table3\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["code", "table3"]) == 0
    out = capsys.readouterr().out
    assert [line.rstrip() for line in out.splitlines()] == [line.rstrip() for line in block.splitlines()]


def test_a_short_program_gives_every_partial_its_own_name():
    """README: programs of <= 200 operations keep a name per value (w_k is never reassigned); longer ones recycle."""
    import re

    from diffcompare.analysis.swell import logistic

    for n, recycled in ((10, False), (60, True)):
        r = generated_program(lambda x, n=n: logistic(x, n), ("x",), f"l_{n}", "reverse", None)
        assigned = re.findall(r"^\s+(w_\d+) = ", r.source, flags=re.M)
        assert (len(assigned) != len(set(assigned))) == recycled, (n, r.lines)
