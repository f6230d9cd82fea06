"""The AD transforms in two flavours, for the ``ad`` fixture (conftest.py): eager, and under ``jit``.

The eager flavour is :mod:`diffcompare.ad` itself. The jit flavour gives the same names; each transform's
result is ``jit(transform(f))``, one Jitted per ``ad.grad(f)`` made, so that a test calling it at several points
runs the program traced at the first point at the others (a value frozen into the program shows there). A call
with a new signature traces (the staged run's result) and then runs the compiled program at once, whose result
is returned after checking it equals the traced one to 1e-15 of its size. Direct transforms (``jvp``, ``vjp``,
``hvp``) are jitted over their primals, tangents and cotangents. Every other name (``record``, ``Recording``,
``logsumexp``, ...) is the eager module's.

A signature whose rules read traced values runs eagerly with a JitWarning (jitting.py): the flavour notes it
(``EAGER_RUNS``, printed at the end of the run with ``DIFFCOMPARE_JIT_REPORT=1``) instead of letting the warning
reach the test, which asserts on the numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare import ad as eager
from diffcompare.ad import check
from diffcompare.ad.jitting import Jitted, JitWarning
from diffcompare.ad.tracer import Box

RTOL = 1e-15  # the generated code calls the staged run's functions in the same order: equal but for a libm's fused op
EAGER_RUNS: list[tuple[str, str]] = []  # (test, the warning's text): signatures that ran eagerly
CURRENT_TEST = [""]
FALLBACKS: list[tuple[str, str]] = []  # (test, error): compiled calls that met a math error and ran eagerly


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape:
        return False
    if a_arr.dtype == object or b_arr.dtype == object:
        return bool(np.all(a_arr == b_arr))
    finite = np.isfinite(b_arr)
    if not np.array_equal(a_arr[~finite], b_arr[~finite], equal_nan=True):
        return False  # inf, -inf and nan where the trace has them
    scale = max(float(np.max(np.abs(b_arr[finite]), initial=0.0)), 1e-300)
    return bool(np.allclose(a_arr[finite], b_arr[finite], rtol=0, atol=RTOL * scale))


def _boxed(args: Sequence[Any]) -> bool:
    return any(isinstance(a, Box) for a in args)


class JitCall:
    """``jit(fn)`` called as fn: traces at a new signature, then runs the program (checked against the trace)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.jitted = Jitted(fn)

    def __call__(self, *args: Any) -> Any:
        if _boxed(args):
            return self.jitted(*args)  # inside another transform: jit is fn itself
        traces = self.jitted.traces
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitWarning)
            result = self.jitted(*args)
        for w in caught:
            if issubclass(w.category, JitWarning):
                EAGER_RUNS.append((CURRENT_TEST[0], str(w.message)))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if self.jitted.traces == traces:
            return result
        program = self.jitted.cache[self.jitted._key(args, {})][0]
        if program is None:  # ran eagerly (noted above)
            return result
        try:
            compiled = program(*args)  # the generated program at the point it was traced, without jit's fallback
        except (ValueError, OverflowError, ZeroDivisionError) as e:
            # math's own errors (a float divided by 0, log(-1), exp(1000)), where numpy gives inf or nan and the
            # engine's convention may make them 0 (0 * inf): jit runs f eagerly then, by design. Any other error
            # (numpy's ValueError of a wrong shape) is a fault of the program that the fallback would hide
            assert isinstance(e, (OverflowError, ZeroDivisionError)) or str(e) == "math domain error", \
                f"jit: the compiled program raised {e!r} where its trace gave {result!r}"
            FALLBACKS.append((CURRENT_TEST[0], repr(e)))
            return self.jitted(*args)
        assert _close(compiled, result), f"jit: the compiled program gives {compiled!r}, its trace {result!r}"
        return compiled


def _jitted(transform: Callable[..., Callable[..., Any]]) -> Callable[..., Callable[..., Any]]:
    def jitted_transform(f: Callable[..., Any], *a: Any, **kw: Any) -> Callable[..., Any]:
        return JitCall(transform(f, *a, **kw))

    jitted_transform.__name__ = transform.__name__
    return jitted_transform


def _copied(x: Any) -> Any:
    return x.copy() if x.__class__ is np.ndarray else x


class JitAD:
    """``diffcompare.ad`` with every transform under jit."""

    name = "jit"

    grad = staticmethod(_jitted(eager.grad))
    value_and_grad = staticmethod(_jitted(eager.value_and_grad))
    jacfwd = staticmethod(_jitted(eager.jacfwd))
    jacrev = staticmethod(_jitted(eager.jacrev))
    jacobian = staticmethod(_jitted(eager.jacobian))
    hessian = staticmethod(_jitted(eager.hessian))
    derivative = staticmethod(_jitted(eager.derivative))

    @staticmethod
    def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
        n = len(primals)
        return JitCall(lambda *pt: eager.jvp(f, pt[:n], pt[n:]))(*primals, *tangents)

    @staticmethod
    def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
        return JitCall(lambda x, v: eager.hvp(f, x, v))(x, v)

    @staticmethod
    def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
        primals = tuple(_copied(p) for p in primals)  # as eager vjp: the caller may change theirs before pulling
        value = JitCall(lambda *p: eager.vjp(f, *p)[0])(*primals)
        pull = JitCall(lambda *p: eager.vjp(f, *p[:-1])[1](p[-1]))
        return value, lambda ct: pull(*primals, ct)

    @staticmethod
    def eager_runs() -> list[str]:
        """The JitWarnings of this test: why a signature ran eagerly."""
        return [m for t, m in EAGER_RUNS if t == CURRENT_TEST[0]]

    def check_grads(self, f: Callable[..., Any], args: Sequence[Any], *a: Any, **kw: Any) -> None:
        """check.check_grads with its jvp and vjp under jit (it calls them at every order)."""
        saved = check.jvp, check.vjp
        check.jvp, check.vjp = self.jvp, self.vjp
        try:
            check.check_grads(f, args, *a, **kw)
        finally:
            check.jvp, check.vjp = saved

    def __getattr__(self, name: str) -> Any:
        return getattr(eager, name)

    def __repr__(self) -> str:
        return "<diffcompare.ad under jit>"


class EagerAD:
    """``diffcompare.ad`` itself, plus ``check_grads`` (the jit flavour's twin)."""

    name = "eager"

    @staticmethod
    def eager_runs() -> list[str]:
        return []

    @staticmethod
    def check_grads(f: Callable[..., Any], args: Sequence[Any], *a: Any, **kw: Any) -> None:
        check.check_grads(f, args, *a, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(eager, name)

    def __repr__(self) -> str:
        return "<diffcompare.ad, eager>"


FLAVOURS = {"eager": EagerAD(), "jit": JitAD()}
