"""Symbolic differentiation: run the user's plain-numpy function on sympy symbols, then ``sympy.diff``.

The function is *traced*: each input becomes a :class:`SymValue` wrapping a sympy symbol (an array
input becomes a numpy object array of them), and Python operators and numpy ufuncs build the
expression as the function runs. What cannot be traced is reported as :class:`Unsupported`: an
``if`` on a value that depends on the input (the expression would have to pick a branch), a
``float()`` of a symbol, a numpy function sympy has no counterpart for.

The derivative expressions are returned in :attr:`Result.expression` and their size
(``sympy.count_ops``) in :attr:`Result.expression_size`: watching that number grow is the lesson on
expression swell. Their values are computed as a program would compute them, in 53-bit arithmetic
(:mod:`diffcompare.backends.float53`). :func:`exact_reference` evaluates them at the *exact* binary value of
the float point, every literal exact too, proved to 50 significant digits: the ground truth for every error
measurement.

sympy is imported lazily (inside functions) so that importing this module stays cheap.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.backends import float53
from diffcompare.backends.base import Function, Result, as_args, evaluate, shape_like_input
from diffcompare.errors import DiffcompareError, DomainError, Unsupported

__all__ = ["REFERENCE_TIMEOUT", "Reference", "SymBool", "SymValue", "Symbolic", "budgeted_reference",
           "exact_reference", "reference", "to_expr", "trace", "warm_up"]

_BRANCH = "the symbolic backend cannot decide `if`/`while` on a value that depends on the input: "


def _sympy():
    import sympy

    return sympy


def to_expr(v: Any) -> Any:
    """A sympy expression for a SymValue or a plain number.

    A float enters as the exact rational value of its binary expansion (0.5 -> 1/2, 1.3 ->
    5854679515581645/4503599627370496): a sympy Float would let sympy fold ``exp(x + 0.5)`` into
    ``Float(exp(0.5))*exp(x)`` at 53 bits, and the reference would inherit that rounding.
    """
    sp = _sympy()
    if isinstance(v, SymValue):
        return v.expr
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, (bool, np.bool_)):
        return sp.Integer(int(v))
    if isinstance(v, (int, np.integer)):
        return sp.Integer(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f):
            raise DomainError(f"the symbolic backend cannot use the non-finite constant {f}")
        return sp.Rational(f)  # exact: every finite double is a binary fraction
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return to_expr(v.item())
    if isinstance(v, SymBool):
        raise Unsupported(_BRANCH + f"arithmetic on the comparison {v.rel}")
    raise TypeError(f"cannot trace a value of type {type(v).__name__}")


def _unary(name: str, fn):
    def method(self):
        return SymValue(fn(self.expr))

    method.__name__ = name
    return method


def _ufunc_table() -> dict[str, Any]:
    """numpy ufunc name -> sympy: the AD engine's primitives from its rules table (one statement each), and the
    ufuncs the symbolic backend knows beyond them."""
    from diffcompare.ad.rules import sympy_table

    sp = _sympy()
    return {
        **sympy_table(sp),
        "positive": lambda a: a,
        "fmax": lambda a, b: sp.Max(a, b),
        "fmin": lambda a, b: sp.Min(a, b),
        "arctan2": lambda a, b: sp.atan2(a, b),
        "hypot": lambda a, b: sp.sqrt(a**2 + b**2),
        "exp2": lambda a: 2**a,
        "log2": lambda a: sp.log(a) / sp.log(2),
        "log10": lambda a: sp.log(a) / sp.log(10),
        "arccosh": sp.acosh,
        "arctanh": sp.atanh,
        "cbrt": lambda a: sp.sign(a) * sp.Abs(a) ** sp.Rational(1, 3),  # numpy's real root (sympy's is complex)
        "fabs": sp.Abs,
        "sign": sp.sign,
        "conjugate": lambda a: a,  # the symbols are real
    }


_COMPARISONS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=", "equal": "==",
                "not_equal": "!="}


def _compare(a: Any, op: str, b: Any) -> SymBool:
    sp = _sympy()
    x, y = to_expr(a), to_expr(b)
    rel = {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le, "==": sp.Eq, "!=": sp.Ne}[op](x, y)
    return SymBool(rel, f"{x} {op} {y}")


class SymBool:
    """The result of comparing traced values: true or false only when sympy can decide it."""

    __slots__ = ("rel", "text")

    def __init__(self, rel: Any, text: str):
        self.rel, self.text = rel, text

    def __bool__(self) -> bool:
        sp = _sympy()
        if self.rel is sp.true or self.rel is True:
            return True
        if self.rel is sp.false or self.rel is False:
            return False
        raise Unsupported(_BRANCH + f"`{self.text}`; use the finite or AD backends, or np.where")

    def __repr__(self) -> str:
        return f"SymBool({self.text})"


class SymValue:
    """A traced value: a sympy expression that behaves like a float under operators and numpy ufuncs."""

    __slots__ = ("expr",)
    __array_priority__ = 100

    def __init__(self, expr: Any):
        self.expr = expr

    # -- arithmetic ------------------------------------------------------------------------------

    def _binary(self, other: Any, fn, reflected: bool = False) -> Any:
        if isinstance(other, np.ndarray) and other.ndim > 0:
            return NotImplemented  # numpy broadcasts and calls __array_ufunc__
        try:
            o = to_expr(other)
        except TypeError:
            return NotImplemented
        return SymValue(fn(o, self.expr) if reflected else fn(self.expr, o))

    def __add__(self, o):
        return self._binary(o, lambda a, b: a + b)

    def __radd__(self, o):
        return self._binary(o, lambda a, b: a + b, True)

    def __sub__(self, o):
        return self._binary(o, lambda a, b: a - b)

    def __rsub__(self, o):
        return self._binary(o, lambda a, b: a - b, True)

    def __mul__(self, o):
        return self._binary(o, lambda a, b: a * b)

    def __rmul__(self, o):
        return self._binary(o, lambda a, b: a * b, True)

    def __truediv__(self, o):
        return self._binary(o, lambda a, b: a / b)

    def __rtruediv__(self, o):
        return self._binary(o, lambda a, b: a / b, True)

    def __pow__(self, o):
        return self._binary(o, lambda a, b: a**b)

    def __rpow__(self, o):
        return self._binary(o, lambda a, b: a**b, True)

    def __neg__(self):
        return SymValue(-self.expr)

    def __pos__(self):
        return self

    def __abs__(self):
        return SymValue(_sympy().Abs(self.expr))

    # -- comparisons and conversions ---------------------------------------------------------------

    def __gt__(self, o):
        return _compare(self, ">", o)

    def __ge__(self, o):
        return _compare(self, ">=", o)

    def __lt__(self, o):
        return _compare(self, "<", o)

    def __le__(self, o):
        return _compare(self, "<=", o)

    def __eq__(self, o):  # type: ignore[override]
        return _compare(self, "==", o)

    def __ne__(self, o):  # type: ignore[override]
        return _compare(self, "!=", o)

    def __hash__(self) -> int:
        return hash(self.expr)

    def __bool__(self) -> bool:
        if self.expr.is_number:
            return bool(self.expr != 0)
        raise Unsupported(_BRANCH + f"the truth value of `{self.expr}`")

    def __float__(self) -> float:
        if self.expr.is_number:
            return float(self.expr)
        raise Unsupported(f"the symbolic backend cannot turn `{self.expr}` into a float: it depends on the input")

    def __int__(self) -> int:
        if self.expr.is_number:
            return int(self.expr)
        raise Unsupported(f"the symbolic backend cannot turn `{self.expr}` into an int: it depends on the input")

    def __repr__(self) -> str:
        return f"SymValue({self.expr})"

    # -- numpy -------------------------------------------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise Unsupported(f"the symbolic backend cannot trace numpy's {ufunc.__name__}.{method} "
                              "or ufuncs with out=")
        name = ufunc.__name__
        if any(isinstance(i, np.ndarray) and i.ndim > 0 for i in inputs):
            return np.frompyfunc(lambda *xs: _apply_ufunc(name, xs), ufunc.nin, 1)(*inputs)
        return _apply_ufunc(name, inputs)


def _apply_ufunc(name: str, inputs: Sequence[Any]) -> Any:
    if name in _COMPARISONS:
        return _compare(inputs[0], _COMPARISONS[name], inputs[1])
    table = _ufunc_table()
    if name not in table:
        raise Unsupported(f"the symbolic backend has no sympy counterpart for numpy's {name}")
    return SymValue(table[name](*(to_expr(i) for i in inputs)))


def _install_methods() -> None:
    # numpy's object-array loops call a method named like the ufunc on each element (np.sin -> .sin()).
    unary = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "sinh", "cosh",
             "tanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "sqrt", "cbrt",
             "fabs", "sign", "square", "reciprocal", "conjugate"]
    for name in unary:
        def method(self, _name=name):
            return _apply_ufunc(_name, (self,))

        method.__name__ = name
        setattr(SymValue, name, method)
    for name in ["arctan2", "hypot", "maximum", "minimum"]:
        def binary(self, other, _name=name):
            return _apply_ufunc(_name, (self, other))

        binary.__name__ = name
        setattr(SymValue, name, binary)


_install_methods()


# -- tracing ---------------------------------------------------------------------------------------


def _names(f: Function, count: int) -> list[str]:
    """Parameter names from the signature when they fit, else x (one argument) or x1..xn."""
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= count > 0:
        return [p.name for p in params[:count]]
    return ["x"] if count == 1 else [f"x{i + 1}" for i in range(count)]


class Trace:
    """A traced function: the output expression(s), the symbols (flat, in argument order) and the point."""

    def __init__(self, output: Any, symbols: list[Any], values: list[float], args: tuple[Any, ...]):
        self.output, self.symbols, self.values, self.args = output, symbols, values, args

    def point(self) -> dict[Any, float]:
        """Each symbol's float value (its exact binary value is what the reference substitutes)."""
        return dict(zip(self.symbols, self.values))

    def outputs(self) -> list[Any]:
        """The output's expressions, flattened."""
        return [to_expr(o) for o in np.ravel(np.asarray(self.output, dtype=object))]


