"""Mutation testing of the AD engine: does the test suite notice a small wrong change in diffcompare/ad?

Plants one mutant at a time in a copy of the repository in a temporary directory (never in the working
tree), runs the engine's fast tests against it (``pytest -x``, with a timeout), and counts the mutants
the tests kill. A survivor is a change to the engine that every test accepts: either a gap in the
tests, or a change that cannot alter any result (a performance hint, an equivalent rewrite). The
survivors are written to a report, one per line, with the changed line.

Mutants (from the syntax tree, so each is one valid edit of one expression or statement):
  sign    ``-e`` -> ``e``; ``neg(e)`` -> ``e``
  arith   ``+`` <-> ``-``, ``*`` <-> ``/``; in rules, ``add(`` <-> ``sub(``, ``mul(`` <-> ``div(``
  const   a number ``c`` -> ``c + 1``
  compare ``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``is`` <-> ``is not``, ``in`` <-> ``not in``
  guard   ``if c: raise ...`` and ``if c: return ...`` -> ``if False: ...``
  return  ``return a, b`` -> ``return b, a`` (the last two swapped); ``return True`` <-> ``return False``

Usage, from the repository root (one core: mutants run one after another)::

    python tests/mutate_ad.py                      # every mutant of diffcompare/ad/*.py
    python tests/mutate_ad.py --files scalar.py --kinds arith,const --list
    python tests/mutate_ad.py --thin const=6,compare=6     # every 6th constant and comparison only
    python tests/mutate_ad.py --only 'scalar.py:72:37:arith' --report survivors.txt
    python tests/mutate_ad.py --rerun mutate_ad_report.txt --report again.txt   # the survivors, after new tests

Not a test module (pytest collects ``test_*.py`` only).
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "diffcompare/ad"
# the engine's tests, those that kill most mutants soonest first; the deep tapes (1 s and 5 s, a
# recursion check) are left out to keep each run short; the pool's and the threads' tests only for the
# files that hold the pool, the trace levels and the transforms
RULE_TESTS = ["tests/test_scalar_rules.py", "tests/test_fast_vs_reference.py", "tests/test_primitive_values.py",
              "tests/test_primitives.py",
              "tests/test_ad_engine.py", "tests/test_reverse_pass.py", "tests/test_adjoint_factors.py",
              "tests/test_in_place.py",
              "tests/test_matmul_rules.py", "tests/test_ad_refusals.py", "tests/test_ad_complex.py",
              "tests/test_guards.py", "tests/test_followup_guards.py"]
TESTS = [*RULE_TESTS, "tests/test_memory.py", "tests/test_threads.py"]
TESTS_FOR = {"rules.py": RULE_TESTS, "numpy_api.py": RULE_TESTS, "fast/scalar.py": RULE_TESTS}
DESELECT = ["tests/test_ad_engine.py::test_a_million_operation_tape_needs_no_recursion",
            "tests/test_ad_engine.py::test_a_200k_operation_tape_needs_no_recursion"]
KINDS = ("sign", "arith", "const", "compare", "guard", "return")

SWAP_OPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
SWAP_CALLS = {"add": "sub", "sub": "add", "mul": "div", "div": "mul"}
FLIP_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass
class Mutant:
    file: str  # relative to the package
    line: int
    col: int
    end_line: int
    end_col: int  # a byte range of the file, as ast gives it
    kind: str
    text: str  # what replaces the range

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.col}:{self.kind}"


class Finder(ast.NodeVisitor):
    """Collects the mutants of one module (skipping docstrings, annotations and f-strings)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[Mutant] = []

    def add(self, node: ast.AST, kind: str, new: ast.AST | str) -> None:
        text = new if isinstance(new, str) else f"({ast.unparse(new)})"
        self.found.append(Mutant(self.file, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                 kind, text))

    def generic_visit(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns") or isinstance(node, ast.JoinedStr):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self.visit(child)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):  # a docstring
            self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            self.add(node, "sign", node.operand)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = SWAP_OPS.get(type(node.op))
        if swap is not None:
            self.add(node, "arith", ast.BinOp(node.left, swap(), node.right))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name) and f.id == "neg" and len(node.args) == 1:
            self.add(node, "sign", node.args[0])
        if isinstance(f, ast.Name) and f.id in SWAP_CALLS and len(node.args) == 2:
            self.add(f, "arith", SWAP_CALLS[f.id])
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            self.add(node, "const", repr(v + 1))

    def visit_Compare(self, node: ast.Compare) -> None:
        flip = FLIP_COMPARE.get(type(node.ops[0]))
        if flip is not None:
            self.add(node, "compare", ast.Compare(node.left, [flip(), *node.ops[1:]], node.comparators))
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.body[0], (ast.Raise, ast.Return)):
            self.add(node.test, "guard", "False")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        v = node.value
        if isinstance(v, ast.Tuple) and len(v.elts) >= 2 and ast.unparse(v.elts[-1]) != ast.unparse(v.elts[-2]):
            elts = [*v.elts[:-2], v.elts[-1], v.elts[-2]]
            self.add(v, "return", ast.Tuple(elts, ast.Load()))
        elif isinstance(v, ast.Constant) and isinstance(v.value, bool):
            self.add(v, "return", repr(not v.value))
        self.generic_visit(node)


