"""The in-house AD engine behind the Differentiator interface: reverse and forward mode."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from diffcompare.ad import derivative, hessian, jacfwd, jacrev, raw, tape_size, value_and_grad
from diffcompare.backends.base import Function, Result, as_args, evaluate, flatten_args, unflatten_args
from diffcompare.errors import DiffcompareError


def _flat_function(f: Function, args: tuple[Any, ...]) -> tuple[Function, Any]:
    """For several arguments: ``g(flat)`` = ``f(*args)`` with all inputs in one vector."""
    if len(args) == 1:
        return f, args[0]
    return (lambda flat: f(*unflatten_args(flat, args))), flatten_args(args)


def _check_order(order: int) -> None:
    if not isinstance(order, int) or order < 0:
        raise DiffcompareError(f"order must be a whole number >= 0, not {order!r}")


def _scalar_point(args: tuple[Any, ...]) -> float:
    if len(args) != 1 or not isinstance(args[0], float):
        raise DiffcompareError("derivative() is for functions of one scalar; use gradient() or jacobian()")
    return args[0]


def _scalar_derivative_inputs(f: Function, x: Any, order: int) -> tuple[float, Any]:
    """(the scalar point, f's value there) after the checks every derivative() makes."""
    args = as_args(x)
    x0 = _scalar_point(args)
    _check_order(order)
    return x0, evaluate(f, args)


class _Passes:
    """``f`` that counts its calls: each pass of forward mode (or recording of reverse mode) calls f once, so the
    count is what ran, not what the textbook says (our jacfwd carries all n directions in one batched pass)."""

    def __init__(self, f: Function) -> None:
        self.f, self.calls = f, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.f(*args)


def _as_float_array(x: Any) -> Any:
    x = raw(x)
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


class ReverseAD:
    """Reverse mode: one recorded forward pass, one backward pass per output."""

    name = "reverse"

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        x0, value = _scalar_derivative_inputs(f, x, order)
        t0 = time.perf_counter()
        d = derivative(f, order, "reverse")(x0) if order >= 1 else value
        seconds = time.perf_counter() - t0
        recorded = derivative(f, order - 1, "reverse") if order >= 1 else f  # the function whose tape is swept
        return Result(self.name, _as_float_array(value), _as_float_array(d), seconds, {"order": order},
                      tape_ops=tape_size(recorded, x0))

    def gradient(self, f: Function, x: Any) -> Result:
        args = as_args(x)
        if np.shape(raw(evaluate(f, args))) != ():
            raise DiffcompareError("gradient() needs a scalar-valued function; use jacobian()")
        t0 = time.perf_counter()
        value, grads = value_and_grad(f, tuple(range(len(args))))(*args)
        seconds = time.perf_counter() - t0
        d = grads[0] if len(args) == 1 else flatten_args(list(grads))
        return Result(self.name, _as_float_array(value), _as_float_array(d), seconds, tape_ops=tape_size(f, *args))

    def jacobian(self, f: Function, x: Any) -> Result:
        args = as_args(x)
        value = evaluate(f, args)
        g, x0 = _flat_function(f, args)
        t0 = time.perf_counter()
        jac = jacrev(g)(x0)
        return Result(self.name, _as_float_array(value), _as_float_array(jac), time.perf_counter() - t0,
                      tape_ops=tape_size(g, x0))

    def hessian(self, f: Function, x: Any) -> Result:
        args = as_args(x)
        value = evaluate(f, args)
        g, x0 = _flat_function(f, args)
        counted = _Passes(g)
        t0 = time.perf_counter()
        h = hessian(counted)(x0)
        seconds = time.perf_counter() - t0
        # forward-over-reverse: one JVP of the gradient per input (evaluations), carried by batched forward
        # passes (counted: one up to n = 1024) through one reverse sweep of f's tape each
        return Result(self.name, _as_float_array(value), _as_float_array(h), seconds,
                      {"method": "forward-over-reverse"}, evaluations=int(np.size(x0)), tape_ops=tape_size(f, *args),
                      passes=counted.calls)


class ForwardAD:
    """Forward mode: dual numbers, one direction per input (``evaluations`` counts directions, JVPs; ``passes``
    the batched passes through f that carried them, counted: one up to n = 1024)."""

    name = "forward"

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        x0, value = _scalar_derivative_inputs(f, x, order)
        counted = _Passes(f)
        t0 = time.perf_counter()
        d = derivative(counted, order, "forward")(x0)  # nested duals: one pass carries every order
        return Result(self.name, _as_float_array(value), _as_float_array(d), time.perf_counter() - t0,
                      {"order": order}, evaluations=1, passes=counted.calls)

    def _jacfwd(self, f: Function, x: Any) -> tuple[Any, Any, int, int, float]:
        """(value, Jacobian, directions (JVPs), passes through f that carried them, seconds)."""
        args = as_args(x)
        value = evaluate(f, args)
        g, x0 = _flat_function(f, args)
        counted = _Passes(g)
        t0 = time.perf_counter()
        jac = jacfwd(counted)(x0)
        return value, jac, int(np.size(x0)), counted.calls, time.perf_counter() - t0

    def gradient(self, f: Function, x: Any) -> Result:
        value, jac, directions, passes, seconds = self._jacfwd(f, x)
        if np.ndim(value) != 0:
            raise DiffcompareError("gradient() needs a scalar-valued function; use jacobian()")
        return Result(self.name, _as_float_array(value), _as_float_array(jac), seconds, evaluations=directions,
                      passes=passes)

    def jacobian(self, f: Function, x: Any) -> Result:
        value, jac, directions, passes, seconds = self._jacfwd(f, x)
        return Result(self.name, _as_float_array(value), _as_float_array(jac), seconds, evaluations=directions,
                      passes=passes)

    def hessian(self, f: Function, x: Any) -> Result:
        args = as_args(x)
        value = evaluate(f, args)
        g, x0 = _flat_function(f, args)
        counted = _Passes(g)
        t0 = time.perf_counter()
        h = jacfwd(jacfwd(counted))(x0)  # n x n directions of nested duals, batched at both levels
        return Result(self.name, _as_float_array(value), _as_float_array(h), time.perf_counter() - t0,
                      {"method": "forward-over-forward"}, evaluations=int(np.size(x0)) ** 2, passes=counted.calls)