def trace(f: Function, x: Any) -> Trace:
    """Run ``f`` on symbols standing for the point ``x`` and record the output expression(s)."""
    sp = _sympy()
    args = as_args(x)
    names = _names(f, len(args))
    symbols: list[Any] = []
    values: list[float] = []
    sym_args: list[Any] = []
    for name, a in zip(names, args):
        if isinstance(a, float):
            s = sp.Symbol(name, real=True)
            symbols.append(s)
            values.append(a)
            sym_args.append(SymValue(s))
        else:
            flat = np.ravel(a)
            syms = [sp.Symbol(f"{name}_{i}", real=True) for i in range(flat.size)]
            symbols += syms
            values += [float(v) for v in flat]
            arr = np.empty(flat.size, dtype=object)
            for i, s in enumerate(syms):
                arr[i] = SymValue(s)
            sym_args.append(arr.reshape(a.shape))
    try:
        out = f(*sym_args)
    except Unsupported:
        raise
    except TypeError as exc:
        raise Unsupported(f"the symbolic backend cannot trace this function: {exc}") from None
    if isinstance(out, SymBool) or (isinstance(out, np.ndarray) and out.dtype == bool):
        raise Unsupported("the function returns a comparison, not a number")
    try:
        if isinstance(out, np.ndarray):
            out = np.vectorize(to_expr, otypes=[object])(out) if out.size else out
        else:
            out = to_expr(out)
    except TypeError as exc:
        raise Unsupported(f"the symbolic backend cannot read the function's output: {exc}") from None
    return Trace(out, symbols, values, args)


