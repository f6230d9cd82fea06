"""Expression swell on the logistic map, measured (the lecture's table, after Baydin et al. 2018).

The logistic map l_1 = x, l_{k+1} = 4 l_k (1 - l_k) is differentiated two ways:

(i) the textbook rules (sum, difference, constant-factor and product rule) applied literally by
    our own differentiator (``analysis.textbook_dag``) to the expression held as a hash-consed DAG,
    with nothing simplified. That reproduces the lecture's column: d/dx l_2 = 4(1 - x) - 4x;
(ii) sympy's ``diff`` on sympy's own l_n (which already distributes numbers: 4 - 8x).

Sizes. The *size* of an expression is its number of nodes, leaves included (every operation, every
occurrence of x and of a constant). As a *tree* every occurrence counts, so a subexpression used
twice counts twice; as a *DAG* each distinct subexpression counts once. Both are computed on the
DAG: tree sizes by memoisation (size(node) = 1 + sizes of its arguments), never by unfolding, as
exact Python ints. *Operations* (``*_ops``) are the same counts without the leaves, the unit of
sympy's ``count_ops``, of ``cse`` and of the AD tape.

The point the table makes (Laue, "On the equivalence of automatic and symbolic differentiation",
2019): swell is a property of the tree representation. l_n itself doubles as a tree at every step
(l_k occurs twice in l_{k+1}), its derivative grows even faster; as DAGs both grow by a constant
number of nodes per step, exactly like the tape of reverse-mode AD.

Everything sympy does (``diff``, ``count_ops``, ``expand``, ``cse``) runs in a worker process under
a time budget (``diffcompare.budget.run_with_budget``); a cell past its budget is recorded as timed
out, and the same measurement is not attempted for larger n (it only gets slower).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diffcompare.analysis.textbook_dag import TEXT_LIMIT, Dag
from diffcompare.budget import run_with_budget
from diffcompare.errors import DiffcompareError, Timeout

MAX_N = 1000  # beyond this the table itself (one row per k) stops being readable or useful
FORMULAS_UP_TO = 4  # the lecture's table has rows n = 1..4


def logistic_dag(n: int) -> tuple[Dag, list[int]]:
    """The DAG holding l_1 .. l_n, l_{k+1} = 4 l_k (1 - l_k), and the node of each l_k."""
    dag = Dag()
    four, one = dag.const(4), dag.const(1)
    ls = [dag.x]
    for _ in range(n - 1):
        lk = ls[-1]
        ls.append(dag.mul(dag.mul(four, lk), dag.sub(one, lk)))
    return dag, ls


CODE_LINES_UP_TO = 200  # the adjoint program is generated for each k up to here (a few ms each)


def adjoint_code_lines(n: int) -> int:
    """Lines of the generated adjoint program of l_n (``diffcompare code --mode reverse``): one operation each,
    a constant number per step, as the tape."""
    from diffcompare.ad.programs import program

    return program(lambda x: logistic(x, n), (0.5,), "reverse").generated.lines


def logistic(x: Any, n: int) -> Any:
    """l_n at x, as plain Python: the same code runs on floats, AD values and sympy symbols."""
    for _ in range(n - 1):
        x = 4 * x * (1 - x)
    return x


def logistic_sympy(n: int) -> Any:
    """sympy's own l_n (sympy evaluates as it builds: 4*x*(1 - x), then 16*x*(1 - x)*(...))."""
    import sympy

    return logistic(sympy.Symbol("x"), n)


def tape_operations(n: int, x: float = 0.3) -> int:
    """Operations our reverse-mode AD records for l_n (its backward pass visits each once)."""
    from diffcompare.ad import record

    return record(lambda v: logistic(v, n), x).operations


# -- the worker cells (module level: picklable under spawn) ----------------------------------------

def _count_ops(expr: Any) -> int:
    import sympy

    return int(sympy.count_ops(expr))


def _sympy_diff(n: int) -> tuple[float, Any]:
    import sympy

    lk = logistic_sympy(n)
    start = time.perf_counter()
    d = sympy.diff(lk, sympy.Symbol("x"))
    return time.perf_counter() - start, d


