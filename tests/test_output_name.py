"""trace and graph never call the output by an input's name (issue 13 item 4): with a variable y the output is f."""

from diffcompare.analysis.trace import output_name
from diffcompare.cli import main

ARGS = ["sin(x*y) + z**2/y", "--at", "x=1,y=2,z=3", "--wrt", "z"]


def test_output_name_avoids_every_input():
    assert output_name(["x1", "x2"]) == "y"
    assert output_name(["x", "y"]) == "f"
    assert output_name(["y", "f", "out"]) == "out2"


def test_trace_with_a_variable_y(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["trace", *ARGS]) == 0
    out = capsys.readouterr().out
    dot, bar = "\u0307", "\u0304"  # combining dot (tangent) and macron (adjoint), as the trace writes them
    assert "∂y/∂y" not in out and f"y{dot} = v{dot}_5" not in out and "for z" not in out
    assert f"f{dot} = v{dot}_5" in out and "∂f/∂y = -2.666146837" in out and f"z{dot} = 1" in out
    assert f"f{bar} = 1" in out and f"v{bar}_-1 = y{bar}" in out  # the input y keeps its name


def test_graph_tree_names_the_output_and_the_input(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["graph", *ARGS]) == 0
    out = capsys.readouterr().out
    assert "∂y/∂:" not in out and "∂y/∂" not in out
    assert "∂f/∂y: -2.66615" in out and "∂f/∂v_5: 1" in out and "df/dz = 3" in out


def test_dot_labels_use_the_output_name(capsys):
    assert main(["graph", *ARGS, "--dot", "-"]) == 0
    out = capsys.readouterr().out
    assert 'label="f = sin(x*y) + z**2/y"' in out and "∂f/∂v_5 = 1" in out and "∂y/" not in out


def test_the_slides_example_keeps_y(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["trace", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--wrt", "x2"]) == 0
    out = capsys.readouterr().out
    assert "y\u0307 = v\u0307_4" in out and "∂y/∂x1 = -4.333333333" in out
