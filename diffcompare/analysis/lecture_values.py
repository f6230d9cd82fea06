"""The lecture's worked numbers, computed with our own engine: what :mod:`diffcompare.analysis.reproduce` checks
against the slides' printed digits.

Tables 1-3 from the evaluation trace of the AD tape, the backpropagation example from
:mod:`diffcompare.analysis.backprop`, the lecture's code cells (nested AD for the derivatives of x^3), Exercise 2
with ``Recording.backward`` (accumulation only when asked for), Exercise 3's control flow with its theory, and the
logistic map's derivatives in sympy for the expression-swell formulas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["backprop_values", "exercise2", "exercise3", "exercise3_function", "exercise3_probability",
           "lecture_code_values", "swell_references", "sympy_of", "table_values"]

# The slides number Table 1's rows v_1 = v_-1 v_0, v_2 = ln v_-1, v_3 = v_1 + v_0, v_4 = v_3 - v_2;
# our tape computes the sum before the logarithm. Rows are matched by their operation.
_SLIDE_ROWS = {"v1": "mul", "v2": "log", "v3": "add", "v4": "sub"}


def table_values() -> dict[str, Any]:
    from diffcompare.analysis.trace import trace_and_tape
    from diffcompare.examples import resolve
    from diffcompare.parse import compile_expression, parse_point

    out: dict[str, Any] = {}
    for table, wrt in (("table1", None), ("table3", "x2")):
        text, point_text = resolve(table)
        e = compile_expression(text)
        trace, tape = trace_and_tape(e.function, parse_point(point_text, e.variables), e.variables, text,
                                     mode="all", wrt=wrt)
        by_op = {node.prim.name: row for node, row in zip(tape, trace.rows) if node.prim is not None}
        rows = {"vm1": trace.rows[0], "v0": trace.rows[1]} | {k: by_op[p] for k, p in _SLIDE_ROWS.items()}
        if table == "table1":
            out |= {f"t1_{k}": r.value for k, r in rows.items()} | {"t1_y": trace.value}
        else:
            out |= {f"t2_{k}": r.value for k, r in rows.items()} | {"t2_y": trace.value}
            out |= {f"t2_d{k}": r.tangent for k, r in rows.items()} | {"t2_dy": trace.derivative}
            out |= {f"t3_vbar{k[1:]}": r.adjoint for k, r in rows.items() if k.startswith("v") and k != "vm1"}
            out["t3_vbar0"] = rows["v0"].adjoint
            out["t3_xbar1"], out["t3_xbar2"] = trace.gradient
            out["t3_ybar"] = by_op["sub"].adjoint  # the seed on the output row
    return out


def backprop_values() -> dict[str, Any]:
    from diffcompare.analysis import backprop

    net = backprop.Network()
    fw = backprop.forward(net)
    d = backprop.deltas(net)
    g = backprop.gradients(net, "reverse")  # reverse AD through the plain-numpy loss
    new = backprop.step(net, g)
    x1, x2 = net.x
    out = {
        "bp_w11x1": net.w11 * x1, "bp_w21x2": net.w21 * x2, "bp_z_h1": fw["z_h1"], "bp_h1": fw["h1"],
        "bp_w12x1": net.w12 * x1, "bp_w22x2": net.w22 * x2, "bp_z_h2": fw["z_h2"], "bp_h2": fw["h2"],
        "bp_wh1h1": net.wh1 * fw["h1"], "bp_wh2h2": net.wh2 * fw["h2"], "bp_z_y": fw["z_y"], "bp_y": fw["y"],
        "bp_t_minus_y": net.t - fw["y"], "bp_E": fw["loss"], "bp_dE_dy": d["dE_dy"],
        "bp_dsigma_y": d["dsigma_y"], "bp_delta_y": g["by"], "bp_wh1_delta_y": d["wh1_delta_y"],
        "bp_dsigma_h1": d["dsigma_h1"], "bp_delta_h1": d["delta_h1"], "bp_wh2_delta_y": d["wh2_delta_y"],
        "bp_dsigma_h2": d["dsigma_h2"], "bp_delta_h2": d["delta_h2"],
    }
    for p in backprop.PARAMETERS:
        out[f"bp_dE_d{p}"] = g[p]
        out[f"bp_step_{p}"] = -net.eta * g[p]
        out[f"bp_new_{p}"] = getattr(new, p)
    return out


def lecture_code_values() -> dict[str, Any]:
    from diffcompare import ad

    x = math.pi / 3
    cube = lambda v: v**3
    contour = lambda x1, x2: x1**2 * x2 + np.sin(x1)
    value, grad = ad.value_and_grad(contour, (0, 1))(1.0, 2.0)
    return {
        "sin_x": x, "sin_f": ad.record(np.sin, x).value, "sin_df": ad.grad(np.sin)(x), "sin_cos": math.cos(x),
        "cube_d1": ad.derivative(cube, 1)(2.0), "cube_d2": ad.derivative(cube, 2)(2.0),
        "cube_d3": ad.derivative(cube, 3)(2.0),
        "contour_f": value, "contour_grad": list(grad),
    }


def exercise2() -> dict[str, Any]:
    """Exercise 2 with our engine: PyTorch-style accumulation only when asked for."""
    from diffcompare import ad

    def y(v: Any) -> Any:
        return 2 * np.dot(v, v)

    x = np.arange(4.0)
    rec = ad.record(y, x)
    first = rec.backward()[0]
    second = rec.backward(accumulate=True)[0]
    zeroed = rec.backward()[0]  # accumulate=False starts afresh, as x.grad.zero_() then backward()
    functional = [ad.grad(y)(x), ad.grad(y)(x)]  # the default API: fresh values every call
    return {"ex2_first": first, "ex2_second": second, "ex2_zeroed": zeroed, "functional": functional}


def exercise3_function(a: Any) -> Any:
    """The lecture's control-flow function (Exercise 3), in plain numpy."""
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def exercise3(seed: int) -> dict[str, Any]:
    """Our VJP of the control-flow function with a ones cotangent, and what theory predicts.

    b = 2^(k) a after the loop with k the least integer such that 2^k ‖a‖ >= 1000 (k >= 1), so
    every entry of the gradient is 2^k (times 100 when sum(a) <= 0). The slides' 512 = 2^9 needs
    1000/2^9 <= ‖a‖ < 1000/2^8 and sum(a) > 0.
    """
    from diffcompare import ad

    a = np.random.default_rng(seed).standard_normal((2, 3))
    rec = ad.record(exercise3_function, a)
    grad = rec.pullback(np.ones((2, 3)))[0]
    norm = float(np.linalg.norm(a))
    k = max(1, math.ceil(math.log2(1000 / norm)))
    while 2.0**k * norm < 1000:  # guard against log2 rounding at a power of two
        k += 1
    predicted = 2.0**k * (1 if a.sum() > 0 else 100)
    return {"a": a, "norm": norm, "sum": float(a.sum()), "k": k, "grad": grad, "predicted": predicted,
            "tape_ops": rec.operations}


