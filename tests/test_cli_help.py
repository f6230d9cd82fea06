"""The CLI's own surface (issue 13, item 10): --help at 40/80/120 columns, --version, shell completion,
name hints of the parser as the user sees them, and that `import diffcompare.cli` stays light."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from diffcompare.cli import app, main
from diffcompare.parse import compile_expression

COMMANDS = ["", "backends", "compare", "examples", "derivatives", "backprop", "plot", "error-vs-h", "swell", "trace",
            "graph", "reproduce", "cost", "cost gradient", "cost jacobian", "cost hessian", "cost memory"]


def _help(monkeypatch, capsys, command: str, width: int) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    code = main([*command.split(), "--help"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    return out


@pytest.mark.parametrize("width", [40, 80, 120])
def test_help_of_every_command_cuts_nothing_and_shows_no_placeholders(monkeypatch, capsys, width):
    for command in COMMANDS:
        out = _help(monkeypatch, capsys, command, width)
        assert "…" not in out, f"{command!r} --help at {width} columns cuts a word"
        assert "<bool>" not in out, f"{command!r} --help: a flag shows a value placeholder"
        assert "{" not in out, f"{command!r} --help: the usage line shows {{expr}}"
        assert all(len(line) <= width for line in out.splitlines()), f"{command!r} wider than {width}"


@pytest.mark.parametrize("width", [40, 80, 120])
def test_usage_names_the_argument_as_click_does(monkeypatch, capsys, width):
    out = _help(monkeypatch, capsys, "derivatives", width)
    assert "[OPTIONS] [EXPR]" in " ".join(out.split())  # optional (--file may stand for it): in brackets
    import typer
    from typer.testing import CliRunner

    from diffcompare.cli.app import App

    tiny = App(add_completion=False)

    @tiny.command()
    def one(name: str = typer.Argument(..., help="A required argument.")) -> None:
        """One command."""

    @tiny.command()
    def two() -> None:
        """Another, so that the commands are a group."""

    result = CliRunner().invoke(tiny, ["one", "--help"], env={"COLUMNS": str(width)})
    assert "[OPTIONS] NAME" in " ".join(result.output.split()) and "{" not in result.output


@pytest.mark.parametrize("width", [80, 120])
def test_descriptions_rewrap_instead_of_keeping_the_source_line_breaks(monkeypatch, capsys, width):
    """The docstring of `trace` breaks after "intermediate" in the source: in the command list each line must be
    full, i.e. the next line's first word would not have fitted on it."""
    lines = _help(monkeypatch, capsys, "", width).splitlines()
    top = next(i for i, line in enumerate(lines) if "Commands" in line)
    panel = [line for line in lines[top + 1:] if line.startswith("│")]
    start = re.match(r"│ \S+\s+", panel[0]).end()  # where the descriptions begin
    end = len(panel[0]) - 2  # the right border and its padding
    for a, b in zip(panel, panel[1:]):
        if b[1:start].strip():  # the next command's entry
            continue
        word = b[start:end].split()[0]
        assert len(a[start:end].rstrip()) + 1 + len(word) > end - start, f"a short line: {a!r} then {word!r}"
    import typer

    for command in typer.main.get_command(app).commands.values():
        for paragraph in (command.help or "").split("\n\n"):
            assert "\n" not in paragraph, f"{command.name}: a line break inside a paragraph"


def test_long_defaults_are_shown_whole_at_80_columns(monkeypatch, capsys):
    out = " ".join(_help(monkeypatch, capsys, "error-vs-h", 80).replace("│", " ").split())
    assert "five-point, complex, richardson" in out


def test_version_comes_from_the_package_metadata(capsys):
    assert main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"diffcompare {version('diffcompare')}" and err == ""


# typer finds "the current shell" with shellingham, which walks the process tree: where no shell is among the
# ancestors (CI, a job started by a daemon) it finds none, `--show-completion` (a plain flag then, its "bash"
# ignored) prints "Shell  not supported." and exits 1. Each test fixes what it depends on instead.