def _shape_square(mat: np.ndarray, args: Sequence[Any], out_shape: tuple[int, ...]) -> Any:
    """Jacobian/Hessian layout: one argument -> out_shape + x.shape, several -> (m, n) flat."""
    if len(args) == 1:
        shaped = mat.reshape(tuple(out_shape) + np.shape(args[0]))
        return shaped.item() if shaped.ndim == 0 else shaped
    return mat


def _derivatives(tr: Trace, kind: str, order: int) -> tuple[Any, list[Any], tuple[int, ...]]:
    """(printable derivative expression, flat list of entries, layout shape of the outputs)."""
    sp = _sympy()
    outs = tr.outputs()
    out_shape = np.shape(tr.output)
    n = len(tr.symbols)
    if kind == "derivative":
        if n != 1 or out_shape != ():
            raise DiffcompareError("derivative needs a function of one scalar with a scalar output; "
                                   "use gradient or jacobian")
        d = sp.diff(outs[0], tr.symbols[0], order)
        return d, [d], out_shape
    if kind in ("gradient", "hessian") and out_shape != ():
        raise DiffcompareError(f"{kind} needs a scalar output; use jacobian")
    if kind == "gradient":
        m = sp.Matrix([sp.diff(outs[0], s) for s in tr.symbols])
        return m, list(m), out_shape
    if kind == "jacobian":
        m = sp.Matrix(outs).jacobian(tr.symbols) if n else sp.zeros(len(outs), 0)
        return m, list(m), out_shape
    if kind == "hessian":
        m = sp.hessian(outs[0], tr.symbols)
        return m, list(m), out_shape
    raise DiffcompareError(f"unknown kind {kind!r}; allowed: derivative, gradient, jacobian, hessian")