def exercise3_probability() -> float:
    """P(‖a‖ in [1000/512, 1000/256) and sum(a) > 0) for a 2×3 standard normal a.

    ‖a‖² is chi-squared with 6 degrees of freedom, and the sign of the sum is independent of the
    norm (a and -a have the same norm), hence the factor ½. For 6 (even) degrees of freedom the
    CDF is closed-form: 1 - e^(-u) (1 + u + u²/2) with u = x/2.
    """

    def cdf6(x: float) -> float:
        u = x / 2
        return 1 - math.exp(-u) * (1 + u + u * u / 2)

    return 0.5 * (cdf6((1000 / 256) ** 2) - cdf6((1000 / 512) ** 2))


def swell_references() -> dict[str, Any]:
    """l_n of the logistic map l_{n+1} = 4 l_n (1 - l_n), l_1 = x, and its derivatives (sympy)."""
    import sympy

    from diffcompare.analysis.swell import logistic  # one definition of the map for the whole package

    x = sympy.Symbol("x")
    out = {"x": x}
    for n in range(1, 5):
        ln = sympy.sympify(logistic(x, n))
        out[f"l{n}"] = ln
        out[f"d{n}"] = sympy.diff(ln, x)
    return out


def sympy_of(formula: str, x: Any) -> Any:
    """A formula of the data file as a sympy expression, through the safe parser and the symbolic tracer."""
    from diffcompare.backends.symbolic import SymValue, to_expr
    from diffcompare.parse import compile_expression

    e = compile_expression(formula, ["x"])
    return to_expr(e.function(SymValue(x)))