def test_shell_completion_is_offered(monkeypatch, capsys):
    out = _help(monkeypatch, capsys, "", 120)
    assert "--install-completion" in out and "--show-completion" in out
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")  # typer's switch: the shell is named
    assert main(["--show-completion", "bash"]) == 0
    out, _ = capsys.readouterr()
    assert "_DIFFCOMPARE_COMPLETE" in out and "complete" in out


def test_shell_completion_for_the_detected_shell(monkeypatch, capsys):
    import shellingham

    monkeypatch.delenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", raising=False)
    monkeypatch.setattr(shellingham, "detect_shell", lambda *a, **k: ("zsh", "/bin/zsh"))
    assert main(["--show-completion"]) == 0
    out, _ = capsys.readouterr()
    assert "#compdef diffcompare" in out and "_DIFFCOMPARE_COMPLETE" in out


def test_completion_completes_command_and_option_names():
    env = dict(os.environ, _DIFFCOMPARE_COMPLETE="complete_bash", COMP_WORDS="diffcompare derivatives --sch",
               COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-m", "diffcompare"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["--scheme"]


def test_importing_the_cli_loads_no_heavy_module():
    code = ("import sys, diffcompare.cli; "
            "print(sorted(m for m in ('sympy', 'mpmath', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


# -- the parser's hints, as the user meets them -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("Sin(x)", "unknown function 'Sin'; did you mean 'sin'?"),
    ("sine(x)", "did you mean 'sin'?"),
    ("2x", "write 2*x"),
    ("2sin(x)", "write 2*sin"),
    ("1e-3x + 1", "write 1e-3*x"),
    ("2(x + 1)", "write 2*(x + 1)"),
    ("2 x", "write 2*x"),
    ("x y", "write x*y"),
    ("sin x", "write sin(x)"),
    ("np.sin(x)", "write sin(...)"),
    ("x^2", "write x**2"),
])
def test_bad_expressions_get_a_hint_in_one_line_exit_2(capsys, text, message):
    code = main(["compare", text, "--at", "x=1" if "y" not in text else "x=1,y=2"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_ln_is_log_and_the_graph_labels_read_back_in():
    assert compile_expression("ln(x)")(2.0) == compile_expression("log(x)")(2.0)
    from diffcompare.analysis.graph import computational_graph

    e = compile_expression("x1*x2 + x2 - log(x1)")
    g = computational_graph(e.function, (3.0, -4.0), e.variables, e.text)
    from diffcompare.render.graph import node_texts

    texts = node_texts(g)
    labels = [n for n in g.nodes if "ln(" in texts[n.name][1]]
    assert labels
    for node in g.nodes:  # every label (ln(x1) among them) is an expression with the node's value
        label = texts[node.name][1]
        assert compile_expression(label, e.variables)(3.0, -4.0) == node.value, label


def test_at_40_columns_a_long_option_leaves_its_help_room_below_it(monkeypatch, capsys):
    """click would keep a 26-character option beside a 10-character help column; it goes on its own line."""
    lines = _help(monkeypatch, capsys, "swell", 40).splitlines()
    assert "--formulas / --no-formulas" in [line.strip() for line in lines]


def test_the_typer_pin_excludes_releases_that_crash_with_click_8_2():
    """typer < 0.15.4 allows click >= 8.2, with which `diffcompare --help` crashes (make_metavar() now needs ctx);
    0.15.4 caps click < 8.2 and 0.16 supports it. Measured in scratch venvs with tests/test_cli_help.py:
    typer 0.15.4 + click 8.0.0 / 8.1.8 and typer 0.16.0 + click 8.0.0 / 8.2.1 / 8.5.1 pass; typer 0.15.3 or 0.12.5
    + click 8.2.1 fail."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    typer_req = next(d for d in project["dependencies"] if re.match(r"typer\b", d))
    lower = re.search(r">=\s*([\d.]+)", typer_req)
    assert lower and tuple(int(p) for p in lower.group(1).split(".")) >= (0, 15, 4), typer_req
