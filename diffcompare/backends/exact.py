"""The exact reference: a sympy expression's value at an exact point, proved right, and how it was decided.

Every error diffcompare prints is measured against this, so nothing here is assumed: the point and
every literal are exact rationals (the binary values of the floats the backends compute with), and a
number is accepted only when an interval enclosure (mpmath's ``iv`` arithmetic, outward rounded)
pins it to ``digits`` significant digits. The precision doubles until it does. An enclosure that
keeps containing 0 or a pole is handed to sympy's exact arithmetic: substituting the rationals
decides an exact zero (``1/3 - 1/3``) or an infinity (``1/sqrt(0)``), whose sign comes from the
one-sided limits (``arcsin'`` at 1 is +inf from the left; there is no right side).

Each entry records its ``method``: ``interval``, ``exact zero (interval)`` (the enclosure is the
single point 0), ``exact zero (sympy)``, ``infinite (one-sided limit)``, ``infinite (two-sided
limit)``, ``infinite (one-sided, values approaching the point)`` (sympy's limit gave no answer in
time), ``undefined (the sides differ)`` or ``undefined (...)``. Infinite entries are mpmath ``±inf``,
undefined ones ``nan``.

This module runs sympy and can take long on a swollen expression: callers run it under
:func:`diffcompare.budget.run_with_budget`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import mpmath

__all__ = ["Entry", "evaluate_exact", "has_active_kink", "kink_symbols", "one_sided", "square_pair", "summary"]

# bits of the first enclosure and the last: 4096 bits resolve a cancellation of ~1200 digits
# (tanh(x*x)' at 15.67 cancels 212 digits); what still straddles 0 there goes to sympy
_FIRST_PREC, _LAST_PREC = 256, 4096


class _Singular(Exception):
    """The enclosure touches a pole, a branch point or the edge of a domain at this precision."""


class Entry:
    """One exact number: an mpmath value (``±inf`` infinite, ``nan`` undefined) and how it was decided."""

    __slots__ = ("value", "method")

    def __init__(self, value: Any, method: str):
        self.value, self.method = value, method

    def __repr__(self) -> str:
        return f"Entry({self.value}, {self.method!r})"


def summary(methods: Sequence[str]) -> str:
    """The distinct methods, in first-seen order: ``interval`` or ``interval, exact zero (sympy)``."""
    return ", ".join(dict.fromkeys(methods))


def evaluate_exact(expr: Any, point: dict[Any, float], digits: int = 50) -> Entry:
    """``expr`` (a sympy expression over the symbols of ``point``) at the exact binary values of ``point``."""
    prec = _FIRST_PREC
    while prec <= _LAST_PREC:
        try:
            lo, hi = _enclose(expr, point, prec)
        except _Singular:
            lo = hi = None
        if lo is not None:
            if lo == 0 and hi == 0:
                return Entry(mpmath.mpf(0), "exact zero (interval)")
            if lo > 0 or hi < 0:
                with mpmath.workprec(prec):
                    mid = (lo + hi) / 2
                    if (hi - lo) <= abs(mid) * mpmath.mpf(10) ** -(digits + 2):
                        return Entry(mid, "interval")
        prec *= 2
    try:
        return _decide_with_sympy(expr, point, digits)
    except (ValueError, TypeError, NotImplementedError, ZeroDivisionError):  # sympy gave up
        return Entry(mpmath.mpf("nan"), "undefined (sympy could not decide)")


# -- the enclosure -----------------------------------------------------------------------------------


def _ends(v: Any) -> tuple[Any, Any]:
    return mpmath.mpf(v._mpi_[0]), mpmath.mpf(v._mpi_[1])


def _enclose(expr: Any, point: dict[Any, float], prec: int) -> tuple[Any, Any]:
    """Endpoints of an interval that contains the exact value; ``_Singular`` where there is no finite one."""
    iv = mpmath.iv
    saved = iv.prec
    iv.prec = prec
    try:
        with mpmath.workprec(prec):
            return _ends(_walk(expr, point, prec))
    finally:
        iv.prec = saved


def post_order(expr: Any, is_leaf: Callable[[Any], bool]) -> Iterator[Any]:
    """Each distinct subexpression once, after its arguments (no recursion: Horner trees are deep).

    The caller evaluates each node as it comes (its arguments are done by then); the arguments of a
    leaf are not visited.
    """
    done: set[Any] = set()
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if ready or is_leaf(node):
            done.add(node)
            yield node
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)


def _walk(expr: Any, point: dict[Any, float], prec: int) -> Any:
    """Interval value of ``expr``, with a memo on shared subexpressions."""
    import sympy as sp

    iv = mpmath.iv
    memo: dict[Any, Any] = {}
    for node in post_order(expr, lambda n: not n.args or isinstance(n, sp.Derivative)):
        if node.is_Symbol:
            memo[node] = iv.mpf(point[node])  # exact: prec >= 53
        elif node.is_Rational:
            memo[node] = iv.mpf(int(node.p)) / iv.mpf(int(node.q)) if node.q != 1 else iv.mpf(int(node.p))
        elif node is sp.pi:
            memo[node] = iv.pi
        elif node is sp.E:
            memo[node] = iv.e
        elif node.is_Float:
            memo[node] = iv.mpf(mpmath.mpf(node._mpf_))  # a binary fraction, exact at this precision or wider
        elif isinstance(node, sp.Derivative):  # sympy could not differentiate it: sign(log(x))'
            memo[node] = _step_derivative(node, point, prec)
        elif node.is_Number or not node.args:  # zoo, oo, nan, a Float, another constant: sympy decides
            raise _Singular(str(node))
        else:
            pair = square_pair(node) if node.is_Add else None
            if pair is not None and pair[2].func is sp.tanh:
                v = _sech_squared_sum(node, pair, memo, prec)
            else:
                v = _apply(node, [memo[a] for a in node.args], prec)
            a, b = _ends(v)
            if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
                raise _Singular(str(node.func))
            memo[node] = v
    return memo[expr]


def square_pair(node: Any) -> tuple[Any, Any, Any] | None:
    """``(c, t, u)`` where the Add ``node`` holds a number c and a term t = -c u^2, else None.

    sympy writes tanh' as 1 - tanh^2 (and tanh'' with tanh^2 - 1), arcsin' with 1 - x^2: at |u| near 1 the
    pair cancels in any fixed precision (1 - tanh(8000)^2 is 1e-6948), so evaluators take it as
    c sech(w)^2 (u = tanh(w)) or c (1 - u)(1 + u) instead.
    """
    terms = node.args
    for c in terms:
        if not c.is_Number:
            continue
        for t in terms:
            k, sq = t.as_coeff_Mul()
            if k == -c and sq.is_Pow and sq.exp == 2:
                return c, t, sq.base
    return None


def _sech_squared_sum(node: Any, pair: tuple[Any, Any, Any], memo: dict[Any, Any], prec: int) -> Any:
    """The Add ``c - c tanh(w)^2 + rest`` as ``c / cosh(w)^2 + rest``: no cancellation for intervals to resolve
    (tanh(x**3)' at 20 was nan after 4096 bits, and sympy took 119 s on its second derivative)."""
    c, t, u = pair
    ch = _cosh(memo[u.args[0]], prec)
    out = memo[c] / (ch * ch)
    for a in node.args:
        if a is not c and a is not t:
            out = out + memo[a]
    return out


def _step_derivative(node: Any, point: dict[Any, float], prec: int) -> Any:
    """A derivative of sign(u) or Heaviside(u) is 0 where u is away from 0; elsewhere nothing is known."""
    import sympy as sp

    inner = node.expr
    if inner.func in (sp.sign, sp.Heaviside):
        a, b = _ends(_walk(inner.args[0], point, prec))
        if a > 0 or b < 0:
            return mpmath.iv.mpf(0)
    raise _Singular("an unevaluated derivative")


def _apply(node: Any, vals: list[Any], prec: int) -> Any:
    import sympy as sp

    iv = mpmath.iv
    if node.is_Add:
        out = vals[0]
        for v in vals[1:]:
            out = out + v
        return out
    if node.is_Mul:
        out = vals[0]
        for v in vals[1:]:
            out = out * v
        return out
    if node.is_Pow:
        return _power(node, vals[0], vals[1])
    x = vals[0]
    a, b = _ends(x)
    f = node.func
    if f is sp.exp:
        return iv.exp(x)
    if f is sp.log:
        _need(a > 0)
        return iv.log(x)
    if f in (sp.sin, sp.cos, sp.tan):
        return {sp.sin: iv.sin, sp.cos: iv.cos, sp.tan: iv.tan}[f](x)
    if f is sp.Abs:
        return abs(x)
    if f is sp.sign:
        if a > 0 or b < 0:
            return iv.mpf(1 if a > 0 else -1)
        _need(a == 0 and b == 0)
        return iv.mpf(0)
    if f in (sp.Max, sp.Min):
        ends = [_ends(v) for v in vals]
        pick = max if f is sp.Max else min
        return iv.mpf([pick(e[0] for e in ends), pick(e[1] for e in ends)])
    if f is sp.atan2:
        ya, yb = _ends(vals[0])
        xa, _ = _ends(vals[1])
        _need(xa > 0 or ya > 0 or yb < 0)  # away from the branch cut on the negative x axis and from (0, 0)
        return iv.atan2(vals[0], vals[1])
    if f is sp.Heaviside:
        if a > 0 or b < 0:
            return iv.mpf(1 if a > 0 else 0)
        raise _Singular("Heaviside at 0")
    if f is sp.DiracDelta:
        _need(a > 0 or b < 0)
        return iv.mpf(0)
    if f is sp.cosh:
        return _cosh(x, prec)
    if f in (sp.asin, sp.acos, sp.atanh):
        _need(-1 <= a and b <= 1 and (f is not sp.atanh or (-1 < a and b < 1)))
    if f is sp.acosh:
        _need(a >= 1)
    monotone = {sp.sinh: mpmath.sinh, sp.tanh: mpmath.tanh, sp.asin: mpmath.asin, sp.atan: mpmath.atan,
                sp.acos: mpmath.acos, sp.asinh: mpmath.asinh, sp.atanh: mpmath.atanh, sp.acosh: mpmath.acosh}
    if f in monotone:
        return _monotone(monotone[f], a, b, prec)
    raise _Singular(f"no enclosure for {f}")  # sympy decides


def _cosh(x: Any, prec: int) -> Any:
    a, b = _ends(x)
    if a <= 0 <= b:
        return mpmath.iv.mpf([1, _round(mpmath.cosh(max(-a, b)), prec, up=True)])
    lo, hi = sorted((abs(a), abs(b)))
    return _monotone(mpmath.cosh, lo, hi, prec)


def _need(ok: bool) -> None:
    if not ok:
        raise _Singular("outside the domain at this precision")


def _round(v: Any, prec: int, up: bool) -> Any:
    """``v`` (computed with 30 guard bits) moved outward by 2^-prec relative: covers mpmath's few-ulp error."""
    step = abs(v) * mpmath.ldexp(1, -prec)
    return v + step if up else v - step


def _monotone(fn: Any, a: Any, b: Any, prec: int) -> Any:
    """The image of [a, b] under a monotone function, rounded outward."""
    with mpmath.workprec(prec + 30):
        lo, hi = sorted((fn(a), fn(b)))
    return mpmath.iv.mpf([_round(lo, prec, up=False), _round(hi, prec, up=True)])


def _power(node: Any, base: Any, exponent: Any) -> Any:
    iv = mpmath.iv
    e = node.args[1]
    a, b = _ends(base)
    if e.is_Integer:
        n = int(e)
        if n < 0:
            _need(a > 0 or b < 0)
        return base ** n
    if e.is_Rational and e.q == 2:  # sqrt and its odd powers
        _need(a > 0 if e < 0 else a >= 0)
        root = iv.sqrt(base)
        return root ** int(e.p)
    _need(a > 0)  # sympy's x**r is complex for x < 0: only a positive base has a real power
    return iv.exp(exponent * iv.log(base))


# -- exact decisions ----------------------------------------------------------------------------------


def _decide_with_sympy(expr: Any, point: dict[Any, float], digits: int) -> Entry:
    """The enclosure gave no answer: substitute the exact rationals and let sympy decide."""
    import sympy as sp

    if expr.has(sp.Derivative):
        return Entry(mpmath.mpf("nan"), "undefined (sympy could not differentiate)")
    exact = {s: sp.Rational(v) for s, v in point.items()}
    value = expr.xreplace(exact)
    if value.has(sp.DiracDelta):
        return Entry(mpmath.mpf("nan"), "undefined (sympy)")
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return _infinite(expr, exact, point)
    if value == 0 or value.equals(0) is True:
        return Entry(mpmath.mpf(0), "exact zero (sympy)")
    if value.is_extended_real is False:
        return Entry(mpmath.mpf("nan"), "undefined (sympy: not real)")
    try:  # a form the enclosure could not handle (a constant it does not know): one more try on the number
        lo, hi = _enclose(value, {}, _LAST_PREC)
    except _Singular:
        return Entry(mpmath.mpf("nan"), "undefined (sympy could not decide)")
    with mpmath.workprec(_LAST_PREC):
        mid = (lo + hi) / 2
        if (lo > 0 or hi < 0) and (hi - lo) <= abs(mid) * mpmath.mpf(10) ** -(digits + 2):
            return Entry(mid, "interval")
    return Entry(mpmath.mpf("nan"), "undefined (sympy could not decide)")


def _infinite(expr: Any, exact: dict[Any, Any], point: dict[Any, float]) -> Entry:
    """The sign of an infinite value from the one-sided limits in each variable it depends on.

    Each limit is sympy's (``sp.limit``, given ``_LIMIT_SECONDS`` of CPU); where sympy takes longer or gives
    up, the values approaching the point decide (:func:`_approach`), and the method says so. A side
    whose values are not real (outside the domain, as right of 1 for ``arcsin``) does not count; all
    remaining sides must agree, or the value is undefined (``sqrt(abs(x))'`` at 0).
    """
    import sympy as sp

    found: set[Any] = set()
    one_sided = approached = False
    for s in sorted(expr.free_symbols, key=str):
        e = expr.xreplace({t: v for t, v in exact.items() if t != s})
        for side in (1, -1):
            try:
                lim = _limit(e, s, exact[s], "+" if side > 0 else "-")
            except (_LimitTimeout, NotImplementedError, ValueError, TypeError, RecursionError):
                lim = _approach(expr, s, point, side)
                approached = True
            if lim is None or lim.is_extended_real is not True:
                one_sided = True
                continue
            found.add(lim)
    how = ("one-sided" if one_sided else "two-sided") + (", values approaching the point" if approached else " limit")
    if len(found) != 1:
        return Entry(mpmath.mpf("nan"), "undefined (the sides differ)" if found else "undefined (no real limit)")
    lim = found.pop()
    if lim is sp.oo or lim is -sp.oo:
        return Entry(mpmath.mpf("inf") if lim is sp.oo else mpmath.mpf("-inf"), f"infinite ({how})")
    if lim.free_symbols or lim.has(sp.nan, sp.zoo):
        return Entry(mpmath.mpf("nan"), "undefined (sympy found no limit)")
    finite = evaluate_exact(lim, {}, 50)
    return Entry(finite.value, f"{how} ({finite.method})")


# CPU seconds each sympy limit may take before the values approaching the point decide instead
_LIMIT_SECONDS = 2.0


class _LimitTimeout(BaseException):
    """Raised by the alarm inside sympy's limit (a BaseException, so sympy's ``except Exception`` lets it by)."""


def _limit(e: Any, s: Any, x0: Any, side: str) -> Any:
    import signal
    import threading

    import sympy as sp

    if threading.current_thread() is not threading.main_thread():  # no alarms off the main thread
        return sp.limit(e, s, x0, side)

    def alarm(*_: Any) -> None:
        raise _LimitTimeout

    # CPU time, not wall time: a loaded machine must not change which method decides
    previous = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, _LIMIT_SECONDS)
    try:
        return sp.limit(e, s, x0, side)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _approach(expr: Any, s: Any, point: dict[Any, float], side: int) -> Any:
    """+oo or -oo if ``expr`` at x0 + side·2^-k·max(|x0|, 1), k = 40, 80, 160, keeps one sign and grows
    at least 2^10-fold per step (as a pole's values do); None if that side is outside the domain;
    ``nan`` if neither.

    Evidence rather than proof: used only where sympy's limit gives no answer in time.
    """
    import sympy as sp

    x0 = mpmath.mpf(point[s])
    values = []
    for k in (40, 80, 160):
        with mpmath.workprec(400):
            near = dict(point)
            near[s] = x0 + side * mpmath.ldexp(max(abs(x0), 1), -k)  # exact at 400 bits
        try:
            lo, hi = _enclose(expr, near, 512)
        except _Singular:
            values.append(None)
            continue
        values.append((lo, hi))
    if all(v is None for v in values):
        return None
    if any(v is None for v in values) or not all(lo > 0 or hi < 0 for lo, hi in values):
        return sp.nan
    signs = {1 if lo > 0 else -1 for lo, _ in values}
    sizes = [min(abs(lo), abs(hi)) for lo, hi in values]
    grows = all(b > a * 2**10 for a, b in zip(sizes, sizes[1:]))
    if len(signs) != 1 or not grows:
        return sp.nan
    return sp.oo if signs.pop() > 0 else -sp.oo


