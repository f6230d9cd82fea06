"""``diffcompare code``: the generated program of f, of its tangent or of its adjoint, run and checked against grad.

The programs come from :mod:`diffcompare.ad.programs` (staging and source transformation); this module picks
the point, runs the program at it and compares the result with the engine's ``grad``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_POINT = 0.5  # where f is staged when no point is given (the program does not depend on it, see reads)
AGREE_RTOL = 1e-12  # the program runs the rules grad runs, in another order of additions at most: a few ulps


@dataclass
class CodeResult:
    """One generated program and, with a point, its run and the check against grad."""

    text: str
    variables: tuple[str, ...]
    mode: str
    source: str
    names: dict[str, str]  # Python name -> the trace's name (v_m1 -> v_-1)
    inputs: list[str]  # the program's parameters, in the trace's names
    lines: int  # lines of the body: one operation each
    value_reads: list[str] = field(default_factory=list)
    point: tuple[float, ...] | None = None
    value: float | None = None
    derivative: list[float] | None = None  # the gradient the program computed (forward: one run per variable)
    grad: list[float] | None = None  # the engine's grad at the point
    max_rel_diff: float | None = None

    @property
    def agrees(self) -> bool | None:
        return None if self.max_rel_diff is None else self.max_rel_diff <= AGREE_RTOL


def generated_program(function: Callable[..., Any], variables: Sequence[str], text: str, mode: str,
                      point: Sequence[float] | None) -> CodeResult:
    """The program of ``mode`` for ``function``; with ``point``, run there and checked against ``grad``."""
    from diffcompare.ad.programs import program
    from diffcompare.backends.base import evaluate

    if point is not None:  # log(-1), 1/0, (-1)**0.5: bad input, refused as compare refuses it, before the run
        evaluate(function, [float(p) for p in point])
    at = [float(p) for p in point] if point is not None else [DEFAULT_POINT] * len(variables)
    prog = program(function, at, mode)
    result = CodeResult(text, tuple(variables), mode, prog.source, prog.generated.names, prog.inputs,
                        prog.generated.lines, prog.value_reads)
    if point is None:
        return result
    result.point = tuple(at)
    n = len(at)
    try:
        _run(prog.fn, result, mode, at)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:  # Python's math raises where numpy gives inf
        from diffcompare.backends.base import point_text
        from diffcompare.errors import DomainError

        raise DomainError(f"the derivative is not finite at {point_text(at)}: the program stops there ({exc}); "
                          "diffcompare.jit runs such a point eagerly") from None
    if result.derivative is not None:
        from diffcompare.ad import grad

        g = grad(function, tuple(range(n)))(*at)
        result.grad = [float(v) for v in g]
        result.max_rel_diff = max((_rel(a, b) for a, b in zip(result.derivative, result.grad)), default=0.0)
    return result


def _run(fn: Callable[..., Any], result: CodeResult, mode: str, at: list[float]) -> None:
    """Run the program at ``at``: f's value and, but for the primal, the gradient (forward: one run per variable)."""
    n = len(at)
    if mode == "primal":
        result.value = float(fn(*at))
    elif mode == "forward":
        derivative = []
        for i in range(n):
            value, d = fn(*at, *[1.0 if k == i else 0.0 for k in range(n)])
            derivative.append(float(d))
        result.value, result.derivative = float(value), derivative
    else:
        value, *grads = fn(*at, 1.0)
        result.value, result.derivative = float(value), [float(g) for g in grads]


def _rel(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(b), 1e-300)