class Symbolic:
    """sympy differentiation of the traced function; ``simplify=True`` simplifies the derivative.

    Shapes follow :mod:`diffcompare.backends.base` and the finite-difference backend: gradient like
    the argument (one argument) or flat ``(n,)``; Jacobian ``out.shape + x.shape`` (one argument) or
    ``(m, n)``; Hessian ``x.shape + x.shape`` or ``(n, n)``. :attr:`Result.expression` holds the
    derivative as a sympy expression (derivative) or Matrix (gradient: a column, Jacobian ``m x n``,
    Hessian ``n x n``, over the flat symbols in argument order).
    """

    name = "symbolic"

    def __init__(self, simplify: bool = False):
        self.simplify = bool(simplify)

    def _run(self, f: Function, x: Any, kind: str, order: int = 1) -> Result:
        args = as_args(x)
        value = evaluate(f, args)  # the domain check, as every backend does before its clock starts
        t0 = time.perf_counter()  # the method: trace, differentiate, evaluate the derivative
        tr = trace(f, args if len(args) > 1 else args[0])
        expr, entries, out_shape = _derivatives(tr, kind, order)
        if self.simplify:
            sp = _sympy()
            expr = sp.simplify(expr)
            entries = list(expr) if hasattr(expr, "shape") else [expr]
        numbers = float53.values(entries, tr.point())
        seconds = time.perf_counter() - t0
        if kind == "derivative":
            derivative: Any = float(numbers[0])
        elif kind == "gradient":
            derivative = shape_like_input(numbers, args)
        elif kind == "jacobian":
            m = int(np.prod(out_shape)) if out_shape else 1
            derivative = _shape_square(numbers.reshape(m, len(tr.symbols)), args, out_shape)
        else:
            n = len(tr.symbols)
            derivative = _shape_square(numbers.reshape(n, n), args, np.shape(args[0]) if len(args) == 1 else ())
        sp = _sympy()
        opts: dict[str, Any] = {"simplify": self.simplify, "symbols": [str(s) for s in tr.symbols]}
        if kind == "derivative":
            opts["order"] = order
        value_out = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)
        return Result(self.name, value_out, derivative, seconds, opts,
                      expression_size=int(sp.count_ops(expr)), expression=expr)

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        if not isinstance(order, (int, np.integer)) or order < 1:
            raise DiffcompareError(f"the derivative order must be a positive integer, not {order!r}")
        return self._run(f, x, "derivative", int(order))

    def gradient(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "gradient")

    def jacobian(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "jacobian")

    def hessian(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "hessian")


#: seconds the reference may take before the commands give up on it (``--timeout`` overrides)
REFERENCE_TIMEOUT = 10.0


@dataclass
class Reference:
    """The exact value and derivative at the point, and how the derivative's entries were decided.

    ``value`` and ``derivative`` are mpmath numbers (``±inf`` infinite, ``nan`` undefined) or numpy
    object arrays of them in the layout of :class:`Symbolic`; ``method`` summarises
    :mod:`diffcompare.backends.exact`'s verdicts (``interval``, ``exact zero (sympy)``, ...).
    """

    value: Any
    derivative: Any
    method: str


def exact_reference(f: Function, x: Any, kind: str = "gradient", order: int = 1, digits: int = 50) -> Reference:
    """The exact derivative at the exact binary value of the float point, proved to ``digits`` digits.

    Nothing passes through float64: literals and the point enter as exact rationals and each entry
    is enclosed by interval arithmetic (or decided exactly by sympy), see :mod:`diffcompare.backends.exact`.
    No time limit: commands use :func:`budgeted_reference`.
    """
    from diffcompare.backends.exact import evaluate_exact, summary

    args = as_args(x)
    evaluate(f, args)
    tr = trace(f, args if len(args) > 1 else args[0])
    _, entries, out_shape = _derivatives(tr, kind, order)
    point = tr.point()
    values = [evaluate_exact(o, point, digits).value for o in tr.outputs()]
    value: Any = values[0] if out_shape == () else np.array(values, dtype=object).reshape(out_shape)
    found = [evaluate_exact(e, point, digits) for e in entries]
    _at_kinks(found, tr, kind, order, digits)
    numbers = np.empty(len(entries), dtype=object)
    for i, entry in enumerate(found):
        numbers[i] = entry.value
    method = summary([e.method for e in found])
    if kind == "derivative":
        return Reference(value, numbers[0], method)
    if kind == "gradient":
        if len(args) == 1:
            return Reference(value, numbers[0] if isinstance(args[0], float) else numbers.reshape(np.shape(args[0])),
                             method)
        return Reference(value, numbers, method)
    n = len(tr.symbols)
    if kind == "jacobian":
        m = int(np.prod(out_shape)) if out_shape else 1
        return Reference(value, _shape_square(numbers.reshape(m, n), args, out_shape), method)
    return Reference(value, _shape_square(numbers.reshape(n, n), args, np.shape(args[0]) if len(args) == 1 else ()),
                     method)