# -- kinks: abs, sign, max, min whose argument is exactly 0 at the point ---------------------------------

# Taylor terms tried to learn the sign of a kink's argument on each side of the point
_KINK_ORDERS = 6


def _kink_argument(node: Any) -> Any:
    """The quantity whose sign picks the branch of an abs, sign, or two-argument max/min; else None."""
    import sympy as sp

    if node.func in (sp.Abs, sp.sign):
        return node.args[0]
    if node.func in (sp.Max, sp.Min) and len(node.args) == 2:
        return node.args[0] - node.args[1]
    return None


def _active_kink(expr: Any, point: dict[Any, float], digits: int) -> Any:
    """The innermost kink whose argument is exactly 0 at the point (sympy's sign(0) = 0 there is no derivative)."""
    for node in post_order(expr, lambda n: not n.args):
        u = _kink_argument(node)
        if u is not None and u.free_symbols and evaluate_exact(u, point, digits).method.startswith("exact zero"):
            return node
    return None


def _side_sign(u: Any, s: Any, point: dict[Any, float], side: int, digits: int) -> int | None:
    """The sign of ``u`` just to the ``side`` (+1 right, -1 left) of the point along ``s``, where u is 0.

    The first nonzero derivative d^m u/ds^m = c decides: u ~ c (side t)^m / m!. None: not decided.
    """
    import sympy as sp

    if s not in u.free_symbols:  # u is 0 all along the line: either branch gives f there
        return 1
    d = u
    for m in range(1, _KINK_ORDERS + 1):
        d = sp.diff(d, s)
        v = evaluate_exact(d, point, digits).value
        if mpmath.isnan(v) or mpmath.isinf(v):
            return None
        if v != 0:
            return (1 if v > 0 else -1) * side**m
    return None


