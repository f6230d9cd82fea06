"""SymEngine as a symbolic peer: the same traced expression, differentiated by SymEngine instead of sympy.

The function is traced exactly as the symbolic backend traces it (:func:`diffcompare.backends.symbolic.trace`:
the user's plain numpy code runs on sympy symbols), and the sympy expression *object* is rebuilt node by
node in SymEngine (:func:`to_symengine`; no text is ever parsed). SymEngine differentiates it and
``Lambdify`` evaluates the derivative in float64, as a program would.

:attr:`Result.expression_size` is ``sympy.count_ops`` of SymEngine's derivative converted back to sympy (the
symbolic backend's measure, so the two sizes compare); ``options["diff_seconds"]`` is SymEngine's
differentiation alone and ``options["trace_seconds"]`` the sympy trace both backends share.

SymEngine's symbols carry no assumptions (sympy's are real): it leaves ``d/dx |x|``, ``sign``, ``max`` and
``min`` unevaluated, and such a derivative is reported as :class:`Unsupported` with that reason.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from diffcompare.backends.base import Function, Result, as_args, evaluate
from diffcompare.backends.peers.support import installed
from diffcompare.errors import DiffcompareError, Unsupported

__all__ = ["SymEngine", "to_symengine"]

# sympy function class name -> symengine function name
_FUNCTIONS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "asin": "asin", "acos": "acos", "atan": "atan", "asinh": "asinh", "acosh": "acosh",
    "atanh": "atanh", "Abs": "Abs", "sign": "sign", "Max": "Max", "Min": "Min", "atan2": "atan2",
}


def to_symengine(expr: Any, symbols: dict[Any, Any] | None = None) -> Any:
    """The sympy expression ``expr`` rebuilt in SymEngine, node by node (iterative: deep trees are fine).

    ``symbols`` maps sympy symbols to SymEngine ones (filled in as they are met). A node with no SymEngine
    counterpart here is :class:`Unsupported`.
    """
    import symengine as se
    import sympy as sp

    from diffcompare.backends.exact import post_order

    symbols = {} if symbols is None else symbols
    memo: dict[Any, Any] = {}
    for node in post_order(expr, lambda e: not e.args):
        if isinstance(node, sp.Symbol):
            out = symbols.setdefault(node, se.Symbol(node.name))
        elif isinstance(node, sp.Integer):
            out = se.Integer(int(node))
        elif isinstance(node, sp.Rational):
            out = se.Rational(int(node.p), int(node.q))
        elif node is sp.pi:
            out = se.pi
        elif node is sp.E:
            out = se.E
        elif isinstance(node, sp.Add):
            out = se.Add(*(memo[a] for a in node.args))
        elif isinstance(node, sp.Mul):
            out = se.Mul(*(memo[a] for a in node.args))
        elif isinstance(node, sp.Pow):
            out = se.Pow(memo[node.args[0]], memo[node.args[1]])
        elif type(node).__name__ in _FUNCTIONS and isinstance(node, sp.Function):
            out = getattr(se, _FUNCTIONS[type(node).__name__])(*(memo[a] for a in node.args))
        else:
            raise Unsupported(f"the symengine backend has no counterpart for sympy's {type(node).__name__}")
        memo[node] = out
    return memo[expr]


def _unevaluated(entries: list[Any]) -> str | None:
    """The first derivative SymEngine left unevaluated (``Derivative(abs(x), x)``), as text, or None."""
    import symengine as se

    for e in entries:
        left = e.atoms(se.Derivative)
        if left:
            return str(min(left, key=str))
    return None


class SymEngine:
    """SymEngine differentiates the traced function; shapes as :class:`~diffcompare.backends.symbolic.Symbolic`."""

    name = "symengine"
    distribution = "symengine"

    @classmethod
    def version(cls) -> str | None:
        """The installed SymEngine's version, or None when it cannot be imported."""
        return installed("symengine")

    def __init__(self) -> None:
        import symengine

        self._se = symengine
        self.library = f"symengine {symengine.__version__}"

    def _run(self, f: Function, x: Any, kind: str, order: int = 1) -> Result:
        import sympy as sp

        from diffcompare.backends.symbolic import trace

        se = self._se
        args = as_args(x)
        value = evaluate(f, args)
        t0 = time.perf_counter()
        tr = trace(f, args if len(args) > 1 else args[0])
        t_trace = time.perf_counter() - t0
        mapping: dict[Any, Any] = {}
        outs = [to_symengine(o, mapping) for o in tr.outputs()]
        syms = [mapping.setdefault(s, se.Symbol(s.name)) for s in tr.symbols]
        out_shape = np.shape(tr.output)
        n = len(syms)
        t1 = time.perf_counter()
        if kind == "derivative":
            if n != 1 or out_shape != ():
                raise DiffcompareError("derivative needs a function of one scalar with a scalar output; "
                                       "use gradient or jacobian")
            entries = [se.diff(outs[0], syms[0], order)] if order > 1 else [outs[0].diff(syms[0])]
        elif kind in ("gradient", "hessian") and out_shape != ():
            raise DiffcompareError(f"{kind} needs a scalar output; use jacobian")
        elif kind == "gradient":
            entries = [outs[0].diff(s) for s in syms]
        elif kind == "jacobian":
            entries = [o.diff(s) for o in outs for s in syms]
        else:
            firsts = [outs[0].diff(s) for s in syms]
            entries = [d.diff(s) for d in firsts for s in syms]
        t_diff = time.perf_counter() - t1
        left = _unevaluated(entries)
        if left is not None:
            raise Unsupported(f"symengine leaves {left} unevaluated (its symbols are not real)")
        numbers = np.asarray(se.Lambdify(syms, entries, backend="lambda")(np.array(tr.values, dtype=float)),
                             dtype=float).reshape(-1) if entries else np.zeros(0)
        seconds = time.perf_counter() - t0
        size = sum(int(sp.count_ops(e._sympy_())) for e in entries)
        derivative = _layout(numbers, kind, args, out_shape, n)
        opts: dict[str, Any] = {"trace_seconds": t_trace, "diff_seconds": t_diff}
        if kind == "derivative":
            opts["order"] = order
        value_out = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)
        return Result(self.name, value_out, derivative, seconds, opts, expression_size=size,
                      expression=entries[0] if kind == "derivative" else entries, library=self.library)

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
            raise DiffcompareError(f"the derivative order must be a positive integer, not {order!r}")
        return self._run(f, x, "derivative", int(order))

    def gradient(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "gradient")

    def jacobian(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "jacobian")

    def hessian(self, f: Function, x: Any) -> Result:
        return self._run(f, x, "hessian")


def _layout(numbers: np.ndarray, kind: str, args: tuple[Any, ...], out_shape: tuple[int, ...], n: int) -> Any:
    """The symbolic backend's shapes: one argument -> its shape (gradient) or out.shape + x.shape; else flat."""
    if kind == "derivative":
        return float(numbers[0])
    if kind == "gradient":
        if len(args) == 1:
            return float(numbers[0]) if isinstance(args[0], float) else numbers.reshape(np.shape(args[0]))
        return numbers
    if kind == "jacobian":
        m = int(np.prod(out_shape)) if out_shape else 1
        mat = numbers.reshape(m, n)
        shape = tuple(out_shape) + np.shape(args[0]) if len(args) == 1 else (m, n)
    else:
        mat = numbers.reshape(n, n)
        shape = np.shape(args[0]) * 2 if len(args) == 1 else (n, n)
    out = mat.reshape(shape)
    return out.item() if out.ndim == 0 else out