def _at_kinks(found: list[Any], tr: Trace, kind: str, order: int, digits: int) -> None:
    """Replace, in place, the entries sympy got from sign(0) = 0 at an abs/max/min kink by one-sided verdicts.

    sympy's abs'(0) = sign(0) = 0 is a convention, not a derivative: the reference must not claim it.
    """
    import mpmath

    from diffcompare.backends.exact import Entry, has_active_kink, kink_symbols, one_sided

    point = tr.point()
    outs = tr.outputs()
    n = len(tr.symbols)
    if not any(has_active_kink(o, point, digits) for o in outs):
        return
    for index in range(len(found)):
        if kind == "derivative":
            verdict = one_sided(outs[0], tr.symbols[0], order, point, digits)
        elif kind == "gradient":
            verdict = one_sided(outs[0], tr.symbols[index], 1, point, digits)
        elif kind == "jacobian":
            verdict = one_sided(outs[index // n], tr.symbols[index % n], 1, point, digits)
        else:  # hessian: one-sided along the variable on the diagonal; a mixed entry at a kink is not decided
            i, j = divmod(index, n)
            if i == j:
                verdict = one_sided(outs[0], tr.symbols[i], 2, point, digits)
            elif {tr.symbols[i], tr.symbols[j]} & kink_symbols(outs[0], point, digits):
                verdict = Entry(mpmath.mpf("nan"), "undefined (a kink at the point; mixed derivative not decided)")
            else:
                verdict = None
        if verdict is not None:
            found[index] = verdict


def _deep(fn: Any, *args: Any, **kw: Any) -> Any:
    """``fn`` in the budget's worker process, where sympy may recurse deeper on a deeply nested expression."""
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    return fn(*args, **kw)


def run_sympy(fn: Any, *args: Any, timeout: float, **kw: Any) -> Any:
    """``fn(*args, **kw)`` (sympy work) in a worker process stopped after ``timeout`` seconds.

    sympy cannot be interrupted from inside Python and may recurse past Python's limit on a deeply
    nested expression; here both end as one-line errors: ``Timeout("timeout after 10 s")`` or
    :class:`DiffcompareError`.
    """
    from diffcompare.budget import run_with_budget
    from diffcompare.errors import Timeout

    warm_up()
    try:
        return run_with_budget(_deep, fn, *args, timeout=timeout, **kw)
    except Timeout:
        raise Timeout(f"timeout after {timeout:g} s") from None
    except RecursionError:
        raise DiffcompareError("the expression is nested too deeply for sympy") from None
    except RuntimeError as exc:  # the worker died (out of memory, or its stack overflowed)
        raise DiffcompareError(str(exc)) from None


_WARM: list[bool] = []


def warm_up() -> None:
    """Import sympy and the parts diff and count_ops load lazily, once, so forked workers inherit them
    (otherwise every worker pays for them, and the symbolic row's time with it); the budget's fork server
    (:mod:`diffcompare.budget`) calls it when it starts."""
    if not _WARM:
        Symbolic().derivative(lambda t: np.sin(t) * t**2 / (1 + np.exp(t)), 0.5)
        _WARM.append(True)


def budgeted_reference(f: Function, x: Any, kind: str = "gradient", order: int = 1,
                       timeout: float = REFERENCE_TIMEOUT) -> Reference:
    """:func:`exact_reference` under :func:`run_sympy`'s budget; its errors say they are the reference's."""
    from diffcompare.errors import Timeout

    try:
        return run_sympy(exact_reference, f, x, kind=kind, order=order, timeout=timeout)
    except Timeout as exc:
        raise Timeout(f"reference: {exc}") from None
    except (DomainError, Unsupported):
        raise
    except DiffcompareError as exc:
        raise DiffcompareError(f"reference: {exc}") from None


def reference(f: Function, x: Any, kind: str = "gradient", order: int = 1, digits: int = 50) -> tuple[Any, Any]:
    """``(value, derivative)`` of :func:`exact_reference`, in this process and without a time limit."""
    r = exact_reference(f, x, kind, order, digits)
    return r.value, r.derivative