def _side_expression(expr: Any, s: Any, point: dict[Any, float], side: int, digits: int) -> Any:
    """``expr`` with every active kink replaced by the branch it takes on ``side`` of the point along ``s``."""
    import sympy as sp

    for _ in range(32):
        node = _active_kink(expr, point, digits)
        if node is None:
            return expr
        u = _kink_argument(node)
        sign = _side_sign(u, s, point, side, digits)
        if sign is None:
            return None
        if node.func is sp.Abs:
            branch = sign * u
        elif node.func is sp.sign:
            branch = sp.Integer(sign)
        elif node.func is sp.Max:
            branch = node.args[0] if sign > 0 else node.args[1]
        else:
            branch = node.args[1] if sign > 0 else node.args[0]
        expr = expr.xreplace({node: branch})
    return None


def has_active_kink(expr: Any, point: dict[Any, float], digits: int = 50) -> bool:
    """True where an abs, sign, max or min of ``expr`` sits exactly on its kink at the point."""
    import sympy as sp

    return bool(expr.has(sp.Abs, sp.sign, sp.Max, sp.Min)) and _active_kink(expr, point, digits) is not None


def kink_symbols(expr: Any, point: dict[Any, float], digits: int = 50) -> set[Any]:
    """The variables of the arguments of every abs, sign, max or min of ``expr`` that is on its kink."""
    out: set[Any] = set()
    for node in post_order(expr, lambda n: not n.args):
        u = _kink_argument(node)
        if u is not None and u.free_symbols and evaluate_exact(u, point, digits).method.startswith("exact zero"):
            out |= u.free_symbols
    return out


