"""scipy as a finite-difference peer: ``scipy.differentiate.derivative``, ``jacobian`` and ``hessian``.

``scipy.differentiate`` (scipy >= 1.15) extrapolates central differences of order 8 over steps
``0.5, 0.25, ...`` until its error estimate meets the tolerance; every result carries ``df``, ``error``,
``nit``, ``nfev`` and ``status``. It is called with its defaults, as a user would. An older scipy has no
``scipy.differentiate``: the backend is then not available (``diffcompare backends`` says why).

scipy calls ``f`` on whole arrays of points at once (its functions must be vectorized). The user's
function need not be: it is called once per point, through a counter, so :attr:`Result.evaluations` counts
real evaluations of f and a plain numpy function with ``if`` runs too. Only first derivatives (and the
Hessian, order 2 for one variable) exist in scipy: ``derivative`` of order ``k >= 3`` is Unsupported.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from diffcompare.backends.base import Function, Result, as_args, evaluate, flatten_args, shape_like_input
from diffcompare.backends.peers.support import Counted, finite_or_domain_error, installed, largest
from diffcompare.errors import DiffcompareError, Unsupported

__all__ = ["Scipy"]


class _PointByPoint:
    """scipy's vectorized calling convention served by calling the user's f once per point.

    scipy passes ``x`` of shape ``(n,) + batch`` (``batch`` alone for a scalar ``x``, ``scalar=True``) and
    expects ``out_shape + batch`` back.
    """

    def __init__(self, fc: Counted, n: int, out_shape: tuple[int, ...], scalar: bool = False):
        self.fc, self.n, self.out_shape, self.scalar = fc, n, out_shape, scalar

    def __call__(self, xs: Any) -> np.ndarray:
        xs = np.asarray(xs, dtype=float)
        batch = xs.shape if self.scalar else xs.shape[1:]
        out = np.empty(self.out_shape + batch)
        for idx in np.ndindex(*batch):
            point = xs[idx] if self.scalar else xs[(slice(None),) + idx]
            out[(Ellipsis,) + idx] = np.asarray(self.fc(point), dtype=float).reshape(self.out_shape)
        return out


def _finite(derivative: Any, what: str) -> Any:
    return finite_or_domain_error(derivative, "scipy's", what, "0.5 and smaller, absolute")


def _status(res: Any) -> dict[str, Any]:
    """scipy's own verdict: how many entries did not meet its tolerance (status != 0), and its nfev."""
    status = np.asarray(res.status).reshape(-1)
    options: dict[str, Any] = {"nfev": int(np.sum(res.nfev))}
    if np.any(status != 0):
        options["not_converged"] = int(np.sum(status != 0))
    return options


