"""What the jax, torch and autograd backends share: the point model, timing, and the Unsupported translation.

Each peer differentiates the function compiled for its own library (:mod:`diffcompare.namespaces`): the same
parsed expression, never a re-typed one. A plain Python function over numpy has no such version; it is run as
it is, and if the library cannot run numpy code on its traced values the backend says so (``Unsupported``,
one line), as the symbolic backend does for control flow.

Timing: one untimed warm-up call, then one timed call (the library's caches, lazy initialisation and, for
jax, the per-primitive kernels compiled on first use are not the derivative's cost). The function's value is
checked first with numpy (:func:`diffcompare.backends.base.evaluate`), so a point outside the domain is a
``DomainError`` before any library runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.backends.base import Function, Result, as_args, evaluate
from diffcompare.errors import DiffcompareError, Unsupported
from diffcompare.namespaces import for_namespace

__all__ = ["Peer", "import_library", "not_installed"]

KINDS = ("derivative", "gradient", "jacobian", "hessian")


def not_installed(library: str) -> DiffcompareError:
    return DiffcompareError(f"the {library} backend needs {library}, which is not installed: "
                            "pip install 'diffcompare[peers]'")


def import_library(library: str) -> Any:
    """The library's module, or the one-line error that says how to install it."""
    from importlib import import_module

    try:
        return import_module(library)
    except ImportError:
        raise not_installed(library) from None


def _one_line(exc: BaseException, limit: int = 110) -> str:
    text = " ".join(str(exc).split()).split(" See http")[0] or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_float(v: Any) -> Any:
    arr = np.asarray(v, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


class Peer:
    """A backend built on another library. Subclasses give the library's transforms and array conversions."""

    name: str = ""
    distribution: str = ""  # the package that must be installed (jax, torch, autograd)
    namespace: str = ""  # the namespace the expression is compiled to
    write_with: str = ""  # what a user writes f with instead of numpy (jax.numpy, torch, autograd.numpy)
    supports: tuple[str, ...] = KINDS
    max_order: int | None = None  # derivative(): any order (nested transforms)

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        found = self.version()
        if found is None:
            raise not_installed(self.distribution)
        self.library = f"{self.distribution} {found}"  # "jax 0.4.30": every Result carries it

    @classmethod
    def version(cls) -> str | None:
        """The installed library's version, found without importing it; None when it is not installed."""
        from diffcompare.backends.peers.support import installed

        return installed(cls.distribution)

    # -- per library --------------------------------------------------------------------------------------

    def lift(self, x: Any) -> Any:
        """A float or float array as the library's float64 value."""
        raise NotImplementedError

    def grad(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        raise NotImplementedError

    def jacobian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        raise NotImplementedError

    def hessian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        raise NotImplementedError

    def tape_size(self, g: Function, args: tuple[Any, ...]) -> int | None:
        """Primitive operations the library records for one evaluation of ``g(*args)`` (library values), where it
        exposes them: the function's own operations, as our ``tape_ops`` counts them."""
        return None

    def timed(self, t: Callable[[Any], Any], v0: Any) -> tuple[Any, float, dict[str, Any]]:
        """(t(v0), seconds shown, extra options): a warm-up call, then one timed call."""
        t(v0)
        t0 = time.perf_counter()
        out = t(v0)
        return out, time.perf_counter() - t0, {}

    # -- the interface ------------------------------------------------------------------------------------

    def function(self, f: Function) -> tuple[Function, bool]:
        """(f in this library, whether it is a compiled expression) — a plain f is run as it is."""
        g = for_namespace(f, self.namespace)
        return (g, True) if g is not None else (f, False)

    def runner(self, kind: str, f: Function, x: Any, order: int = 1
               ) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Any]:
        """(t, h, v0): ``t(v0)`` computes one ``kind`` of f at x in this library; ``h`` is the one-input
        function it differentiates and ``v0`` the library value both are called at. For timing harnesses
        (``cost``) as well as for :meth:`_result`."""
        if kind not in KINDS:
            raise DiffcompareError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        args = as_args(x)
        g, _ = self.function(f)
        if kind == "derivative":
            if len(args) != 1 or not isinstance(args[0], float):
                raise DiffcompareError("derivative() is for functions of one scalar; use gradient() or jacobian()")
            d = g
            for _ in range(order):
                d = self.grad(d)
            return d, g, self.lift(args[0])
        h, v = _flat(g, args)
        transform = {"gradient": self.grad, "jacobian": self.jacobian_of, "hessian": self.hessian_of}[kind]
        return transform(h), h, self.lift(v)

    def _result(self, kind: str, f: Function, x: Any, order: int = 1) -> Result:
        args = as_args(x)
        if kind == "derivative" and (isinstance(order, bool) or not isinstance(order, int) or order < 0):
            raise DiffcompareError(f"order must be a whole number >= 0, not {order!r}")
        value = evaluate(f, args)  # the domain check, with numpy, before the library runs
        if kind == "gradient" and np.ndim(value) != 0:
            raise DiffcompareError("gradient() needs a scalar-valued function; use jacobian()")
        _, compiled = self.function(f)
        try:
            t, _, v0 = self.runner(kind, f, x, order)
            with np.errstate(all="ignore"):  # an infinite derivative (sqrt at 0) is an answer, not a warning
                out, seconds, extra = self.timed(t, v0)
            g, _ = self.function(f)
            tape = self.tape_size(g, tuple(self.lift(a) for a in args))
        except DiffcompareError:
            raise
        except Exception as exc:  # noqa: BLE001 — the library's refusal of a plain-numpy f, in one line
            if compiled:
                raise
            raise Unsupported(f"{self.name} cannot run this plain-numpy Python function ({type(exc).__name__}: "
                              f"{_one_line(exc)}); give it as an expression, or write it with {self.write_with}"
                              ) from None
        d = _as_float(self.lower(out))
        if kind == "gradient" and len(args) == 1 and not isinstance(args[0], float):
            d = np.reshape(d, np.shape(args[0]))
        options = {"order": order} if kind == "derivative" else {}
        options.update(self.options, **extra)
        return Result(self.name, _as_float(value), d, seconds, options, tape_ops=tape, library=self.library)

    def lower(self, v: Any) -> Any:
        """The library's result as numpy."""
        return np.asarray(v)

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result:
        return self._result("derivative", f, x, order)

    def gradient(self, f: Function, x: Any) -> Result:
        return self._result("gradient", f, x)

    def jacobian(self, f: Function, x: Any) -> Result:
        return self._result("jacobian", f, x)

    def hessian(self, f: Function, x: Any) -> Result:
        return self._result("hessian", f, x)


def _flat(g: Function, args: tuple[Any, ...]) -> tuple[Callable[[Any], Any], Any]:
    """(h, v): one input for the library's transforms. One argument is passed as it is; several become one flat
    vector, split inside h by indexing (traceable: no ``.item()``), so derivatives come out in argument order."""
    if len(args) == 1:
        return g, args[0]
    sizes = [(1, None) if isinstance(a, float) else (a.size, a.shape) for a in args]

    def h(v: Any) -> Any:
        parts, i = [], 0
        for n, shape in sizes:
            parts.append(v[i] if shape is None else v[i : i + n].reshape(shape))
            i += n
        return g(*parts)

    return h, np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in args])
