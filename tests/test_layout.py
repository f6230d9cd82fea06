"""Every table at 40, 80 and 120 columns: no "…", no number folded or cut (issue 13, items 1-3).

Each command's output is recorded once and rendered at each width; every number (a maximal token of
digits, signs, commas, a point and an exponent) shown at 400 columns, where nothing wraps, must appear
whole at the narrow width too. A folded "2.7182818284" / "5905" or a cut "1,140,850,6…" fails that.
"""

import io
import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

import diffcompare.render as render
from diffcompare.cli import main

WIDTHS = (40, 80, 120)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


class Recorder:
    """Stands in for ``render.console()``: keeps what a command prints, to render it at any width."""

    def __init__(self) -> None:
        self.printed: list[tuple[tuple, dict]] = []
        self.width = 80

    def print(self, *objects, **kwargs) -> None:
        self.printed.append((objects, kwargs))


def text_at(printed, width: int) -> str:
    out = io.StringIO()
    c = Console(file=out, width=width, color_system=None, highlight=False, legacy_windows=False)
    for objects, kwargs in printed:
        c.print(*objects, **kwargs)
    return out.getvalue()


def numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


_RECORDED: dict[tuple, list] = {}  # a command run once per session, its output rendered by several tests


def record(monkeypatch, capsys, argv) -> list:
    if tuple(argv) in _RECORDED:
        return _RECORDED[tuple(argv)]
    rec = Recorder()
    monkeypatch.setattr(render, "console", lambda stderr=False: rec if not stderr else Console(file=io.StringIO()))
    assert main(list(argv)) == 0, capsys.readouterr().err
    capsys.readouterr()
    _RECORDED[tuple(argv)] = rec.printed
    return rec.printed


def assert_whole(printed) -> None:
    wide = text_at(printed, 400)
    assert "…" not in wide
    for width in WIDTHS:
        text = text_at(printed, width)
        assert "…" not in text, f"an elided cell at {width} columns"
        missing = numbers(wide) - numbers(text)
        assert not missing, f"numbers cut or folded at {width} columns: {sorted(missing)[:8]}"
        assert max(cell_len(line) for line in text.splitlines()) <= width


COMMANDS = {
    "compare": ["compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4"],
    "compare table3": ["compare", "table3"],
    "derivatives exp order 5": ["derivatives", "exp(x)", "--at", "x=1", "--order", "5"],
    "derivatives hessian": ["derivatives", "sin(x*y) + z**2/y", "--at", "x=1,y=2,z=3"],
    "trace": ["trace", "sin(x*y) + z**2/y", "--at", "x=1,y=2,z=3", "--wrt", "z"],
    "graph": ["graph", "sin(x*y) + z**2/y", "--at", "x=1,y=2,z=3", "--wrt", "z"],
    "error-vs-h": ["error-vs-h", "x1**2*x2 + sin(x1)", "--at", "x1=1,x2=2", "--component", "x2"],
    "reproduce": ["reproduce"],
    "cost hessian (small)": ["cost", "hessian", "--n", "10", "--budget", "0.05"],
    "cost jacobian (small)": ["cost", "jacobian", "--n", "4,16", "--m", "4,16", "--budget", "0.2"],
}
SLOW = {
    "swell --n 15 --timeout 1": ["swell", "--n", "15", "--timeout", "1"],
    "cost hessian": ["cost", "hessian"],
    "cost jacobian": ["cost", "jacobian"],
}


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_number_whole_at_40_80_120_columns(monkeypatch, capsys, argv):
    assert_whole(record(monkeypatch, capsys, argv))


@pytest.mark.slow
@pytest.mark.parametrize("argv", SLOW.values(), ids=SLOW.keys())
def test_every_number_whole_at_40_80_120_columns_slow(monkeypatch, capsys, argv):
    assert_whole(record(monkeypatch, capsys, argv))


