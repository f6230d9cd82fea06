"""An independent high-precision reference for the differential tests: mpmath Taylor arithmetic on the parse tree.

Why: every backend, and the tool's own sympy reference, is checked against this; so it shares no code with
them. It walks the same ``ast`` the parser accepts and evaluates it in truncated Taylor series
``f(x + t v) = c_0 + c_1 t + ... + c_K t^K`` with mpmath numbers at ``PREC`` bits (~96 digits), using the
classical coefficient recurrences (Griewank & Walther, "Evaluating Derivatives", ch. 13).

Literals: the backends compute with float64 constants; a constant sub-expression is folded by the parser
in float64 (``exp(0.5)`` is one double). So every constant sub-tree is evaluated here in float64 exactly as
the parser does and then enters the reference as the *exact binary value* of that double: a measured error
is then the method's own, not the literal's rounding.

Error bound: beside each coefficient ``c_k`` the evaluation carries ``e_k``, a first-order running error
bound (Wilkinson's running error analysis) in units of ``EPS`` for a float64 program that computes the
same chain rule: every arithmetic result rounded (<= EPS/2 relative), every libm value and every
derivative rule accurate to <= 1 and 2 EPS of its exact value, the propagated part through the exact
partial derivatives: for a unary ``f`` the partial of ``c_k`` with respect to ``a_j`` is the coefficient
``k - j`` of the series of ``f'(a)``, so the propagated bound is the Cauchy product ``|f'(a)| * e_a``. This
is the "condition number times eps" of the derivative evaluation the tolerance of AD and symbolic
backends is built on (see tests/test_differential.py).

Where the chain rule meets a singularity (sqrt, arcsin, arccos, fractional powers at the edge of their
domain, abs at 0) a :class:`Singular` is raised for orders >= 2, and order 1 gets the one-sided infinite
derivative (``±inf``) or ``nan`` when it is not determined (0·∞: the true limit needs analysis).

One-sided limits at a kink: ``reference(..., side=+1)`` (or ``-1``) evaluates ``f(x + t v)`` for ``t -> 0+``
(``0-``) only. ``abs`` of an argument that is 0 at the point is then ``s * a`` with ``s`` the sign of the
argument on that side: that of its first nonzero Taylor coefficient ``c_m``, times ``(-1)^m`` on the left.
The coefficients are the one-sided derivatives (``x*abs(x)`` at 0: 0 from both sides, so f' = 0; ``abs``:
-1 and +1, no derivative). An argument whose series is 0 up to the order asked stays :class:`Singular`.
"""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from diffcompare.parse import CONSTANTS, FUNCTIONS

PREC = 320  # bits; the float64 inputs are exact, so cancellation of up to ~2^-250 still leaves 70 bits
EPS = 2.0**-52
TINY = 2.0**-1074  # the smallest subnormal: the absolute floor of every float64 rounding
MP = mpmath.mp

# Functions the evaluator knows: every name of parse.FUNCTIONS must be here (checked by a test).
ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh"}
KNOWN = {"sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "abs", "log1p", "expm1", "sinh",
         "cosh", "arcsin", "arccos", "arctan", "arcsinh"}


class Undefined(Exception):
    """f (or a constant in it) is not a finite real number at the point."""


class Singular(Exception):
    """The chain rule meets a singular point (edge of a domain, a kink) at an order this reference refuses."""


@dataclass
class Series:
    """Taylor coefficients ``c`` and their running error bounds ``e`` (units of EPS)."""

    c: list[Any]
    e: list[Any]

    @property
    def K(self) -> int:
        return len(self.c) - 1

    def constant(self) -> bool:
        return all(v == 0 for v in self.c[1:])


@dataclass
class Evaluation:
    coeffs: list[Any]
    errors: list[Any]
    tags: set[str] = field(default_factory=set)  # features met on the way (see Evaluator.tag)
    distance: Any = mpmath.inf  # how far x may move along the direction before meeting a singular point


def mpf(x: float) -> Any:
    """The exact binary value of a double as an mpf."""
    return mpmath.mpf(float(x))


# -- series arithmetic ---------------------------------------------------------------------------------


def _zero(K: int) -> list[Any]:
    return [mpmath.mpf(0)] * (K + 1)


def _conv(a: Sequence[Any], b: Sequence[Any], k: int) -> Any:
    return mpmath.fsum(a[j] * b[k - j] for j in range(k + 1))