def _expand(expr: Any, keep_expression: bool) -> tuple[float, str, int, Any]:
    import sympy

    start = time.perf_counter()
    e = sympy.expand(expr)
    seconds = time.perf_counter() - start
    text = _truncate(sympy.sstr(e, order="rev-lex"))  # ascending powers, as the lecture writes them
    return seconds, text, int(sympy.count_ops(e)), e if keep_expression else None


def _cse(expr: Any) -> tuple[float, int, int]:
    import sympy

    start = time.perf_counter()
    replacements, reduced = sympy.cse(expr)
    seconds = time.perf_counter() - start
    ops = sum(int(sympy.count_ops(rhs)) for _, rhs in replacements) + sum(
        int(sympy.count_ops(e)) for e in reduced)
    return seconds, ops, len(replacements)


def _truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


# -- the table ------------------------------------------------------------------------------------

@dataclass
class SwellRow:
    """One k of the logistic map. Sizes count nodes (leaves included), ``*_ops`` operations.

    ``derivative_*`` is the textbook derivative (our rules on the DAG), ``sympy_*`` sympy's ``diff``.
    None means not measured: see ``timed_out`` (past the budget) and ``skipped`` (an earlier k timed
    out, or what it needs is missing).
    """

    n: int
    expression_tree_size: int
    expression_dag_size: int
    derivative_tree_size: int
    derivative_dag_size: int
    derivative_tree_ops: int
    derivative_dag_ops: int
    ad_tape_ops: int
    seconds: float  # the textbook derivative on the DAG
    adjoint_code_lines: int | None = None  # lines of the generated adjoint program (diffcompare code), one op each
    derivative_count_ops: int | None = None  # sympy's count_ops of the textbook derivative (as a tree)
    sympy_derivative_count_ops: int | None = None
    sympy_seconds: float | None = None
    simplified: str | None = None  # expanded derivative, the lecture's "simplified form"
    simplified_count_ops: int | None = None
    expand_seconds: float | None = None
    cse_size: int | None = None  # operations of the derivative after sympy.cse (all assignments)
    cse_assignments: int | None = None
    cse_seconds: float | None = None
    derivative_tree_growth: float | None = None  # derivative_tree_size / that of n - 1
    derivative_dag_growth: int | None = None  # derivative_dag_size - that of n - 1 (nodes added)
    sympy_growth: float | None = None  # sympy_derivative_count_ops / that of n - 1
    timed_out: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class FormulaRow:
    """The lecture's table row n, ours beside the slide's, and whether they are equal."""

    n: int
    expression: str
    textbook_derivative: str
    simplified: str
    slide_expression: str
    slide_derivative: str
    slide_simplified: str
    expression_matches: bool
    derivative_matches: bool
    simplified_matches: bool
    note: str = ""


@dataclass
class Swell:
    n: int
    timeout: float
    rows: list[SwellRow]
    formulas: list[FormulaRow]
    size_definition: str = (
        "size = nodes of the expression, leaves (x and constants) included; tree: every occurrence "
        "counts; DAG: each distinct subexpression once; *_ops = operations only (no leaves), the "
        "unit of sympy count_ops, cse and the AD tape")


# column -> (what it measures, what it needs)
CELLS = ("derivative_count_ops", "sympy_diff", "sympy_derivative_count_ops", "expand", "cse")


def check_arguments(n: int, timeout: float) -> None:
    """One-line errors for a bad n or budget (before any work, or any progress bar, starts)."""
    if not isinstance(n, int) or n < 1:
        raise DiffcompareError(f"n must be a whole number >= 1, not {n!r}")
    if n > MAX_N:
        raise DiffcompareError(f"n = {n} is absurdly large (at most {MAX_N}): the tree sizes already "
                               "have ~0.6 n digits and sympy times out from n ~ 12")
    if not (math.isfinite(timeout) and timeout > 0):
        raise DiffcompareError(f"--timeout must be a positive, finite number of seconds, not {timeout!r}")


