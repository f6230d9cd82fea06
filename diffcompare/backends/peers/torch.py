"""PyTorch as a backend: ``torch.func.grad`` (nested for order k), ``jacrev``, ``hessian`` (= ``jacfwd(jacrev)``).

float64 tensors (torch's default dtype is float32: every input is made float64, and the parser's constants
are Python floats, which torch keeps at the tensors' precision). One intra-op thread by default
(``get("torch", threads=n)``), so that a timing compares one core with one core; the setting is torch's own,
made on every call. ``tape_ops`` counts the nodes of the autograd graph one evaluation records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffcompare.backends.peers._common import Peer, import_library

__all__ = ["Torch"]


class Torch(Peer):
    """PyTorch's functional transforms (``torch.func``) on float64 tensors, one thread by default."""

    name = "torch"
    distribution = "torch"
    namespace = "torch"
    write_with = "torch"

    def __init__(self, threads: int = 1) -> None:
        super().__init__()
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a whole number >= 1, not {threads!r}")
        self.torch = import_library("torch")
        self.threads = threads
        self.options = {"threads": threads}

    def lift(self, x: Any) -> Any:
        return self.torch.as_tensor(x, dtype=self.torch.float64)

    def function(self, f: Any) -> tuple[Any, bool]:
        """A constant expression (``exp(0.5)``) returns a Python float, which ``torch.func`` refuses: make it a
        tensor (its derivative is 0, as every other backend says)."""
        g, compiled = super().function(f)
        if not compiled:
            return g, False
        torch = self.torch

        def tensor_valued(*args: Any) -> Any:
            out = g(*args)
            return out if isinstance(out, torch.Tensor) else args[0] * 0.0 + out

        return tensor_valued, True

    def grad(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.torch.func.grad(h)

    def jacobian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.torch.func.jacrev(h)

    def hessian_of(self, h: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return self.torch.func.hessian(h)

    def lower(self, v: Any) -> Any:
        return v.detach().numpy() if isinstance(v, self.torch.Tensor) else v

    def timed(self, t: Callable[[Any], Any], v0: Any) -> tuple[Any, float, dict[str, Any]]:
        self.torch.set_num_threads(self.threads)
        return super().timed(t, v0)

    def tape_size(self, g: Callable[..., Any], args: tuple[Any, ...]) -> int | None:
        out = g(*(a.detach().clone().requires_grad_(True) for a in args))
        root = getattr(out, "grad_fn", None)
        seen, stack = set(), [root] if root is not None else []
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            stack.extend(n for n, _ in node.next_functions)
        return sum(1 for n in seen if type(n).__name__ != "AccumulateGrad")