class Scipy:
    """``scipy.differentiate`` with its default settings; shapes as :class:`FiniteDifferences`."""

    name = "scipy"
    distribution = "scipy"

    @classmethod
    def version(cls) -> str | None:
        """The installed scipy's version if it has ``scipy.differentiate`` (scipy >= 1.15), else None."""
        found = installed("scipy")
        if found is None:
            return None
        # scipy >= 1.15 by its version number, and scipy.differentiate found on disk: neither imports scipy
        major, minor = (int(p) if p.isdigit() else 0 for p in found.split(".")[:2])
        return found if (major, minor) >= (1, 15) and installed("scipy", "scipy.differentiate") else None

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the backend cannot be used where scipy itself is installed (too old), else None."""
        found = installed("scipy")
        if found is None or cls.version() is not None:
            return None
        return f"scipy {found} has no scipy.differentiate (needs scipy >= 1.15): pip install -U scipy"

    def __init__(self) -> None:
        import scipy

        try:
            import scipy.differentiate as sd
        except ImportError:
            raise DiffcompareError(f"scipy {scipy.__version__} has no scipy.differentiate (it needs scipy >= 1.15): "
                                   "pip install -U scipy") from None
        self._sd = sd
        self.library = f"scipy {scipy.__version__}"

    def _result(self, value: Any, derivative: Any, t0: float, fc: Counted, res: Any, **options: Any) -> Result:
        return Result(self.name, value, derivative, time.perf_counter() - t0, {**options, **_status(res)},
                      evaluations=fc.calls, error_estimate=largest(res.error), library=self.library)

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        """``f'(x)`` by ``scipy.differentiate.derivative``; ``f''(x)`` by its ``hessian``; higher: Unsupported."""
        if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
            raise DiffcompareError(f"the derivative order must be a positive integer, not {order!r}")
        if order > 2:
            raise Unsupported(f"scipy.differentiate stops at order 2 (no order {order})")
        args = as_args(x)
        if len(args) != 1 or not isinstance(args[0], float):
            raise DiffcompareError("derivative needs a function of one scalar; use gradient or jacobian")
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("derivative needs a scalar output; use jacobian")
        fc = Counted(f, args)
        t0 = time.perf_counter()
        if order == 1:
            with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
                warnings.simplefilter("ignore")
                res = self._sd.derivative(_PointByPoint(fc, 1, (), scalar=True), args[0])
            d = float(res.df)
        else:
            with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
                warnings.simplefilter("ignore")
                res = self._sd.hessian(_PointByPoint(fc, 1, ()), np.array([args[0]]))
            d = float(np.asarray(res.ddf).reshape(-1)[0])
        return self._result(float(value), _finite(d, "derivative"), t0, fc, res, order=int(order))

    def gradient(self, f: Function, x: Any) -> Result:
        """The gradient of scalar ``f``: ``scipy.differentiate.jacobian`` of a scalar function."""
        args = as_args(x)
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("gradient needs a scalar output; use jacobian")
        flat = flatten_args(args)
        fc = Counted(f, args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            res = self._sd.jacobian(_PointByPoint(fc, flat.size, ()), flat)
        grad = shape_like_input(np.asarray(res.df, dtype=float), args)
        return self._result(float(value), _finite(grad, "gradient"), t0, fc, res)

    def jacobian(self, f: Function, x: Any) -> Result:
        """``d out / d in``: ``out.shape + x.shape`` for one argument, else ``(m, n)``."""
        args = as_args(x)
        value = evaluate(f, args)
        out_shape = np.shape(value)
        flat = flatten_args(args)
        fc = Counted(f, args)
        t0 = time.perf_counter()
        m = int(np.prod(out_shape))
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            res = self._sd.jacobian(_PointByPoint(fc, flat.size, (m,)), flat)
        jac = np.asarray(res.df, dtype=float).reshape(m, flat.size)
        if len(args) == 1:
            jac = jac.reshape(out_shape + np.shape(args[0]))
        jac = float(jac) if np.ndim(jac) == 0 else jac
        return self._result(np.asarray(value, dtype=float), _finite(jac, "Jacobian"), t0, fc, res)

    def hessian(self, f: Function, x: Any) -> Result:
        """Second derivatives of scalar ``f`` by ``scipy.differentiate.hessian`` (a Jacobian of Jacobians)."""
        args = as_args(x)
        value = evaluate(f, args)
        if np.ndim(value) != 0:
            raise DiffcompareError("hessian needs a scalar output; use jacobian of the gradient")
        flat = flatten_args(args)
        fc = Counted(f, args)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # "All-NaN slice" and the like: the result says it
            warnings.simplefilter("ignore")
            res = self._sd.hessian(_PointByPoint(fc, flat.size, ()), flat)
        hess = np.asarray(res.ddf, dtype=float).reshape(flat.size, flat.size)
        if len(args) == 1:
            shape = np.shape(args[0])
            hess = hess.reshape(shape + shape)
        hess = float(hess) if np.ndim(hess) == 0 else hess
        return self._result(float(value), _finite(hess, "Hessian"), t0, fc, res)