def swell(n: int, timeout: float = 10.0, formulas: bool | None = None,
          progress: Callable[[str, int], None] | None = None) -> Swell:
    """The swell table for k = 1..n; sympy cells run under ``timeout`` seconds each.

    ``progress(description, step)`` is called before each cell (for a progress bar); there are
    ``steps(n)`` steps in all.
    """
    check_arguments(n, timeout)
    if formulas is None:
        formulas = n <= FORMULAS_UP_TO
    tick = progress or (lambda description, step: None)

    import sympy

    x = sympy.Symbol("x")
    dag, ls = logistic_dag(n)
    rows: list[SwellRow] = []
    cells = _Cells(timeout, tick)
    expanded: dict[int, Any] = {}
    for k, lk in enumerate(ls, start=1):
        cells.tick(f"n = {k}: textbook rules on the DAG")
        start = time.perf_counter()
        dk = dag.derivative(lk)
        seconds = time.perf_counter() - start
        row = SwellRow(
            n=k, expression_tree_size=dag.tree_size(lk), expression_dag_size=dag.dag_size(lk),
            derivative_tree_size=dag.tree_size(dk), derivative_dag_size=dag.dag_size(dk),
            derivative_tree_ops=dag.tree_size(dk) - dag.tree_leaves(dk),
            derivative_dag_ops=dag.dag_size(dk) - dag.dag_leaves(dk),
            ad_tape_ops=tape_operations(k), seconds=seconds,
            adjoint_code_lines=adjoint_code_lines(k) if k <= CODE_LINES_UP_TO else None)
        # the textbook derivative as sympy (built once per DAG node), unless no cell needs it any more
        live = any(c not in cells.given_up for c in ("derivative_count_ops", "expand", "cse"))
        textbook = dag.to_sympy(dk, x) if live else None
        row.derivative_count_ops = cells.run(row, "derivative_count_ops", _count_ops, textbook, needs=textbook)
        got = cells.run(row, "sympy_diff", _sympy_diff, k)
        sympy_d = None
        if got is not None:
            row.sympy_seconds, sympy_d = got
        row.sympy_derivative_count_ops = cells.run(row, "sympy_derivative_count_ops", _count_ops, sympy_d,
                                                   needs=sympy_d)
        got = cells.run(row, "expand", _expand, textbook, formulas and k <= FORMULAS_UP_TO, needs=textbook)
        if got is not None:
            row.expand_seconds, row.simplified, row.simplified_count_ops, expanded[k] = got
        got = cells.run(row, "cse", _cse, textbook, needs=textbook)
        if got is not None:
            row.cse_seconds, row.cse_size, row.cse_assignments = got
        if rows:
            prev = rows[-1]
            row.derivative_tree_growth = row.derivative_tree_size / prev.derivative_tree_size
            row.derivative_dag_growth = row.derivative_dag_size - prev.derivative_dag_size
            if row.sympy_derivative_count_ops and prev.sympy_derivative_count_ops:
                row.sympy_growth = row.sympy_derivative_count_ops / prev.sympy_derivative_count_ops
        rows.append(row)
    table = [formula_row(dag, ls, k, expanded.get(k)) for k in range(1, min(n, FORMULAS_UP_TO) + 1)] \
        if formulas else []
    return Swell(n=n, timeout=timeout, rows=rows, formulas=table)


class _Cells:
    """Runs the sympy cells under the budget; a cell that timed out is not tried for larger n."""

    def __init__(self, timeout: float, progress: Callable[[str, int], None]) -> None:
        self.timeout = timeout
        self.progress = progress
        self.step = 0
        self.given_up: dict[str, int] = {}  # cell -> the n at which it timed out

    def tick(self, description: str) -> None:
        self.progress(description, self.step)
        self.step += 1

    def run(self, row: SwellRow, name: str, fn: Callable[..., Any], *args: Any, needs: Any = True) -> Any:
        self.tick(f"n = {row.n}: {name.replace('_', ' ')}")
        if name in self.given_up or needs is None:
            row.skipped.append(name)
            return None
        try:
            return run_with_budget(fn, *args, timeout=self.timeout)
        except Timeout:
            self.given_up[name] = row.n
            row.timed_out.append(name)
            return None


