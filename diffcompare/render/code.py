"""The generated program, syntax-highlighted, with the names' legend and the check against grad; its JSON twin."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.code import CodeResult
from diffcompare.render.notation import number

_WHAT = {"primal": "f", "forward": "the tangent of f (forward mode)", "reverse": "the adjoint of f (reverse mode)"}


def _legend(r: CodeResult) -> str:
    inputs = [n for n in r.inputs if n.startswith("v_")]
    named = ", ".join(f"{n} = {v}" for n, v in zip(inputs, r.variables))
    minus = " (v_m1 is the slides' v_-1)" if any("_-" in n for n in r.names.values()) else ""
    extra = {"forward": "\n# vdot_i: the tangent v\u0307_i; w_k: a partial or a term",
             "reverse": "\n# vbar_i: the adjoint v\u0304_i (assigned again: a partial sum); w_k: a partial"
             }.get(r.mode, "")
    if "_zero_times_inf" in r.source:
        extra += "\n# if p != p: a product that is nan only as 0 * inf is 0 (the engine's convention at kinks)"
    return f"# {named}{minus}{extra}"


def show(r: CodeResult) -> list[Any]:
    """Renderables: a heading, the highlighted code, and with a point the run checked against grad."""
    from rich.syntax import Syntax
    from rich.text import Text

    out: list[Any] = [Text(f"{_WHAT[r.mode]} = {r.text}: {r.lines} lines, one operation each", style="bold")]
    code = f"{_legend(r)}\n{r.source}"
    out.append(Syntax(code, "python", theme="ansi_dark", word_wrap=True, background_color="default"))
    if r.value_reads:
        rule = r.value_reads[0].split(", for ")[0]
        out.append(Text(f"note: a rule chose its formula by the value here ({rule}): this program holds at this "
                        "point, not everywhere", style="yellow"))
    if r.point is not None:
        at = ", ".join(f"{n} = {number(v)}" for n, v in zip(r.variables, r.point))
        line = Text(f"at {at}: f = {number(r.value)}")
        if r.derivative is not None:
            line.append(f"; the program's gradient [{', '.join(number(v) for v in r.derivative)}]")
            line.append(f", grad's [{', '.join(number(v) for v in r.grad or [])}]: ")
            if r.agrees:
                line.append(f"agree (max relative difference {r.max_rel_diff:.1e})", style="green")
            else:
                line.append(f"DIFFER (max relative difference {r.max_rel_diff:.1e})", style="bold red")
        out.append(line)
    return out


def to_json(r: CodeResult) -> dict[str, Any]:
    data: dict[str, Any] = {"expression": r.text, "variables": list(r.variables), "mode": r.mode,
                            "source": r.source, "lines": r.lines, "names": r.names, "inputs": r.inputs,
                            "value_dependent": bool(r.value_reads)}
    if r.point is not None:
        data.update(point=dict(zip(r.variables, r.point)), value=r.value, derivative=r.derivative, grad=r.grad,
                    max_rel_diff=r.max_rel_diff, agrees=r.agrees)
    return data
