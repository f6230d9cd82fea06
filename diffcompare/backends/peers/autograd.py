"""HIPS autograd as a backend: ``autograd.grad`` (nested for order k), ``jacobian``, ``hessian``.

autograd computes in numpy's float64 already. Its functions come from ``autograd.numpy`` (a user's plain
``import numpy`` does not reach its boxes); the parser's sigmoid, which autograd.numpy lacks, is written in
it with a double ``where`` (:mod:`diffcompare.namespaces`). ``tape_ops`` counts the nodes of the graph one
evaluation records.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from diffcompare.backends.peers._common import Peer, import_library

__all__ = ["Autograd"]


class Autograd(Peer):
    """autograd: reverse mode over numpy, nested for higher orders."""

    name = "autograd"
    distribution = "autograd"
    namespace = "autograd"
    write_with = "autograd.numpy"

    def __init__(self) -> None:
        super().__init__()
        self.autograd = import_library("autograd")

    def lift(self, x: Any) -> Any:
        """numpy float64, not a Python float: autograd's sqrt rule at 0 is then inf (numpy), not a
        ZeroDivisionError (Python's 0.0 ** -0.5)."""
        return np.float64(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)

    def grad(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return _quiet(self.autograd.grad(h))

    def jacobian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return _quiet(self.autograd.jacobian(h))

    def hessian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return _quiet(self.autograd.hessian(h))

    def tape_size(self, g: Callable[..., Any], args: tuple[Any, ...]) -> int | None:
        from autograd.core import VJPNode
        from autograd.tracer import trace

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Output seems independent of input": then there is no tape
            if len(args) == 1:
                _, end = trace(VJPNode.new_root(), g, args[0])
            else:  # a tuple of inputs: autograd records one indexing node per argument, not g's own
                _, end = trace(VJPNode.new_root(), lambda t: g(*(t[i] for i in range(len(args)))), tuple(args))
        seen, stack = set(), [end] if end is not None else []
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node.parents)
        indexing = len(args) if len(args) > 1 else 0
        return max(len(seen) - 1 - indexing, 0)  # the root (the input) is not an operation


def _quiet(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """autograd warns "Output seems independent of input" where the derivative is simply 0: not our user's news."""
    def run(x: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(x)
    return run
