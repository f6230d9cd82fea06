"""numdifftools as a finite-difference peer: ``Derivative``, ``Gradient``, ``Jacobian`` and ``Hessian``.

numdifftools differentiates with Richardson extrapolation over a sequence of steps and picks the step whose
error estimate is smallest (``full_output=True`` returns that estimate, reported in
:attr:`Result.error_estimate` as its largest entry). It is called with its defaults, as a user would.
Every call of ``f`` goes through a counter, so :attr:`Result.evaluations` is what the answer cost (the one
call for the value, made before the clock starts as every backend does, is not counted).

It runs plain numpy functions as they are (it only calls f on floats), any derivative order ``k >= 1``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from diffcompare.backends.base import Function, Result, as_args, evaluate, flatten_args, shape_like_input
from diffcompare.backends.peers.support import Counted, finite_or_domain_error, installed, largest
from diffcompare.errors import DiffcompareError

__all__ = ["Numdifftools"]



def _finite(derivative: Any, what: str) -> Any:
    return finite_or_domain_error(derivative, "numdifftools'", what, "largest about 2 * max(|x|, 1)")


class Numdifftools:
    """numdifftools' adaptive finite differences, with its default settings; shapes as :class:`FiniteDifferences`."""

    name = "numdifftools"
    distribution = "numdifftools"

    @classmethod
    def version(cls) -> str | None:
        """The installed numdifftools' version, or None when it cannot be imported."""
        return installed("numdifftools")

    def __init__(self) -> None:
        import numdifftools

        self._nd = numdifftools
        self.library = f"numdifftools {numdifftools.__version__}"

    def _result(self, value: Any, derivative: Any, t0: float, fc: Counted, info: Any, **options: Any) -> Result:
        return Result(self.name, value, derivative, time.perf_counter() - t0, dict(options), evaluations=fc.calls,
                      error_estimate=largest(info.error_estimate), library=self.library)

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        """``f^(k)(x)`` by ``numdifftools.Derivative(f, n=k)``."""
        if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
            raise DiffcompareError(f"the derivative order must be a positive integer, not {order!r}")
        args = as_args(x)
        if len(args) != 1 or not isinstance(args[0], float):
            raise DiffcompareError("derivative needs a function of one scalar; use gradient or jacobian")
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("derivative needs a scalar output; use jacobian")
        fc = Counted(f, args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            out = self._nd.Derivative(lambda t: float(fc(t)), n=int(order), full_output=True)(args[0])
        d = _finite(float(np.asarray(out.estimate)), "derivative")
        return self._result(float(value), d, t0, fc, out, order=int(order))

    def gradient(self, f: Function, x: Any) -> Result:
        """The gradient of scalar ``f`` by ``numdifftools.Gradient``."""
        args = as_args(x)
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("gradient needs a scalar output; use jacobian")
        fc = Counted(f, args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            out = self._nd.Gradient(lambda v: float(fc(v)), full_output=True)(flatten_args(args))
        grad = _finite(shape_like_input(np.asarray(out.estimate, dtype=float), args), "gradient")
        return self._result(float(value), grad, t0, fc, out)

    def jacobian(self, f: Function, x: Any) -> Result:
        """``d out / d in`` by ``numdifftools.Jacobian``: ``out.shape + x.shape`` for one argument, else ``(m, n)``."""
        args = as_args(x)
        value = evaluate(f, args)
        out_shape = np.shape(value)
        fc = Counted(f, args)
        flat = flatten_args(args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            out = self._nd.Jacobian(lambda v: np.ravel(fc(v)), full_output=True)(flat)
        jac = np.asarray(out.estimate, dtype=float).reshape(int(np.prod(out_shape)), flat.size)
        if len(args) == 1:
            jac = jac.reshape(out_shape + np.shape(args[0]))
        jac = float(jac) if np.ndim(jac) == 0 else jac
        return self._result(np.asarray(value, dtype=float), _finite(jac, "Jacobian"), t0, fc, out)

    def hessian(self, f: Function, x: Any) -> Result:
        """Second derivatives of scalar ``f`` by ``numdifftools.Hessian``."""
        args = as_args(x)
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("hessian needs a scalar output; use jacobian of the gradient")
        fc = Counted(f, args)
        flat = flatten_args(args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            out = self._nd.Hessian(lambda v: float(fc(v)), full_output=True)(flat)
        hess = np.asarray(out.estimate, dtype=float).reshape(flat.size, flat.size)
        if len(args) == 1:
            shape = np.shape(args[0])
            hess = hess.reshape(shape + shape)
        hess = float(hess) if np.ndim(hess) == 0 else hess
        return self._result(float(value), _finite(hess, "Hessian"), t0, fc, out)