def test_json_numbers_appear_whole(monkeypatch, capsys):
    """The JSON's numbers, as the table rounds them (12 digits), are in the text at every width."""
    code = main(["compare", "x1*x2 + x2 - log(x1)", "--at", "x1=3,x2=-4", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    printed = record(monkeypatch, capsys, COMMANDS["compare"])
    shown = {render.fmt(v, 12) for r in doc["results"] for v in r["derivative"]}
    for width in WIDTHS:
        assert shown <= numbers(text_at(printed, width))


def swell_25():
    """``swell --n 25 --timeout 1 --json`` recorded once (15 s to recompute), rendered like the command."""
    from diffcompare.analysis.swell import FormulaRow, Swell, SwellRow

    d = json.loads((Path(__file__).parent / "data" / "swell_n25.json").read_text())
    return Swell(d["n"], d["timeout"], [SwellRow(**r) for r in d["rows"]], [FormulaRow(**f) for f in d["formulas"]])


def test_swell_25_tables_whole_at_every_width():
    from diffcompare.render import swell as sr

    s = swell_25()
    assert_whole([((sr.sizes_table(s),), {}), ((sr.sympy_table(s),), {})])
    assert "1,140,850,689" in text_at([((sr.sizes_table(s),), {})], 80)  # the "1,140,850,6…"


def test_a_table_too_wide_for_its_numbers_is_split_or_stacked_never_cut():
    from diffcompare.render.layout import Table

    t = Table(title="wide")
    t.add_column("name", no_wrap=True)
    for i in range(6):
        t.add_column(f"column {i}", justify="right", no_wrap=True)
    t.add_column("folded", overflow="fold")
    t.add_row("row", *[f"{1.2345678901234567e-300 * (i + 1):.15e}" for i in range(6)], "2.718281828459045")
    assert_whole([((t,), {})])


def test_reproduce_summary_counts_use_the_status_words(monkeypatch, capsys):
    assert main(["reproduce", "--json"]) == 0
    statuses = [c["status"] for c in json.loads(capsys.readouterr().out)["checks"]]
    text = text_at(record(monkeypatch, capsys, ["reproduce"]), 120).replace("\n", " ")
    for word in ("agree", "rounded inputs", "erratum", "inherited"):
        assert f"{statuses.count(word)} {word}" in text
    for internal in ("swell_d2_simplified", "bp_dE_dwh1", "bp_dsigma_h2"):
        assert internal not in text


def test_reproduce_wrapped_notes_are_indented_and_keep_their_words(monkeypatch, capsys):
    text = text_at(record(monkeypatch, capsys, ["reproduce"]), 80)
    assert "backward(accumulate=True)" in text  # not "backward(accum" / "ulate=True)"
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\s*\[1\] ", line))
    for line in lines[start + 1:]:
        if line.strip() and not re.match(r"\[\d+\] ", line.lstrip()):
            assert line.startswith("    "), f"a wrapped note restarts at column 1: {line!r}"


def test_hessian_is_labelled_rows_one_number_per_cell(monkeypatch, capsys):
    """`derivatives "sin(x*y) + z**2/y"` at 80 columns: each entry on its own line beside its label."""
    text = text_at(record(monkeypatch, capsys, COMMANDS["derivatives hessian"]), 80)
    rows = {}
    for line in text.splitlines():
        m = re.search(r"(∂²?f/∂\w+(?:∂\w+|²)?)\s*│\s*(\S+)\s*│", line)
        if m:
            rows.setdefault(m.group(1), m.group(2))
    assert rows["∂f/∂y"] == "-2.66614683654714" and rows["∂²f/∂x∂y"] == "-2.23474169019851"
    assert set(rows) == {"∂f/∂x", "∂f/∂y", "∂f/∂z", "∂²f/∂x²", "∂²f/∂x∂y", "∂²f/∂x∂z", "∂²f/∂y²",
                         "∂²f/∂y∂z", "∂²f/∂z²"}
    assert "[[" not in text  # no matrix folded into a cell


def test_a_caption_never_breaks_between_a_number_and_its_unit():
    """`compare --backends all` at 40 columns broke "after a 92 / ms compile": captions use a no-break space
    there, and rich (which breaks at any whitespace, U+00A0 included) is kept from breaking at it."""
    from types import SimpleNamespace

    from diffcompare.render.compare import jit_note
    from diffcompare.render.layout import NBSP, Table

    fake = SimpleNamespace(backend="jax", options={"jit_seconds": 4.2e-5, "nojit_seconds": 1.3e-3,
                                                     "jit_compile_seconds": 0.092, "shown": "no-jit"})
    note = jit_note([fake])
    assert f"92{NBSP}ms" in note and f"42{NBSP}µs" in note
    for width in range(24, 60):
        t = Table(title="t", caption="some words before " + note)
        t.add_column("a")
        t.add_row("1")
        for text in (text_at([((t,), {})], width), text_at([((t.stacked(),), {})], width)):
            lines = [line.strip() for line in text.splitlines()]
            assert not any(line.endswith(("92", "42")) for line in lines), (width, text)
            assert any(f"92{NBSP}ms" in line for line in lines), (width, text)