def find_mutants(root: Path, files: list[str]) -> list[Mutant]:
    found = []
    for file in files:
        finder = Finder(file)
        finder.visit(ast.parse((root / PACKAGE / file).read_text(encoding="utf-8")))
        found.extend(finder.found)
    return found


def apply(source: bytes, m: Mutant) -> bytes:
    """``source`` with the mutant's byte range replaced (ast's columns count UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: m.line - 1]) + m.col
    end = sum(len(x) for x in lines[: m.end_line - 1]) + m.end_col
    return source[:start] + m.text.encode() + source[end:]


def run_tests(copy: Path, timeout: float, tests: list[str]) -> tuple[str, float]:
    """'killed', 'survived' or 'timeout' (a hang counts as killed), and the seconds taken.

    Each run is a fork of this process, which has imported numpy, pytest and hypothesis but not
    diffcompare: the child imports the mutated copy afresh, without paying for a new interpreter.
    """
    import pytest

    args = ["-p", "no:cacheprovider", "-x", "-q", "--no-header", "-o", "addopts=",
            *(f"--deselect={d}" for d in DESELECT), *tests]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run the tests of the copy against the copy's package, then leave at once
        code = 3
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.chdir(copy)
            sys.path.insert(0, str(copy))
            code = int(pytest.main(args))
        finally:
            os._exit(code)
    _children.append(pid)
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return ("survived" if code == 0 else "killed"), time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout", time.perf_counter() - t0
            time.sleep(0.02)
    finally:
        _children.remove(pid)


_children: list[int] = []  # the test run in progress, killed if this script is


def _terminate(*_: object) -> None:
    for pid in _children:
        os.kill(pid, signal.SIGKILL)
    sys.exit("terminated")


def line_of(source: bytes, m: Mutant) -> str:
    return source.splitlines()[m.line - 1].decode().strip()


def main() -> None:
    # set before numpy is imported (by the test runs' parent, below): one core, repeatable examples
    os.environ.update({"CI": "true", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
                       "OMP_NUM_THREADS": "1"})
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", help="comma-separated files of diffcompare/ad (default: all)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds of mutant")
    ap.add_argument("--only", help="comma-separated mutant ids (file:line:col:kind) to run")
    ap.add_argument("--rerun", help="run again the survivors listed in this report (found by their line's text, "
                                    "so that they are found after the code around them moved)")
    ap.add_argument("--thin", help="run every k-th mutant of a kind only, e.g. const=6,compare=6")
    ap.add_argument("--limit", type=int, help="run at most this many mutants")
    ap.add_argument("--timeout", type=float, help="seconds per mutant (default: 5x the unmutated run)")
    ap.add_argument("--report", default="mutate_ad_report.txt", help="where to write the survivors")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = ap.parse_args()

    files = args.files.split(",") if args.files else sorted(
        p.relative_to(ROOT / PACKAGE).as_posix() for p in (ROOT / PACKAGE).rglob("*.py") if p.name != "__init__.py")
    kinds = set(args.kinds.split(","))
    mutants = [m for m in find_mutants(ROOT, files) if m.kind in kinds]
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m.id in wanted]
    if args.rerun:
        wanted = set()
        for entry in Path(args.rerun).read_text(encoding="utf-8").splitlines()[1:]:
            head, _, line = entry.partition("    | ")
            mid, _, text = head.partition(" -> ")
            file, _, col, kind = mid.split(":")
            wanted.add((file, int(col), kind, text, line))
        sources = {f: (ROOT / PACKAGE / f).read_bytes() for f in files}
        mutants = [m for m in mutants if (m.file, m.col, m.kind, m.text, line_of(sources[m.file], m)) in wanted]
    if args.thin:
        every = {kind: int(k) for kind, k in (item.split("=") for item in args.thin.split(","))}
        seen = dict.fromkeys(every, -1)
        kept = []
        for m in mutants:
            if m.kind in every:
                seen[m.kind] += 1
                if seen[m.kind] % every[m.kind]:
                    continue
            kept.append(m)
        mutants = kept
    if args.limit:
        mutants = mutants[: args.limit]
    if args.list:
        for m in mutants:
            print(m.id, "->", m.text)
        print(len(mutants), "mutants")
        return

    import hypothesis  # noqa: F401 - imported once here, inherited by every test run
    import numpy  # noqa: F401
    import pytest  # noqa: F401

    signal.signal(signal.SIGTERM, _terminate)  # the copy is removed on the way out
    report = Path(args.report)
    with tempfile.TemporaryDirectory(prefix="mutate_ad_") as tmp:
        copy = Path(tmp)
        shutil.copytree(ROOT / "diffcompare", copy / "diffcompare", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "data", copy / "diffcompare" / "data")  # installed as diffcompare.data
        shutil.copytree(ROOT / "tests", copy / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
        status, base = run_tests(copy, 600, TESTS)
        if status != "survived":
            sys.exit(f"the unmutated copy fails its tests ({status}): fix that first")
        timeout = args.timeout or max(30.0, 5 * base)
        print(f"{len(mutants)} mutants; unmutated run {base:.1f} s, timeout {timeout:.0f} s", flush=True)
        counts = {"killed": 0, "timeout": 0, "survived": 0, "invalid": 0}
        survivors = []
        t_start = time.perf_counter()
        summary = write_report(report, counts, survivors, 0.0)
        for k, m in enumerate(mutants, 1):
            path = copy / PACKAGE / m.file
            original = path.read_bytes()
            mutated = apply(original, m)
            try:
                compile(mutated, str(path), "exec")
            except SyntaxError:
                counts["invalid"] += 1
                continue
            path.write_bytes(mutated)
            try:
                status, seconds = run_tests(copy, timeout, TESTS_FOR.get(m.file, TESTS))
            finally:
                path.write_bytes(original)
            counts[status] += 1
            if status == "survived":
                survivors.append(f"{m.id} -> {m.text}    | {line_of(original, m)}")
            print(f"[{k}/{len(mutants)}] {status:8s} {seconds:5.1f} s  {m.id} -> {m.text}", flush=True)
            summary = write_report(report, counts, survivors, time.perf_counter() - t_start)  # as it goes
    print(summary)
    print(f"survivors in {report}")


def write_report(report: Path, counts: dict[str, int], survivors: list[str], seconds: float) -> str:
    ran = counts["killed"] + counts["timeout"] + counts["survived"]
    summary = (f"{ran} mutants run ({counts['invalid']} invalid skipped): {counts['killed']} killed, "
               f"{counts['timeout']} timed out (killed), {counts['survived']} survived; {seconds / 60:.1f} min")
    report.write_text(summary + "\n" + "\n".join(survivors) + "\n", encoding="utf-8")
    return summary


if __name__ == "__main__":
    main()
