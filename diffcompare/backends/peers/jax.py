"""JAX as a backend: ``jax.grad`` (nested for order k), ``jax.jacrev``, ``jax.hessian`` (forward-over-reverse).

float64 throughout (``jax_enable_x64``; JAX's default is float32). JAX runs a function either op by op
("no jit": every call traces f again and dispatches each primitive) or compiled (``jax.jit``: traced and
compiled by XLA on the first call, then fast). Both are measured on every call and reported separately in
the result's options: ``nojit_seconds`` (a warm call, after one warm-up), ``jit_compile_seconds`` (the first
jit call: trace + compile + run) and ``jit_seconds`` (a second jit call). ``seconds`` shows one of them:
no-jit by default, jit with ``get("jax", jit=True)``; ``options["shown"]`` says which. ``tape_ops`` counts the
primitives of ``jax.make_jaxpr(f)`` (JAX has no tape; its jaxpr is the recorded program).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.backends.peers._common import Peer, import_library

__all__ = ["Jax"]


def _jax() -> Any:
    jax = import_library("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


class Jax(Peer):
    """JAX: reverse mode (``grad``/``jacrev``), Hessian as ``jacfwd(jacrev)``; jit and no-jit times both."""

    name = "jax"
    distribution = "jax"
    namespace = "jax"
    write_with = "jax.numpy"

    def __init__(self, jit: bool = False, both: bool = True) -> None:
        super().__init__()
        if not isinstance(jit, bool) or not isinstance(both, bool):
            raise TypeError("jit and both are booleans")
        self.jax = _jax()
        self.jit, self.both = jit, both
        self.options = {"shown": "jit" if jit else "no-jit"}

    def lift(self, x: Any) -> Any:
        return self.jax.numpy.asarray(x, dtype=self.jax.numpy.float64)

    def grad(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.jax.grad(h)

    def jacobian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.jax.jacrev(h)

    def hessian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.jax.hessian(h)

    def lower(self, v: Any) -> Any:
        return np.asarray(v)

    def tape_size(self, g: Callable[..., Any], args: tuple[Any, ...]) -> int | None:
        return _count_eqns(self.jax.make_jaxpr(g)(*args).jaxpr)

    def timed(self, t: Callable[[Any], Any], v0: Any) -> tuple[Any, float, dict[str, Any]]:
        """Both ways, each warm: no-jit after a warm-up call; jit's first call (compile) and a second one."""
        extra: dict[str, Any] = {}
        if not self.jit or self.both:
            self._block(t(v0))
            t0 = time.perf_counter()
            out = self._block(t(v0))
            extra["nojit_seconds"] = time.perf_counter() - t0
        if self.jit or self.both:
            compiled = self.jax.jit(t)  # v0 an argument, not a constant XLA could fold
            t0 = time.perf_counter()
            jit_out = self._block(compiled(v0))
            extra["jit_compile_seconds"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            jit_out = self._block(compiled(v0))
            extra["jit_seconds"] = time.perf_counter() - t0
            if self.jit:
                out = jit_out
        return out, extra["jit_seconds" if self.jit else "nojit_seconds"], extra

    @staticmethod
    def _block(v: Any) -> Any:
        """JAX dispatches asynchronously: a time is only real once the result is ready."""
        return v.block_until_ready() if hasattr(v, "block_until_ready") else v


def _count_eqns(jaxpr: Any) -> int:
    """Primitive applications in a jaxpr, those inside sub-jaxprs (pjit, custom_jvp) counted as theirs."""
    count, stack = 0, [jaxpr]
    while stack:
        j = stack.pop()
        for eqn in j.eqns:
            subs = [p for p in eqn.params.values() if hasattr(p, "jaxpr") or hasattr(p, "eqns")]
            if subs:
                stack.extend(s.jaxpr if hasattr(s, "jaxpr") else s for s in subs)
            else:
                count += 1
    return count
