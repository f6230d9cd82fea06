"""sympy expressions evaluated in 53-bit arithmetic, operation by operation, as a program computes them.

The symbolic backend's derivative is a sympy expression; its row in a comparison shows what that formula gives
when a program evaluates it in floats, with the rounding a swollen expression accumulates (its exact value is
:mod:`diffcompare.backends.exact`'s job). Each operation is rounded to 53 bits (an mpmath context at prec=53,
one per thread) with IEEE's rules at poles and edges, but without float64's overflow and underflow in between:
only the final value is rounded to float64. Where sympy's forms cancel at 53 bits although numpy's did not
(tanh' written 1 - tanh^2, numpy's expm1 and log1p traced as exp(u) - 1 and log(1 + u)), the sum is taken in
the form that does not.

mpmath and sympy are imported on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from diffcompare.errors import Unsupported

__all__ = ["values"]


def _sympy() -> Any:
    import sympy

    return sympy


def values(exprs: Sequence[Any], point: dict[Any, float]) -> np.ndarray:
    """The derivative expression evaluated in 53-bit arithmetic, operation by operation, as a program would.

    So the symbolic row's error is real: a swollen expression accumulates rounding like any other
    float code (the exact value is ``reference``'s job). But the exponent is not float64's: each
    operation is rounded to 53 bits (mpmath at prec=53) with no overflow or underflow in between, and
    only the final value is rounded to float64. sympy's forms need it: sigmoid' is written
    exp(-x)/(1 + exp(-x))**2, whose square overflows below x = -354 (0 at -400, nan at -800, where
    the derivative is 1.9e-174 and 3.7e-348); x**y's d/dx is y*x**y/x, 0 where x**y underflows
    (x**arctan(z) at 1.69e-290, 2.51 is 3.4e-56). IEEE's rules stay: a pole gives inf or nan, never a
    number. An expression with an operation outside the small table below (DiracDelta, say) gets its
    exact value rounded once instead.
    """
    from diffcompare.backends.exact import evaluate_exact

    out = []
    for e in exprs:
        try:
            v = float(_eval53(e, point))
        except KeyError:
            v = float(evaluate_exact(e, point, 20).value)
        else:
            if not np.isfinite(v):
                _refuse_if_finite(e, point, v)
        out.append(v)
    return np.array(out, dtype=float)


def _refuse_if_finite(expr: Any, point: dict[Any, float], got: float) -> None:
    """Raise :class:`Unsupported` when the 53-bit walk gave ``got`` (inf or nan) but the exact value is a float.

    At a pole a non-finite number is the honest answer (IEEE's rules); elsewhere an intermediate cancelled to 0
    (expm1 traced as exp(x) - 1 at 4e-208 made log(0)*0 + inf = nan where the derivative is 1) or is 0/0 at a
    sub-term's singular point (sin(x)/(2 sqrt(x)) at 0, where f' is 0), and inf or nan shown as the derivative
    would be a wrong number. The exact value is asked for only here: the common finite case costs nothing.
    """
    from diffcompare.backends.exact import evaluate_exact

    try:
        exact = evaluate_exact(expr, point, 20).value
    except Exception:  # noqa: BLE001 - the reference could not decide: keep IEEE's answer
        return
    import mpmath

    if mpmath.isfinite(exact) and abs(exact) <= np.finfo(float).max:
        raise Unsupported(f"sympy's derivative evaluates to {got} in floats (0/0, 0*inf or a cancellation "
                          f"inside it); its exact value is {mpmath.nstr(exact, 6)}")


# beyond 2^1100 the argument of exp or sin is no float anyway, and mpmath's argument reduction would need
# that many bits of log 2 or pi: exp, sinh, cosh give their limit there, sin, cos, tan nan (as of inf)
_ARG_BITS = 1100

_MP = threading.local()  # one mpmath context per thread: mpmath functions change ctx.prec


def _ctx() -> Any:
    """An mpmath context at float64's 53 bits, of this thread, apart from the global ``mpmath.mp``."""
    ctx = getattr(_MP, "ctx", None)
    if ctx is None:
        import mpmath

        ctx = _MP.ctx = mpmath.MPContext()
        ctx.prec = 53
    return ctx


def _real(ctx: Any, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, nan where it has no real value (log(-1), asin(2): numpy's nan), as IEEE does."""
    try:
        v = fn(*args)
    except (ZeroDivisionError, ValueError):
        return ctx.nan
    if isinstance(v, ctx.mpc):
        return v.real if v.imag == 0 else ctx.nan
    return v


def _huge(ctx: Any, x: Any) -> bool:
    return ctx.isfinite(x) and x != 0 and ctx.mag(x) > _ARG_BITS


def _float_ops() -> dict[Any, Any]:
    """sympy function -> its value on 53-bit mpf arguments."""
    sp = _sympy()
    ctx = _ctx()

    def periodic(fn: Any) -> Any:
        return lambda x: ctx.nan if _huge(ctx, x) else _real(ctx, fn, x)

    def growing(fn: Any, limit: Any) -> Any:
        return lambda x: limit(x) if _huge(ctx, x) else _real(ctx, fn, x)

    def unary(fn: Any) -> Any:
        return lambda x: _real(ctx, fn, x)

    inf = ctx.inf
    return {sp.sin: periodic(ctx.sin), sp.cos: periodic(ctx.cos), sp.tan: periodic(ctx.tan),
            sp.exp: growing(ctx.exp, lambda x: inf if x > 0 else ctx.zero),
            sp.sinh: growing(ctx.sinh, lambda x: inf if x > 0 else -inf),
            sp.cosh: growing(ctx.cosh, lambda x: inf),
            sp.tanh: growing(ctx.tanh, lambda x: ctx.one if x > 0 else -ctx.one),
            sp.log: unary(ctx.log), sp.asin: unary(ctx.asin), sp.acos: unary(ctx.acos), sp.atan: unary(ctx.atan),
            sp.asinh: unary(ctx.asinh), sp.acosh: unary(ctx.acosh), sp.atanh: unary(ctx.atanh),
            sp.Abs: abs, sp.sign: unary(ctx.sign), sp.atan2: lambda y, x: _real(ctx, ctx.atan2, y, x)}


def _power(ctx: Any, x: Any, y: Any) -> Any:
    """x**y with numpy's (IEEE's) rules at the edges: 0**-1 is inf, (-1)**0.5 nan, x**0 and 1**y are 1."""
    if y == 0 or x == 1:
        return ctx.one
    if ctx.isnan(x) or ctx.isnan(y):
        return ctx.nan
    if x == 0:
        return ctx.zero if y > 0 else ctx.inf
    if x < 0 and ctx.isfinite(y) and not ctx.isint(y):
        return ctx.nan
    if ctx.isfinite(x) and ctx.isfinite(y):
        bits = y * ctx.log(abs(x), 2)  # log2 of the result: beyond 2^1100 bits (see _ARG_BITS) it is inf or 0
        if _huge(ctx, bits):
            odd = x < 0 and ctx.isint(y) and int(y) % 2 == 1
            out = ctx.inf if bits > 0 else ctx.zero
            return -out if odd else out
    return _real(ctx, ctx.power, x, y)


def _rational_power(ctx: Any, x: Any, e: Any) -> Any:
    """x**e with the exact rational exponent, rounded once: sympy folds p*x**p/x into p*x**(p - 1), and p - 1
    rounded to 53 bits is off by |log x| ulps (((x)**0.1)**2 at 3.45e-170: rel err 2.2e-14)."""
    with ctx.extraprec(80):  # |log2 x| < 2^11 for any float: 80 bits cover the exponent's share
        r = _power(ctx, x, ctx.mpf(int(e.p)) / int(e.q))
    return +r


def _constant(ctx: Any, node: Any) -> Any:
    """A sympy number rounded once to 53 bits, as a literal in a program is (oo, zoo, nan: inf and nan)."""
    sp = _sympy()
    if node is sp.oo or node is -sp.oo:
        return ctx.inf if node is sp.oo else -ctx.inf
    if node is sp.zoo or node is sp.nan:
        return ctx.nan
    return ctx.make_mpf(node._as_mpf_val(53))


def _eval53(expr: Any, env: dict[Any, float]) -> Any:
    """Value of ``expr`` in 53-bit mpf, with a memo on shared subexpressions."""
    from diffcompare.backends.exact import post_order

    ctx = _ctx()
    ops = _float_ops()
    memo: dict[Any, Any] = {}
    for node in post_order(expr, lambda n: n.is_Symbol or n.is_Number or n.is_NumberSymbol):
        if node.is_Symbol:
            memo[node] = ctx.mpf(env[node])  # exact: the point is a float
        elif node.is_Number or node.is_NumberSymbol:
            memo[node] = _constant(ctx, node)
        else:
            vals = [memo[a] for a in node.args]
            if node.is_Add:
                memo[node] = _sum(ctx, node, memo)
            elif node.is_Mul:
                p = vals[0]
                for v in vals[1:]:
                    p = p * v
                memo[node] = p
            elif node.func is _sympy().log and _one_plus(node.args[0]) is not None:
                memo[node] = _real(ctx, ctx.log1p, _sum_of(ctx, _one_plus(node.args[0]), memo))
            elif node.is_Pow and node.exp.is_Rational and not node.exp.is_Integer:
                memo[node] = _rational_power(ctx, vals[0], node.exp)
            elif node.is_Pow:
                memo[node] = _power(ctx, vals[0], vals[1])
            else:
                memo[node] = ops[node.func](*vals)  # KeyError: not in the table
    return memo[expr]


def _sum(ctx: Any, node: Any, memo: dict[Any, Any]) -> Any:
    """An Add's value, left to right, with a pair ``c - c u^2`` taken as ``c (1 - u)(1 + u)``, or ``c sech(w)^2``
    when u = tanh(w): sympy writes tanh' as 1 - tanh^2 and arcsin' with 1 - x^2, which cancel at 53 bits:
    tanh' at 20 came out 0 (it is 1.7e-17), arcsin' at 1 - 2^-30 lost half its digits."""
    from diffcompare.backends.exact import square_pair

    pair = square_pair(node)
    minus_one = _exp_minus_one(node)
    if minus_one is not None:  # numpy's expm1 traced as exp(u) - 1: evaluated as expm1(u), as numpy did
        c, t = minus_one
        k, e = t.as_coeff_Mul()
        u = memo[e.args[0]]
        terms = [_constant(ctx, k) * (memo[e] - 1 if _huge(ctx, u) else ctx.expm1(u))]
        terms += [memo[a] for a in node.args if a is not c and a is not t]
    elif pair is None:
        terms = [memo[a] for a in node.args]
    else:
        c, t, u = pair
        if u.func is _sympy().tanh:
            w = memo[u.args[0]]
            s = ctx.zero if _huge(ctx, w) else ctx.sech(w)  # sech^2 < 2^-2^1100 there
            first = memo[c] * (s * s)
        else:
            first = memo[c] * ((1 - memo[u]) * (1 + memo[u]))
        terms = [first] + [memo[a] for a in node.args if a is not c and a is not t]
    out = terms[0]
    for v in terms[1:]:
        out = out + v
    return out


def _exp_minus_one(node: Any) -> tuple[Any, Any] | None:
    """``(-c, c exp(u))`` where the Add ``node`` holds both terms, else None.

    sympy has no expm1: numpy's ``expm1(u)`` is traced as ``exp(u) - 1`` (and its derivatives keep it:
    ``log(exp(x) - 1)``, ``exp(x)/(exp(x) - 1)``), which is 0 at 53 bits for |u| < 2^-53 and loses
    digits well beyond: ``expm1(x)**(pi**x)``' at 4e-208 came out nan (log(0) times 0 plus inf) where it is 1.
    """
    sp = _sympy()
    for c in node.args:
        if c.is_Number and c != 0:
            for t in node.args:
                k, e = t.as_coeff_Mul()
                if k == -c and e.func is sp.exp:
                    return c, t
    return None


def _one_plus(arg: Any) -> list[Any] | None:
    """The other terms of ``arg`` when it is an Add holding 1 (numpy's ``log1p(u)`` traced as ``log(1 + u)``)."""
    if not arg.is_Add or not any(a == 1 for a in arg.args):
        return None
    rest = list(arg.args)
    rest.remove(next(a for a in arg.args if a == 1))
    return rest


def _sum_of(ctx: Any, terms: list[Any], memo: dict[Any, Any]) -> Any:
    """Sum of already-evaluated terms, left to right (as a program adds them)."""
    out = memo[terms[0]]
    for t in terms[1:]:
        out = out + memo[t]
    return out