def _cauchy(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    return [_conv(a, b, k) for k in range(len(a))]


def _abs(a: Sequence[Any]) -> list[Any]:
    return [abs(v) for v in a]


def _isinf(v: Any) -> bool:
    return mpmath.isinf(v) or mpmath.isnan(v)


def _chain(a: Series, c: list[Any], d: list[Any], libm: float = 1.0) -> Series:
    """The error bounds of ``c = f(a)`` whose ``f'(a)`` series is ``d``: propagated plus local rounding."""
    K = a.K
    prop = _cauchy(_abs(d), a.e)
    e = []
    for k in range(K + 1):
        if k == 0:
            local = libm * abs(c[0])
        else:  # the rule's partial (2 EPS), the product by a_j and the sum (1 EPS) per term
            local = 3 * mpmath.fsum(j * abs(a.c[j]) * abs(d[k - j]) for j in range(1, k + 1)) / k
        e.append(prop[k] + local + TINY / EPS)
    return Series(c, e)


def _from_derivative(a: Series, c0: Any, d: list[Any]) -> list[Any]:
    """``c_k = (1/k) sum_j j a_j d_{k-j}`` given the series ``d`` of ``f'(a)`` (it must not depend on c_k)."""
    c = [c0]
    for k in range(1, a.K + 1):
        c.append(mpmath.fsum(j * a.c[j] * d[k - j] for j in range(1, k + 1)) / k)
    return c


def recip(b: list[Any]) -> list[Any]:
    if b[0] == 0:
        raise ZeroDivisionError
    out = [1 / b[0]]
    for k in range(1, len(b)):
        out.append(-mpmath.fsum(b[j] * out[k - j] for j in range(1, k + 1)) / b[0])
    return out


def _sqrt_series(a: list[Any]) -> list[Any]:
    r = [mpmath.sqrt(a[0])]
    for k in range(1, len(a)):
        s = mpmath.fsum(r[j] * r[k - j] for j in range(1, k))
        r.append((a[k] - s) / (2 * r[0]))
    return r


def _exp_series(a: list[Any]) -> list[Any]:
    e = [mpmath.exp(a[0])]
    for k in range(1, len(a)):
        e.append(mpmath.fsum(j * a[j] * e[k - j] for j in range(1, k + 1)) / k)
    return e


def _log_series(a: list[Any]) -> list[Any]:
    out = [mpmath.log(a[0])]
    inv = recip(a)
    for k in range(1, len(a)):
        out.append(mpmath.fsum(j * a[j] * inv[k - j] for j in range(1, k + 1)) / k)
    return out


def _sincos(a: list[Any], hyperbolic: bool) -> tuple[list[Any], list[Any]]:
    s = [mpmath.sinh(a[0]) if hyperbolic else mpmath.sin(a[0])]
    c = [mpmath.cosh(a[0]) if hyperbolic else mpmath.cos(a[0])]
    sign = 1 if hyperbolic else -1
    for k in range(1, len(a)):
        s.append(mpmath.fsum(j * a[j] * c[k - j] for j in range(1, k + 1)) / k)
        c.append(sign * mpmath.fsum(j * a[j] * s[k - j] for j in range(1, k + 1)) / k)
    return s, c


def _riccati(a: list[Any], c0: Any, rhs) -> tuple[list[Any], list[Any]]:
    """Series of y with ``y' = rhs(y) a'`` (tan, tanh, sigmoid): c and d = rhs(c) built together."""
    c = [c0]
    d: list[Any] = []
    for k in range(len(a)):
        if k > 0:
            c.append(mpmath.fsum(j * a[j] * d[k - j] for j in range(1, k + 1)) / k)
        d.append(rhs(c, k))
    return c, d


# -- the evaluator ---------------------------------------------------------------------------------------


class Evaluator:
    """Evaluate one parse tree in Taylor arithmetic at a point along a direction."""

    def __init__(self, text: str, variables: Sequence[str]):
        self.text = text
        self.variables = tuple(variables)
        self.tree = ast.parse(text.strip(), mode="eval").body
        self._consts: dict[int, float | None] = {}
        self._fold(self.tree)

    # float64 constant folding, as the parser does it (bottom-up, numpy float64 semantics)
    def _fold(self, node: ast.AST) -> float | None:
        v: Any = None
        with np.errstate(all="ignore"):
            if isinstance(node, ast.Constant):
                v = np.float64(float(node.value))
            elif isinstance(node, ast.Name):
                v = CONSTANTS.get(node.id)
            elif isinstance(node, ast.UnaryOp):
                o = self._fold(node.operand)
                v = None if o is None else (o if isinstance(node.op, ast.UAdd) else -np.float64(o))
            elif isinstance(node, ast.BinOp):
                left, right = self._fold(node.left), self._fold(node.right)
                if left is not None and right is not None:
                    ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
                    if isinstance(node.op, ast.Pow):
                        v = np.float64(left) ** np.float64(right)
                    else:
                        v = ops[type(node.op)](np.float64(left), np.float64(right))
            elif isinstance(node, ast.Call):
                arg = self._fold(node.args[0])
                if arg is not None:
                    v = FUNCTIONS[node.func.id](np.float64(arg))
            else:
                raise ValueError(f"node {type(node).__name__} not handled")
        if v is not None:
            v = float(v)
            if not math.isfinite(v):
                raise Undefined(f"constant {ast.unparse(node)} is not finite")
        self._consts[id(node)] = v
        return v

    def run(self, point: Sequence[float], direction: Sequence[float], K: int, prec: int = PREC,
            side: int = 0) -> Evaluation:
        """The Taylor series of f along ``direction``; ``side`` +1 or -1 for t -> 0+ or 0- only (kinks decided)."""
        self.side = side
        self.tags: set[str] = set()
        self.distance = mpmath.inf
        with mpmath.workprec(prec):
            self.K = K
            self.point = [mpf(p) for p in point]
            self.direction = [mpf(d) for d in direction]
            self._series: dict[int, Series] = {}
            self._maj: dict[int, list[Any]] = {}
            try:
                s = self._eval(self.tree)
            except ZeroDivisionError as exc:
                raise Undefined(f"division by zero ({exc})") from None
            return Evaluation([+v for v in s.c], [+v for v in s.e], self.tags, self.distance)

    def tag(self, name: str) -> None:
        self.tags.add(name)

    def _const(self, v: float) -> Series:
        return Series([mpf(v)] + _zero(self.K)[1:], _zero(self.K))

    def _eval(self, node: ast.AST) -> Series:
        s = self._eval_node(node)
        for k, v in enumerate(s.c):
            if mpmath.isfinite(v) and abs(v) * mpmath.factorial(k) > sys.float_info.max:
                self.tag("out-of-range")
        if s.c[0] != 0 and abs(s.c[0]) < 2.0**-1022:
            self.tag("value-underflow")
        self._series[id(node)] = s
        if s.K >= 2:  # orders >= 2: rounding of every term of the chain rule's expansion (see _majorant)
            m = self._majorant(node)
            s = Series(s.c, [e + (2 * k * m[k] if k >= 2 else 0) for k, e in enumerate(s.e)])
            self._series[id(node)] = s
        return s

    def _majorant(self, node: ast.AST) -> list[Any]:
        """The Taylor series of the node with every term taken in absolute value (Faa di Bruno with |.|): the
        scale of the rounding errors of the terms an AD program of any order adds up, whatever their order.
        Needed from order 2 on, where the errors of lower coefficients feed higher ones within one node
        (hessian of x/x: the exact 0 is -2/x^2 + 2/x^2, each term rounded)."""
        key = id(node)
        if key in self._maj:
            return self._maj[key]
        K = self.K
        s = self._series[key]
        v = self._consts[key]
        if v is not None:
            m = [abs(mpf(v))] + _zero(K)[1:]
        elif isinstance(node, ast.Name):
            i = self.variables.index(node.id)
            m = [abs(self.point[i]), abs(self.direction[i])] + _zero(K)[2:]
        elif isinstance(node, ast.UnaryOp):
            m = self._majorant(node.operand)
        elif isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Pow):
            ma, mb = self._majorant(node.left), self._majorant(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                m = [x + y for x, y in zip(ma, mb)]
            elif isinstance(node.op, ast.Mult):
                m = _cauchy(ma, mb)
            else:
                b0 = abs(self._series[id(node.right)].c[0])
                r = [1 / b0]
                for k in range(1, K + 1):
                    r.append(mpmath.fsum(mb[j] * r[k - j] for j in range(1, k + 1)) / b0)
                m = _cauchy(ma, r)
        else:
            arg = node.left if isinstance(node, ast.BinOp) else node.args[0]
            m = self._compose(node, self._series[id(arg)].c[0], self._majorant(arg))
            if m is None:
                m = _abs(s.c)
        self._maj[key] = m
        return m

    def _compose(self, node: ast.AST, a0: Any, ma: list[Any]) -> list[Any] | None:
        """sum_j |f^(j)(a0)|/j! (ma - ma_0)^j for the function of a Call or a power (None where singular)."""
        K = self.K
        tags, distance = set(self.tags), self.distance
        ident = Series([a0, mpmath.mpf(1)] + _zero(K)[2:], _zero(K))
        try:
            if isinstance(node, ast.Call):
                coeffs = self._unary_series(ALIASES.get(node.func.id, node.func.id), ident).c
            else:
                p = self._consts[id(node.right)]
                if p is None:  # x ** y: exp(y log x), majorant through log and exp
                    return None
                coeffs = self._power(ident, p).c
        except (Singular, Undefined, ZeroDivisionError):
            return None
        finally:
            self.tags, self.distance = tags, distance
        u = [mpmath.mpf(0)] + list(ma[1:])
        out = [abs(coeffs[0])] + _zero(K)[1:]
        power = [mpmath.mpf(1)] + _zero(K)[1:]
        for j in range(1, K + 1):
            power = _cauchy(power, u)
            out = [o + abs(coeffs[j]) * q for o, q in zip(out, power)]
        return out

    def _eval_node(self, node: ast.AST) -> Series:
        v = self._consts[id(node)]
        if v is not None:
            return self._const(v)
        if isinstance(node, ast.Name):
            i = self.variables.index(node.id)
            c = _zero(self.K)
            c[0] = self.point[i]
            if self.K >= 1:
                c[1] = self.direction[i]
            return Series(c, _zero(self.K))
        if isinstance(node, ast.UnaryOp):
            a = self._eval(node.operand)
            return a if isinstance(node.op, ast.UAdd) else Series([-v for v in a.c], list(a.e))
        if isinstance(node, ast.BinOp):
            a = self._eval(node.left)
            if isinstance(node.op, ast.Pow):
                return self._pow(a, node.right)
            b = self._eval(node.right)
            return {ast.Add: self._add, ast.Sub: self._sub, ast.Mult: self._mul, ast.Div: self._div}[
                type(node.op)](a, b)
        if isinstance(node, ast.Call):
            name = ALIASES.get(node.func.id, node.func.id)
            return self._unary(name, self._eval(node.args[0]))
        raise ValueError(f"node {type(node).__name__} not handled")

    # -- binary operations
    def _add(self, a: Series, b: Series, sign: int = 1) -> Series:
        c = [x + sign * y for x, y in zip(a.c, b.c)]
        e = [ea + eb + abs(ck) / 2 + TINY / EPS for ea, eb, ck in zip(a.e, b.e, c)]
        return Series(c, e)

    def _sub(self, a: Series, b: Series) -> Series:
        return self._add(a, b, -1)

    def _mul(self, a: Series, b: Series) -> Series:
        c = _cauchy(a.c, b.c)
        mag = _cauchy(_abs(a.c), _abs(b.c))
        prop = [x + y for x, y in zip(_cauchy(_abs(a.c), b.e), _cauchy(a.e, _abs(b.c)))]
        e = [prop[k] + max(1, k) * mag[k] + TINY / EPS for k in range(len(c))]
        return Series(c, e)

    def _div(self, a: Series, b: Series) -> Series:
        if b.c[0] == 0:
            raise Undefined("division by zero")
        self.near(b, 0)
        if not b.constant():
            self._range(a.c[0] / b.c[0] ** 2, "partial-out-of-range")
        if not a.constant():
            self._range(1 / b.c[0], "partial-out-of-range")
        inv = recip(b.c)
        c = _cauchy(a.c, inv)
        q = _cauchy(c, inv)  # d(a/b)/db = -c/b
        mag = [(abs(a.c[k]) + mpmath.fsum(abs(b.c[j]) * abs(c[k - j]) for j in range(1, k + 1))) / abs(b.c[0])
               for k in range(len(c))]
        prop = [x + y for x, y in zip(_cauchy(_abs(inv), a.e), _cauchy(_abs(q), b.e))]
        e = [prop[k] + (k + 1) * mag[k] + TINY / EPS for k in range(len(c))]
        return Series(c, e)

    def _pow(self, a: Series, right: ast.AST) -> Series:
        p = self._consts[id(right)]
        if p is None:  # x ** y with a variable exponent: exp(y log x), x > 0
            b = self._eval(right)
            if a.c[0] <= 0:
                if a.c[0] == 0 and b.constant() and a.constant():
                    self.tag("pow-variable-base-nonpositive")
                    return self._const(float(mpmath.mpf(0) ** b.c[0]))
                self.tag("pow-variable-base-nonpositive")
                raise Singular("x**y needs x > 0 to be differentiable in y")
            self.near(a, 0)
            la = _log_series(a.c)
            c = _exp_series(_cauchy(b.c, la))
            self._range(a.c[0] ** (b.c[0] - 1))
            if a.K >= 2:
                self._range(a.c[0] ** (b.c[0] - 2))
            self._exponent_rounding(a.c[0], b.c[0])
            da = _cauchy(_cauchy(b.c, recip(a.c)), c)  # y x^(y-1)
            db = _cauchy(la, c)
            mag = [x + y for x, y in zip(_cauchy(_abs(da), _abs(a.c)), _cauchy(_abs(db), _abs(b.c)))]
            prop = [x + y for x, y in zip(_cauchy(_abs(da), a.e), _cauchy(_abs(db), b.e))]
            e = [prop[k] + (abs(c[0]) if k == 0 else 3 * mag[k]) + TINY / EPS for k in range(len(c))]
            return Series(c, e)
        return self._power(a, p)

    def _power(self, a: Series, p: float) -> Series:
        """a ** p for a float64 constant p."""
        K = a.K
        P = mpf(p)
        if a.constant():
            if a.c[0] == 0 and p < 0:
                raise Undefined("0 to a negative power")
            if a.c[0] < 0 and not float(p).is_integer():
                raise Undefined("negative base, fractional power")
            c = _zero(K)
            c[0] = a.c[0] ** P if not (a.c[0] == 0 and p == 0) else mpmath.mpf(1)
            d0 = P * a.c[0] ** (P - 1) if a.c[0] != 0 else (mpmath.mpf(0) if p != 1 else mpmath.mpf(1))
            if a.c[0] == 0 and 0 < p < 1 and a.K >= 1:
                # a fractional power at 0 with a zero first-order tangent: (x*x)**0.5 is |x| (a kink), (x*x)**0.75
                # has derivative 0: not decided here, as sqrt's (arctan(x**2))**0.5 at 0 said 0, the tool nan
                self.tag("zero-tangent-at-singularity")
            return Series(c, [abs(d0) * a.e[0] + abs(c[0]) + TINY / EPS] + _zero(K)[1:])
        if p == 0:  # a ** 0 = 1 everywhere (at 0 too: 0.0 ** 0.0 is 1)
            if a.c[0] == 0:
                self.tag("pow-zero-exponent-at-zero")
            return Series([mpmath.mpf(1)] + _zero(K)[1:], _zero(K))
        if p < 0 or not float(p).is_integer():
            self.near(a, 0)
        if a.c[0] == 0:
            if p == 0:
                self.tag("pow-zero-exponent-at-zero")
                c = _zero(K)
                c[0] = mpmath.mpf(1)
                return Series(c, _zero(K))
            if float(p).is_integer() and p > 0:
                if p < K:  # the order-k rule p(p-1)..x^(p-k) meets 0 * 0^(negative): nan in AD
                    self.tag("pow-integer-at-zero")
                c = [mpmath.mpf(1)] + _zero(K)[1:]
                for _ in range(int(p)):
                    c = _cauchy(c, a.c)
                # d/da a^p = p a^(p-1): a polynomial too
                d = [mpmath.mpf(1)] + _zero(K)[1:]
                for _ in range(int(p) - 1):
                    d = _cauchy(d, a.c)
                d = [P * v for v in d]
                return _chain(a, c, d)
            if p < 0:
                raise Undefined("0 to a negative power")
            self.tag("pow-fractional-at-zero")
            if K >= 2 or p < 1:
                return self._infinite(a, "fractional power at 0", positive=True, value=mpmath.mpf(0))
            # 1 < p < 2 at K = 1: derivative p a^(p-1) a' = 0 (one-sided); the rule's 0·a' is exact, unless a' is
            # infinite (tan(arccos(x))**1.14 at 1: -inf, not 0): 0·inf is not decided at first order
            c = _zero(K)
            if mpmath.isinf(a.c[1]):
                c[1] = mpmath.nan
                self.tag("infinite-times-zero")
            return Series(c, _zero(K))
        if a.c[0] < 0:
            if not float(p).is_integer():
                raise Undefined("negative base, fractional power")
            sign = -1 if int(p) % 2 else 1
            neg = Series([-v for v in a.c], a.e)
            r = self._power(neg, p)
            return Series([sign * v for v in r.c], r.e)
        self._range(P * a.c[0] ** (P - 1))
        if K >= 2:
            self._range(P * (P - 1) * a.c[0] ** (P - 2))
        self._exponent_rounding(a.c[0], P)
        if float(p).is_integer() and abs(p) <= 64:  # exact polynomial arithmetic: exact zeros stay exact
            q = [mpmath.mpf(1)] + _zero(K)[1:]
            for _ in range(int(abs(p)) - 1):
                q = _cauchy(q, a.c)
            c = _cauchy(q, a.c)  # a^|p|
            d = [abs(P) * v for v in q]  # |p| a^(|p|-1)
            if p < 0:  # a^-m = 1/a^m, d = -m a^(-m-1) = -m a^(m-1) / a^(2m)
                inv = recip(c)
                d = [-v for v in _cauchy(d, _cauchy(inv, inv))]
                c = inv
            return _chain(a, c, d)
        la = _log_series(a.c)
        c = _exp_series([P * v for v in la])
        d = _cauchy([P * v for v in c], recip(a.c))
        return _chain(a, c, d)

    def near(self, a: Series, s: Any) -> None:
        """Note how far x may move along the direction before the argument a reaches the singular point s
        (first order: |a_0 - s| / |a_1|): finite differences with a larger step straddle it."""
        if a.K >= 1 and a.c[1] != 0:
            self.distance = min(self.distance, abs(a.c[0] - s) / abs(a.c[1]))

    def _range(self, partial: Any, tag: str = "pow-partial-out-of-range") -> None:
        """A rule's local partial (pow's ``y x^(y-1)``, division's ``a/b^2``, ``f'(x)``) beyond the normal
        float64 range: AD multiplies it by the tangent first, so the product is lost even where it is not."""
        if partial != 0 and mpmath.isfinite(partial) and not 2.0**-1022 <= abs(partial) <= sys.float_info.max:
            self.tag(tag)

    def _exponent_rounding(self, x: Any, p: Any) -> None:
        """The rule p x^(p-1) rounds the exponent p - 1 in float64: relative error |log x| |fl(p-1) - (p-1)|."""
        q = mpf(float(p) - 1.0)
        if x > 0 and abs(mpmath.log(x)) * abs(q - (p - 1)) > 2 * EPS:
            self.tag("pow-exponent-rounding")

    def _infinite(self, a: Series, why: str, positive: bool, value: Any) -> Series:
        """f(a) with f' infinite at a_0 (sign of f' given by ``positive``): order 1 only, one-sided ±inf."""
        if a.constant():
            raise AssertionError("handled by the caller")
        if self.K >= 2:
            raise Singular(why)
        c = _zero(1)
        c[0] = value
        c[1] = (mpmath.inf if positive else -mpmath.inf) * mpmath.sign(a.c[1])
        self.tag("infinite")
        self.tag("infinite-adjoint")
        return Series(c, [abs(value) + TINY / EPS, mpmath.inf])

    # -- unary functions
    def _unary(self, name: str, a: Series) -> Series:
        if a.K >= 1 and mpmath.isinf(a.c[1]):
            return self._after_infinite(name, a)
        r = self._unary_series(name, a)
        if a.K >= 1 and a.c[1] != 0 and mpmath.isfinite(r.c[1]):
            self._range(r.c[1] / a.c[1], "partial-out-of-range")  # f'(a_0)
            if a.K >= 2 and mpmath.isfinite(r.c[2]):
                # the tangent of the partial, f''(a_0) a_1: the Hessian's intermediate d/dt f'(a) (forward over
                # reverse holds it); log(y**2.719) at y = 7.87e-91: -u'/u^2 = -3.4e335 (overflows), at 1e100:
                # -3.4e-372 (underflows). And f''(a_0) itself, a partial some rules hold before multiplying by
                # the tangent; not log's: reciprocal's term is -(t ans) ans (log(1e200 x): -1e-400 not held)
                d1 = (2 * r.c[2] - 2 * a.c[2] * r.c[1] / a.c[1]) / a.c[1]
                self._range(d1, "partial-out-of-range")
                if name not in ("log", "log1p"):
                    self._range(d1 / a.c[1], "partial-out-of-range")
        return r

    def _after_infinite(self, name: str, a: Series) -> Series:
        """f(a) where a's tangent is infinite (order 1 after a domain edge: sin(arcsin(x)) at 1): f'(a_0) times
        inf. a_0 is an exact real (pi/2) held to the working precision, so f'(a_0) may be an exact zero held as
        a residue (cos(pi/2) = -1e-97 at 320 bits), whose sign is the rounding's: 0 * inf is not decided by
        the first-order chain rule (nan; the true limit needs analysis: sin(arcsin(x)) = x has derivative 1).
        Residues (below 2^-(prec/2) of the scale) are taken as the exact zeros they stand for, in the value too:
        raised precision (:func:`reference`) tells them from true small numbers."""
        x = a.c[0]
        scale = (1 + abs(x)) * mpmath.mpf(2) ** (-MP.prec // 2)
        saved = set(self.tags), self.distance
        try:
            d0 = self._unary_series(name, Series([x, mpmath.mpf(1)], [mpmath.mpf(0)] * 2)).c[1]
        except (Singular, Undefined, ZeroDivisionError):
            d0 = None
        finally:
            self.tags, self.distance = saved
        r = self._unary_series(name, a)
        c = list(r.c)
        if abs(c[0]) <= scale:
            c[0] = mpmath.mpf(0)
        if d0 is not None and mpmath.isfinite(d0) and abs(d0) <= scale:
            c[1] = mpmath.nan
            self.tag("infinite-times-zero")
        return Series(c, list(r.e))

    def _unary_series(self, name: str, a: Series) -> Series:
        K = a.K
        x = a.c[0]
        if a.constant():  # a constant argument (the direction does not move it): f(a_0) and no derivative
            value = self._unary_value(name, x)
            d0 = self._unary_value_derivative(name, x)
            e0 = abs(d0) * a.e[0] + abs(value) + TINY / EPS if not _isinf(d0) else mpmath.inf
            if _isinf(d0) and a.e[0] == 0:
                e0 = abs(value)
            if name == "abs" and x == 0:
                self.tag("abs-at-zero-constant")
            if _isinf(d0) or (name == "abs" and x == 0):
                self.tag("zero-tangent-at-singularity")
            return Series([value] + _zero(K)[1:], [e0] + _zero(K)[1:])
        singular = {"log": [0], "sqrt": [0], "abs": [0], "log1p": [-1], "arcsin": [-1, 1], "arccos": [-1, 1]}
        for point in singular.get(name, []):
            self.near(a, point)
        if name == "tan":
            self.near(a, mpmath.pi / 2 + mpmath.pi * mpmath.nint((x - mpmath.pi / 2) / mpmath.pi))
        if name == "sin" or name == "cos" or name == "sinh" or name == "cosh":
            hyper = name in ("sinh", "cosh")
            s, co = _sincos(a.c, hyper)
            if name in ("sin", "sinh"):
                return _chain(a, s, co)
            return _chain(a, co, [-v for v in s] if not hyper else s)
        if name == "exp":
            c = _exp_series(a.c)
            return _chain(a, c, c)
        if name == "expm1":
            c = _exp_series(a.c)
            c0 = mpmath.expm1(x)
            if x < -1:  # ans + 1 in float64 loses more than a few ulps below here
                self.tag("expm1-left-tail")
            return _chain(a, [c0] + c[1:], c)
        if name in ("log", "log1p"):
            b = a.c if name == "log" else [a.c[0] + 1] + a.c[1:]
            if b[0] <= 0:
                raise Undefined(f"{name} outside its domain")
            c = _log_series(b)
            if name == "log1p":
                c[0] = mpmath.log1p(x)
            return _chain(a, c, recip(b))
        if name == "sqrt":
            if x < 0:
                raise Undefined("sqrt of a negative number")
            if x == 0:
                self.tag("boundary")
                return self._infinite(a, "sqrt at 0", positive=True, value=mpmath.mpf(0))
            c = _sqrt_series(a.c)
            return _chain(a, c, [v / 2 for v in recip(c)])
        if name == "tan":
            if mpmath.cos(x) == 0:
                raise Undefined("tan at a pole")
            c, d = _riccati(a.c, mpmath.tan(x), lambda c, k: (1 if k == 0 else 0) + _conv(c, c, k))
            return _chain(a, c, d)
        if name == "tanh":
            if abs(x) > 1:  # 1 - tanh^2 in float64 loses more than a few ulps beyond here
                self.tag("tanh-tail")
            # tanh = sinh/cosh, tanh' = 1/cosh^2: products only (1 - tanh^2 cancels to 0 at 710 even here)
            _, ch = _sincos(a.c, True)
            inv = recip(ch)
            d = _cauchy(inv, inv)
            return _chain(a, _from_derivative(a, mpmath.tanh(x), d), d)
        if name == "sigmoid":
            if x > 1.5:  # s(1 - s) in float64 loses more than a few ulps beyond here
                self.tag("sigmoid-tail")
            # s = 1/(1 + e), s' = e s^2 with e = exp(-a): products only (s(1 - s) cancels at 710 even here)
            if x < -354:  # e^(2x) subnormal: sympy's exp(-x)/(1 + exp(-x))**2 loses digits, then all of them
                self.tag("symbolic-sigmoid-tail")
            e = _exp_series([-v for v in a.c])
            sig = recip([1 + e[0]] + e[1:])
            d = _cauchy(e, _cauchy(sig, sig))
            return _chain(a, _from_derivative(a, sig[0], d), d)
        if name == "abs":
            sign = 1 if x > 0 else -1
            if x == 0:
                self.tag("kink")
                m = next((k for k in range(1, K + 1) if a.c[k] != 0), None) if self.side else None
                if m is None:
                    raise Singular("abs at 0 (a kink)")
                sign = 1 if a.c[m] * self.side**m > 0 else -1  # the argument's sign on that side
            c = [sign * v for v in a.c]
            return _chain(a, c, [mpmath.mpf(sign)] + _zero(K)[1:], libm=0)
        if name == "arcsinh":  # d/dx = 1 / sqrt(1 + x^2)
            sq = _cauchy(a.c, a.c)
            d = recip(_sqrt_series([1 + sq[0]] + sq[1:]))
            return _chain(a, _from_derivative(a, mpmath.asinh(x), d), d)
        if name in ("arcsin", "arccos", "arctan"):
            sq = _cauchy(a.c, a.c)
            if name == "arctan":
                d = recip([1 + sq[0]] + sq[1:])
                c = _from_derivative(a, mpmath.atan(x), d)
                return _chain(a, c, d)
            if abs(x) > 1:
                raise Undefined(f"{name} outside [-1, 1]")
            if abs(x) == 1:
                self.tag("boundary")
                value = mpmath.asin(x) if name == "arcsin" else mpmath.acos(x)
                return self._infinite(a, f"{name} at ±1", positive=name == "arcsin", value=value)
            one_minus = [1 - sq[0]] + [-v for v in sq[1:]]
            d = recip(_sqrt_series(one_minus))
            if name == "arccos":
                d = [-v for v in d]
            c = _from_derivative(a, mpmath.asin(x) if name == "arcsin" else mpmath.acos(x), d)
            return _chain(a, c, d)
        raise ValueError(f"unknown function {name}")

    def _unary_value(self, name: str, x: Any) -> Any:
        table = {
            "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "exp": mpmath.exp, "expm1": mpmath.expm1,
            "tanh": mpmath.tanh, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "arctan": mpmath.atan,
            "arcsinh": mpmath.asinh, "abs": abs, "sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)),
        }
        if name in table:
            return table[name](x)
        if name in ("log", "log1p"):
            y = x if name == "log" else x + 1
            if y <= 0:
                raise Undefined(f"{name} outside its domain")
            return mpmath.log(x) if name == "log" else mpmath.log1p(x)
        if name == "sqrt":
            if x < 0:
                raise Undefined("sqrt of a negative number")
            return mpmath.sqrt(x)
        if name in ("arcsin", "arccos"):
            if abs(x) > 1:
                raise Undefined(f"{name} outside [-1, 1]")
            return mpmath.asin(x) if name == "arcsin" else mpmath.acos(x)
        raise ValueError(name)

    def _unary_value_derivative(self, name: str, x: Any) -> Any:
        """|f'(x)| only for the error bound of a constant argument; inf at a singular point."""
        if name == "sqrt":
            return mpmath.inf if x == 0 else 1 / (2 * mpmath.sqrt(x))
        if name in ("arcsin", "arccos"):
            return mpmath.inf if abs(x) == 1 else 1 / mpmath.sqrt(1 - x * x)
        if name == "abs":
            return mpmath.mpf(1)
        with mpmath.workprec(64):
            return mpmath.diff(lambda t: self._unary_value(name, t), x) if name not in (
                "log", "log1p") else 1 / (x if name == "log" else 1 + x)


# -- the derivatives the tests need ----------------------------------------------------------------------


@dataclass
class Reference:
    """f at the point: value, gradient, optional Hessian or k-th derivatives, with error bounds (units EPS)."""

    value: Any
    value_err: Any
    grad: list[Any]
    grad_err: list[Any]
    hess: list[list[Any]] | None = None
    hess_err: list[list[Any]] | None = None
    orders: list[Any] | None = None  # k-th derivatives, k = 0..K, one variable
    orders_err: list[Any] | None = None
    tags: set[str] = field(default_factory=set)
    distance: list[Any] = field(default_factory=list)  # per variable: how far to the nearest singular point


def reference(text: str, variables: Sequence[str], point: Sequence[float], hessian: bool = False,
              order: int = 1, prec: int = PREC, side: int = 0) -> Reference:
    """The value, gradient (and Hessian when asked; the k-th derivatives up to ``order`` for one variable).

    Proven by convergence, not assumed: evaluated at ``prec`` and twice that, raised until two evaluations
    agree to 2^-(prec/2) of the error scale and share their exact zeros (sigmoid''(-1e-300) = 1.25e-301
    is 0 at 320 bits: 1 - 2s cancels 1000 bits). ``side``: one-sided, see the module's docstring."""
    # tiny or huge coordinates and constants cancel against O(1) terms (1 - 2 sigmoid(1e-300)): as many
    # more bits as their exponents span
    spread = [abs(math.frexp(v)[1]) for v in list(point) + [c for c in Evaluator(text, variables)._consts.values()
                                                              if c is not None] if v != 0]
    prec += 2 * max(spread, default=0)
    lo = _reference(text, variables, point, hessian, order, prec, side)
    for _ in range(5):
        hi = _reference(text, variables, point, hessian, order, 2 * prec, side)
        if _agree(lo, hi, prec):
            return hi
        lo, prec = hi, 2 * prec
    raise Singular(f"the reference does not converge in precision up to {prec} bits")


def _numbers(r: Reference) -> list[tuple[Any, Any]]:
    pairs = [(r.value, r.value_err)] + list(zip(r.grad, r.grad_err))
    if r.hess is not None:
        pairs += [(v, e) for row, erow in zip(r.hess, r.hess_err) for v, e in zip(row, erow)]
    if r.orders is not None:
        pairs += list(zip(r.orders, r.orders_err))
    return pairs


def _agree(lo: Reference, hi: Reference, prec: int) -> bool:
    with mpmath.workprec(2 * prec):
        for (a, _), (b, e) in zip(_numbers(lo), _numbers(hi)):
            if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
                if not (a == b or (mpmath.isnan(a) and mpmath.isnan(b))):
                    return False
                continue
            if (a == 0) != (b == 0):
                return False
            if abs(a - b) > mpmath.mpf(2) ** (-prec // 2) * (abs(b) + (e if mpmath.isfinite(e) else 0)):
                return False
    return True


def _reference(text: str, variables: Sequence[str], point: Sequence[float], hessian: bool,
               order: int, prec: int, side: int = 0) -> Reference:
    ev = Evaluator(text, variables)
    n = len(variables)
    tags: set[str] = set()
    grads, errs, distance = [], [], []
    value = value_err = None
    for i in range(n):
        r = ev.run(point, [1.0 if j == i else 0.0 for j in range(n)], 1, prec, side)
        tags |= r.tags
        value, value_err = r.coeffs[0], r.errors[0]
        grads.append(r.coeffs[1])
        distance.append(r.distance)
        errs.append(r.errors[1])
    if n == 0:
        r = ev.run(point, [], 0, prec)
        value, value_err = r.coeffs[0], r.errors[0]
    ref = Reference(value, value_err, grads, errs, tags=tags, distance=distance)
    if hessian:
        with mpmath.workprec(prec):
            diag, diag_err = [], []
            for i in range(n):
                r = ev.run(point, [1.0 if j == i else 0.0 for j in range(n)], 2, prec, side)
                diag.append(2 * r.coeffs[2])
                diag_err.append(2 * r.errors[2])
                tags |= r.tags
            H = [[None] * n for _ in range(n)]
            He = [[None] * n for _ in range(n)]
            for i in range(n):
                H[i][i], He[i][i] = diag[i], diag_err[i]
                for j in range(i):
                    r = ev.run(point, [1.0 if k in (i, j) else 0.0 for k in range(n)], 2, prec)
                    tags |= r.tags
                    H[i][j] = H[j][i] = r.coeffs[2] - (diag[i] + diag[j]) / 2
                    He[i][j] = He[j][i] = r.errors[2] + (diag_err[i] + diag_err[j]) / 2
        ref.hess, ref.hess_err = H, He
    if order > 1:
        if n != 1:
            raise ValueError("orders above 1 need one variable")
        r = ev.run(point, [1.0], order, prec, side)
        tags |= r.tags
        with mpmath.workprec(prec):
            ref.orders = [r.coeffs[k] * mpmath.factorial(k) for k in range(order + 1)]
            ref.orders_err = [r.errors[k] * mpmath.factorial(k) for k in range(order + 1)]
    ref.tags = tags
    return ref


def taylor(text: str, variables: Sequence[str], point: Sequence[float], i: int, K: int) -> list[Any]:
    """The k-th partial derivatives along x_i, k = 0..K (for the finite-difference truncation bound)."""
    n = len(variables)
    r = Evaluator(text, variables).run(point, [1.0 if j == i else 0.0 for j in range(n)], K)
    with mpmath.workprec(PREC):
        return [r.coeffs[k] * mpmath.factorial(k) for k in range(K + 1)]