def steps(n: int) -> int:
    """How many progress steps ``swell(n)`` reports."""
    return n * (1 + len(CELLS))


# -- the lecture's table ------------------------------------------------------------------------------

SLIDE_TEXT = {  # as printed in the lecture (seed, "expression swell"); n = 4's derivative is cut off
    1: ("x", "1", "1"),
    2: ("4x(1-x)", "4(1-x) - 4x", "4 - 8x"),
    3: ("16x(1-x)(1-2x)^2", "16(1-x)(1-2x)^2 - 16x(1-2x)^2 - 64x(1-x)(1-2x)", "16(1 - 10x + 24x^2 - 16x^3)"),
    4: ("64x(1-x)(1-2x)^2 (1 - 8x + 8x^2)^2",
        ("128x(1-x)(-8 + 16x)(1 - 2x)^2(1 - 8x + 8x^2) + 64(1-x)(1-2x)^2(1-8x+8x^2)^2 "
         "- 64x(1-2x)^2(1-8x+8x^2)^2 -"),
        "64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + 7168x^6 - 2048x^7)"),
}


def slide_formulas(x: Any) -> dict[int, tuple[Any, Any, Any]]:
    """The slide's three columns as sympy expressions (transcribed by hand from SLIDE_TEXT).

    For n = 4 the slide's derivative ends in a dangling "-": the three printed terms are used.
    """
    a, b, c = 1 - x, 1 - 2 * x, 1 - 8 * x + 8 * x**2
    return {
        1: (x, 1, 1),
        2: (4 * x * a, 4 * a - 4 * x, 4 - 8 * x),
        3: (16 * x * a * b**2, 16 * a * b**2 - 16 * x * b**2 - 64 * x * a * b,
            16 * (1 - 10 * x + 24 * x**2 - 16 * x**3)),
        4: (64 * x * a * b**2 * c**2,
            128 * x * a * (-8 + 16 * x) * b**2 * c + 64 * a * b**2 * c**2 - 64 * x * b**2 * c**2,
            64 * (1 - 42 * x + 504 * x**2 - 2640 * x**3 + 7040 * x**4 - 9984 * x**5 + 7168 * x**6
                  - 2048 * x**7)),
    }


def lecture_style(expr: Any) -> str:
    """A polynomial in x as the lecture prints it: ``16(1 - 10x + 24x^2 - 16x^3)``."""
    import sympy

    text = sympy.sstr(sympy.factor_terms(expr), order="rev-lex")
    return text.replace("**", "^").replace("*", "")


def formula_row(dag: Dag, ls: list[int], k: int, simplified: Any = None) -> FormulaRow:
    """Row k of the lecture's table from our DAG, each column checked against the slide."""
    import sympy

    x = sympy.Symbol("x")
    lk = ls[k - 1]
    dk = dag.derivative(lk)
    ours_l, ours_d = dag.to_sympy(lk, x, evaluate=True), dag.to_sympy(dk, x, evaluate=True)
    if simplified is None:
        simplified = sympy.expand(ours_d)
    slide_l, slide_d, slide_s = (sympy.sympify(e) for e in slide_formulas(x)[k])  # sympy objects, no text
    gap = sympy.expand(ours_d - slide_d)
    note = ""
    if gap != 0:
        note = (f"the slide's derivative falls short of d/dx l_{k} by {lecture_style(sympy.factor(gap))}"
                + (": the row is cut off after its trailing '-', this is the missing term" if k == 4 else ""))
    return FormulaRow(
        n=k, expression=dag.to_text(lk) or "", textbook_derivative=dag.to_text(dk) or "",
        simplified=lecture_style(simplified),
        slide_expression=SLIDE_TEXT[k][0], slide_derivative=SLIDE_TEXT[k][1], slide_simplified=SLIDE_TEXT[k][2],
        expression_matches=sympy.expand(slide_l - ours_l) == 0, derivative_matches=gap == 0,
        simplified_matches=sympy.expand(slide_s - simplified) == 0, note=note)