def _same(a: Any, b: Any, digits: int) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return False
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= abs(max(abs(a), abs(b))) * mpmath.mpf(10) ** -digits


def _show(v: Any) -> str:
    text = mpmath.nstr(v, 17).removesuffix(".0")
    return "+" + text if v > 0 and not text.startswith("+") else text


def one_sided(expr: Any, s: Any, order: int, point: dict[Any, float], digits: int = 50) -> Entry | None:
    """The ``order``-th derivative of ``expr`` along ``s`` at a kink, from the branches on each side; None: no kink.

    sympy differentiates abs(u) to sign(u), which is 0 where u is 0: at such a point it would claim
    abs'(0) = 0. Here each side's branch (abs(u) -> ±u, max(a, b) -> a or b) is differentiated exactly
    and a value is claimed only when both sides agree for every order up to ``order`` (the lower ones
    must exist for the higher to): abs(x)**2 and abs(x*x) have 0 at 0, abs(x) has none (-1 / +1).
    """
    if not has_active_kink(expr, point, digits):
        return None
    import sympy as sp

    left, right = (_side_expression(expr, s, point, side, digits) for side in (-1, 1))
    if left is None or right is None:
        return Entry(mpmath.mpf("nan"), "undefined (a kink at the point; its sides not decided)")
    if left == right:  # the kink does not act along s
        return evaluate_exact(sp.diff(right, s, order), point, digits)
    value = evaluate_exact(expr, point, digits).value
    for k in range(order + 1):
        lo = evaluate_exact(sp.diff(left, s, k), point, digits)
        hi = evaluate_exact(sp.diff(right, s, k), point, digits)
        if not (_same(lo.value, hi.value, digits) and (k > 0 or _same(hi.value, value, digits))):
            if mpmath.isnan(lo.value) or mpmath.isnan(hi.value):
                return Entry(mpmath.mpf("nan"), "undefined (a kink at the point; a side not decided)")
            if k == 0:
                return Entry(mpmath.mpf("nan"), f"undefined: jump, one-sided values {_show(lo.value)} / "
                                                f"{_show(hi.value)}")
            what = "" if k == order else f" (order {k})"
            return Entry(mpmath.mpf("nan"), f"undefined: kink{what}, one-sided {_show(lo.value)} / "
                                            f"{_show(hi.value)}")
    return Entry(hi.value, "one-sided derivatives agree at the kink")
