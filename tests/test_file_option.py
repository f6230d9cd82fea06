"""`--file f.py:func` (issue 13 item 13): the student's own numpy code from the command line, and every way
loading it can go wrong as one line with exit code 2 (the traceback is theirs to see with --debug)."""

import json
import textwrap

import pytest

from diffcompare.cli import main

CODE = '''
import numpy as np

def relu_product(x1, x2):
    s = x1 * x2 + np.sin(x1)
    if s > 0:          # value-dependent control flow: sympy cannot follow it, AD and finite differences can
        return s
    return 0.5 * s


def smooth(x, y, scale=2.0):  # a parameter with a default is a setting, not a variable
    return scale * np.exp(x) * np.sin(y)


def crashes(x):
    return {"a": x}["b"]


def branchy(x):
    if x > 100:
        return x
    return x ** 3


def energy(x):  # a function of one vector, for `cost`: a Python loop over its entries
    total = 0.0
    for i in range(len(x) - 1):
        total = total + (x[i + 1] - x[i]) ** 2
    return total + np.sum(np.sin(x))


not_a_function = 3
'''


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(CODE))
    monkeypatch.chdir(tmp_path)
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_runs_every_backend_on_a_function_with_an_if_and_sympy_says_why_not(capsys, user_file):
    code, out, err = run(capsys, "compare", "--file", f"{user_file}:relu_product", "--at", "x1=3,x2=4", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["variables"] == ["x1", "x2"] and doc["point"] == {"x1": 3.0, "x2": 4.0}
    rows = {r["backend"]: r for r in doc["results"]}
    # the active branch is s itself: d/dx1 = x2 + cos(3), d/dx2 = x1
    assert rows["reverse"]["derivative"] == pytest.approx([4 + 0.9899924966004454 * -1, 3.0], rel=1e-15)
    assert rows["forward"]["derivative"] == pytest.approx(rows["reverse"]["derivative"], rel=1e-15)
    assert rows["finite"]["derivative"] == pytest.approx(rows["reverse"]["derivative"], rel=1e-8)
    assert "cannot decide `if`/`while`" in rows["symbolic"]["unsupported"]
    assert "cannot decide" in doc["reference"]["method"] and doc["reference"]["derivative"] is None


def test_the_table_gives_sympys_reason_once_in_the_caption_not_in_a_narrow_cell(capsys, user_file, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # the cell on one line
    code, out, _ = run(capsys, "compare", "--file", "mine.py:relu_product", "--at", "x1=3,x2=4")
    text = " ".join(out.split())
    assert code == 0 and "cannot (reason below)" in text
    assert text.count("cannot decide `if`/`while`") == 1


def test_a_module_name_works_like_a_path_and_defaults_are_not_variables(capsys, user_file):
    code, out, err = run(capsys, "compare", "--file", "mine:smooth", "--at", "x=1,y=2", "--json",
                         "--backends", "reverse,symbolic")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["variables"] == ["x", "y"] and doc["function"] == "mine:smooth"
    for r in doc["results"]:
        assert r["abs_error"] < 1e-15


@pytest.mark.parametrize("command", [["derivatives", "--order", "2"], ["trace"], ["graph"]])
def test_every_command_taking_an_expression_takes_file(capsys, user_file, command):
    code, out, err = run(capsys, command[0], "--file", "mine.py:branchy", "--at", "x=2", *command[1:], "--json")
    assert code == 0, err
    assert json.loads(out)


def test_plot_and_error_vs_h_take_file(capsys, user_file):
    code, out, err = run(capsys, "plot", "--file", "mine.py:smooth", "--range", "0:1", "--points", "5", "--json")
    assert code == 0 and json.loads(out)["variables"] == ["x", "y"], err
    code, out, err = run(capsys, "error-vs-h", "--file", "mine.py:smooth", "--at", "x=1,y=2", "--points", "6",
                         "--schemes", "central", "--json")
    assert code == 0 and json.loads(out)["variables"] == ["x", "y"], err


@pytest.mark.parametrize("argv, message", [
    (["compare", "sin(x)", "--file", "mine.py:smooth", "--at", "x=1"], "give an expression or --file, not both"),
    (["compare", "--at", "x=1"], "or your own function with --file"),
    (["compare", "--file", "missing.py:f", "--at", "x=1"], "no file 'missing.py'"),
    (["compare", "--file", "nosuchmodule:f", "--at", "x=1"], "no module named 'nosuchmodule'"),
    (["compare", "--file", "mine.py:smoth", "--at", "x=1"], "has no function 'smoth' (did you mean 'smooth'?)"),
    (["compare", "--file", "mine.py:not_a_function", "--at", "x=1"], "is not a function (it is a int)"),
    (["compare", "--file", "mine.py", "--at", "x=1"], "--file wants FILE.py:FUNCTION"),
    (["compare", "--file", "mine.py:crashes", "--at", "x=1"], "raised KeyError: 'b' at mine.py line 16"),
    (["compare", "--file", "mine.py:smooth", "--vars", "y,x", "--at", "x=1,y=1"], "--vars is for expressions"),
    (["compare", "--file", "mine.py:smooth", "--at", "x=1"], "missing value for y"),
    (["compare", "--file", "mine.py:smooth"], "give the point with --at, e.g. --at x=1,y=1"),
    (["error-vs-h", "--file", "mine.py:branchy", "--at", "x=2"], "error-vs-h measures every step against"),
    (["cost", "gradient", "--file", "mine.py:smooth"], "cost needs a function of one vector"),
    (["cost", "hessian", "--file", "mine.py:energy", "--function", "sines"], "give --function or --file, not both"),
    (["cost", "gradient", "--file", "mine.py:crashes"], "raised KeyError: 'b' at mine.py line 16"),
    (["plot", "--file", "mine.py:branchy", "--range", "0:3"], "write np.where(condition, a, b) instead of `if`"),
])
def test_bad_files_and_functions_are_one_line_errors_with_exit_2(capsys, user_file, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_cost_measures_the_users_function_of_a_vector(capsys, user_file):
    code, out, err = run(capsys, "cost", "gradient", "--file", "mine.py:energy", "--n", "3,5",
                         "--methods", "reverse,finite-central", "--budget", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["function"] == "mine.py:energy"
    rows = [r for r in doc["rows"] if r["method"] == "finite-central"]
    assert [r["n"] for r in rows] == [3, 5] and all(r["max_rel_diff"] < 1e-8 for r in rows)


def test_a_syntax_error_in_the_file_names_its_line(capsys, tmp_path):
    (tmp_path / "broken.py").write_text("def f(x:\n    return x\n")
    code, _, err = run(capsys, "compare", "--file", f"{tmp_path / 'broken.py'}:f", "--at", "x=1")
    assert code == 2 and err.startswith("error: syntax error in broken.py line 1") and err.count("\n") == 1


def test_an_exception_on_import_is_one_line(capsys, tmp_path):
    (tmp_path / "noisy.py").write_text("import numpy as np\nraise RuntimeError('no data file')\n")
    code, _, err = run(capsys, "compare", "--file", f"{tmp_path / 'noisy.py'}:f", "--at", "x=1")
    assert code == 2 and "importing noisy.py raised RuntimeError: no data file at noisy.py line 2" in err


def test_debug_shows_the_users_traceback_not_ours(capsys, user_file):
    code, _, err = run(capsys, "--debug", "compare", "--file", "mine.py:crashes", "--at", "x=1")
    assert code == 2
    assert err.startswith("Traceback") and 'mine.py", line 16, in crashes' in err
    assert "diffcompare" not in err.split("KeyError")[0]  # the user's frames only
    assert err.strip().splitlines()[-1].startswith("error: ")
    # an exception inside the user's code during the analysis (not at the point): also theirs, exit 2
    code, _, err = run(capsys, "--debug", "plot", "--file", "mine.py:branchy", "--range", "0:3")
    assert code == 2 and 'mine.py", line 20, in branchy' in err
