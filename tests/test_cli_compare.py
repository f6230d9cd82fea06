"""`diffcompare compare` and `examples`: the table, the JSON contract, and every kind of bad input."""

import json

import pytest

from diffcompare.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_json_has_the_contract_and_the_slides_gradient(capsys):
    code, out, err = run(capsys, "compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["variables"] == ["x1", "x2"] and doc["point"] == {"x1": 3.0, "x2": -4.0}
    assert [round(v, 3) for v in doc["reference"]["derivative"]] == [-4.333, 4.0]
    by_name = {r["backend"]: r for r in doc["results"]}
    assert set(by_name) == {"finite", "symbolic", "reverse", "forward"}
    for r in doc["results"]:
        assert {"backend", "value", "derivative", "abs_error", "rel_error", "seconds"} <= set(r)
    # AD and the symbolic backend are exact up to one rounding of -13/3 (3e-16 absolute)
    assert by_name["reverse"]["abs_error"] < 1e-15 and by_name["symbolic"]["abs_error"] < 1e-15
    assert by_name["finite"]["evaluations"] == 5  # 2n + 1: the value and two per input
    assert by_name["reverse"]["tape_ops"] == 4  # v1..v4 of Table 3


def test_compare_by_example_name_uses_the_examples_point(capsys):
    code, out, _ = run(capsys, "compare", "sin", "--backends", "reverse", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["results"][0]["derivative"] == pytest.approx(0.5, rel=1e-15)


def test_compare_table_renders(capsys):
    code, out, _ = run(capsys, "compare", "table3")
    assert code == 0 and "reverse" in out and "-4.33333333333" in out


def test_examples_lists_the_lecture_functions(capsys):
    code, out, _ = run(capsys, "examples", "--json")
    names = {e["name"] for e in json.loads(out)}
    assert code == 0 and {"table1", "table3", "sin", "cube", "contour", "dependency_graph", "logistic"} <= names


@pytest.mark.parametrize(
    "argv, words",
    [
        (["compare", "x1*x2 +", "--at", "x1=1"], "invalid"),
        (["compare", "foo(x)", "--at", "x=1"], "unknown function"),
        (["compare", "x.real", "--at", "x=1"], "not allowed"),
        (["compare", "x*y", "--at", "x=1"], "missing value for y"),
        (["compare", "x*y", "--at", "x=1,y=2,z=3"], "z"),
        (["compare", "x*y", "--at", "x=1,y=abc"], "y"),
        (["compare", "log(x)", "--at", "x=-1"], "not defined"),
        (["compare", "1/x", "--at", "x=0"], "not"),
        (["compare", "9**9**9**9*x", "--at", "x=1"], "exponent"),
        (["compare", "(" * 10000 + "x" + ")" * 10000, "--at", "x=1"], "characters"),
        (["compare", "x", "--at", "x=1", "--backends", "nope"], "unknown backend"),
        (["compare", "x", "--at", "x=1", "--scheme", "nope"], "scheme"),
        (["compare", "x*y"], "--at"),
        (["compare", "x", "--at", "x=1", "--bogus"], "bogus"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_code_2(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert words.lower() in err.lower()


def test_compare_shows_the_finite_estimate_and_a_yellow_row_when_it_says_do_not_trust(capsys):
    import io

    from rich.console import Console

    from diffcompare.analysis.compare import Comparison, Row
    from diffcompare.backends.base import Result
    from diffcompare.render.compare import table

    code, out, _ = run(capsys, "compare", "tan(x)", "--at", "x=1.5", "--scheme", "adaptive", "--json")
    finite = json.loads(out)["results"][0]
    assert code == 0 and finite["options"]["scheme"] == "adaptive"
    # the estimate is real: it bounds the measured error, and both are small (fixed richardson: 6e-5); the
    # estimate is the rounding floor 2 eps (|f| + |x f'|) / h at h ~ 1e-4: ~1e-11 relative
    assert finite["abs_error"] <= finite["error_estimate"] <= 1e-10 * abs(finite["derivative"])
    code, out, _ = run(capsys, "compare", "tan(x)", "--at", "x=1.5", "--scheme", "adaptive")
    assert code == 0 and " est " in out
    code, out, _ = run(capsys, "compare", "tan(x)", "--at", "x=1.5")  # central: no estimate, no column
    assert " est " not in out

    def rendered(estimate):
        result = Result("finite", 1.0, 2.0, 1e-5, {"scheme": "adaptive"}, evaluations=9, error_estimate=estimate)
        c = Comparison("f", ("x",), (1.0,), "derivative", 1.0, 2.0, "test", [Row("finite", result, 1e-16, 5e-17)])
        console = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=100)
        console.print(table(c))
        return console.file.getvalue()

    # a measured error of 5e-17 is green; an estimate of 1e-3 (relative 5e-4) turns the row yellow
    assert "\x1b[33m" not in rendered(1e-15) and "\x1b[32m" in rendered(1e-15)
    assert "\x1b[33m" in rendered(1e-3) and "\x1b[32m" not in rendered(1e-3)
