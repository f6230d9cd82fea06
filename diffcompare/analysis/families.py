"""Families of functions whose size is a parameter: what `diffcompare cost` measures methods on.

Each family gives, for a size ``n`` (and ``m`` for Jacobians), a plain-numpy function and a fixed
point, deterministic (seeded), so that two runs on two machines measure the same work. The
functions are written once and run under every backend (floats, complex numbers for the complex
step, sympy values, AD traced values); they use only operations every backend understands.

* ``rosenbrock``: ``sum(100 (x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)``, the classic test problem;
  its Hessian is tridiagonal.
* ``sines``: ``sum(sin(x) * cos(x[::-1]))``, a sum of sines coupling ``x_i`` with ``x_{n-1-i}``.
* ``mlp``: the squared-error loss of a one-hidden-layer tanh network with exactly ``n`` trainable
  weights (a ``5 x d`` first layer and 5 output weights, so ``n = 5 d + 5``: ``n`` is rounded up to
  such a size) on a fixed batch of 16 samples: the shape of a training step's gradient.
* ``tanh_linear`` (Jacobians): ``y = tanh(A x)`` with ``A`` of shape ``m x n``.
* ``logistic`` (memory): the logistic map ``x <- r x (1 - x)`` iterated ``k`` times from ``x0``,
  three recorded operations per step (``r*x``, ``1-x``, their product).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from diffcompare.errors import DiffcompareError

__all__ = [
    "GRADIENT_FAMILIES",
    "Instance",
    "MLP_HIDDEN",
    "gradient_family",
    "irregular_point",
    "logistic_map",
    "mlp_size",
    "tanh_linear",
]

MLP_HIDDEN = 5  # hidden units of the mlp family
MLP_BATCH = 16  # samples in its fixed batch
LOGISTIC_R = 2.5  # a contracting regime: the derivative of x_k stays finite (decays) for every k


@dataclass
class Instance:
    """One member of a family: the function, the point, its actual sizes and a one-line description."""

    family: str
    f: Callable[..., Any]
    x: np.ndarray
    n: int
    m: int
    description: str


def portable(f: Callable[..., Any], build: Callable[[Any], Callable[..., Any]]) -> Callable[..., Any]:
    """``f`` (numpy) with ``f.compile_for(name)``: the same function built from namespace ``name``'s functions.

    So the peers (jax, torch, autograd) time exactly this family member written in their own library, as
    they do for a parsed expression (:func:`diffcompare.namespaces.for_namespace`).
    """

    def compile_for(name: str) -> Callable[..., Any]:
        from diffcompare.namespaces import load

        built = build(load(name))
        built.__name__ = f.__name__
        return built

    f.compile_for = compile_for  # type: ignore[attr-defined]
    return f


def irregular_point(n: int) -> np.ndarray:
    """A fixed, irregular point in (0.2, 0.8)^n: no symmetric coordinates, no zeros."""
    i = np.arange(n, dtype=float)
    return 0.5 + 0.3 * np.sin(1.7 * i + 0.3)


def _rosenbrock(n: int) -> Instance:
    if n < 2:
        raise DiffcompareError("rosenbrock needs n >= 2")

    def build(ns: Any) -> Callable[[Any], Any]:
        def rosenbrock(x: Any) -> Any:
            return ns.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        return rosenbrock

    def rosenbrock(x: Any) -> Any:
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return Instance("rosenbrock", portable(rosenbrock, build), irregular_point(n), n, 1,
                    "sum(100*(x[1:]-x[:-1]**2)**2 + (1-x[:-1])**2)")


def _sines(n: int) -> Instance:
    def build(ns: Any) -> Callable[[Any], Any]:
        sin, cos = ns.functions["sin"], ns.functions["cos"]

        def sines(x: Any) -> Any:
            return ns.sum(sin(x) * cos(ns.flip(x)))  # torch has no x[::-1]

        return sines

    def sines(x: Any) -> Any:
        return np.sum(np.sin(x) * np.cos(x[::-1]))

    return Instance("sines", portable(sines, build), irregular_point(n), n, 1, "sum(sin(x) * cos(x[::-1]))")


def mlp_size(n: int) -> int:
    """The nearest mlp size ``>= n``: ``5 d + 5`` with ``d >= 1`` inputs (so at least 10)."""
    d = max(1, -(-(n - MLP_HIDDEN) // MLP_HIDDEN))
    return MLP_HIDDEN * d + MLP_HIDDEN


def _mlp(n: int) -> Instance:
    n = mlp_size(n)
    d = (n - MLP_HIDDEN) // MLP_HIDDEN
    rng = np.random.default_rng(20240601 + d)
    data = rng.standard_normal((MLP_BATCH, d))
    target = np.tanh(data[:, 0]) if d else np.zeros(MLP_BATCH)
    scale = 1.0 / np.sqrt(d)

    def mlp_loss(theta: Any) -> Any:
        w1 = theta[: MLP_HIDDEN * d].reshape((MLP_HIDDEN, d))
        w2 = theta[MLP_HIDDEN * d:]
        hidden = np.tanh((data * scale) @ w1.T)  # (batch, hidden)
        err = hidden @ w2 - target
        return np.sum(err * err) / MLP_BATCH

    def build(ns: Any) -> Callable[[Any], Any]:
        tanh, inputs, wanted = ns.functions["tanh"], ns.asarray(data * scale), ns.asarray(target)

        def mlp_loss(theta: Any) -> Any:
            w1 = theta[: MLP_HIDDEN * d].reshape((MLP_HIDDEN, d))
            w2 = theta[MLP_HIDDEN * d:]
            err = tanh(inputs @ w1.T) @ w2 - wanted
            return ns.sum(err * err) / MLP_BATCH

        return mlp_loss

    return Instance("mlp", portable(mlp_loss, build), irregular_point(n) - 0.5, n, 1,
                    f"mean squared error of tanh MLP, {MLP_HIDDEN} hidden units, batch {MLP_BATCH}, "
                    f"n = {MLP_HIDDEN}*d + {MLP_HIDDEN} weights")


GRADIENT_FAMILIES: dict[str, Callable[[int], Instance]] = {
    "rosenbrock": _rosenbrock,
    "sines": _sines,
    "mlp": _mlp,
}


def gradient_family(name: str, n: int) -> Instance:
    """A scalar function of ``n`` inputs from :data:`GRADIENT_FAMILIES` (the mlp rounds ``n`` up)."""
    if name not in GRADIENT_FAMILIES:
        raise DiffcompareError(f"unknown function family {name!r}; allowed: {', '.join(GRADIENT_FAMILIES)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise DiffcompareError(f"n must be a positive whole number, not {n!r}")
    return GRADIENT_FAMILIES[name](int(n))


def tanh_linear(n: int, m: int) -> Instance:
    """``y = tanh(A x)``, ``A`` of shape ``m x n`` (seeded, entries ~ N(0, 1/n) so ``A x`` is O(1))."""
    if n < 1 or m < 1:
        raise DiffcompareError(f"n and m must be positive, not n={n}, m={m}")
    rng = np.random.default_rng(1000003 * n + m)
    a = rng.standard_normal((m, n)) / np.sqrt(n)

    def tanh_linear(x: Any) -> Any:
        return np.tanh(a @ x)

    def build(ns: Any) -> Callable[[Any], Any]:
        tanh, matrix = ns.functions["tanh"], ns.asarray(a)

        def tanh_linear(x: Any) -> Any:
            return tanh(matrix @ x)

        return tanh_linear

    return Instance("tanh_linear", portable(tanh_linear, build), irregular_point(n), n, m,
                    f"tanh(A @ x), A of shape {m}x{n}")


def logistic_map(k: int, r: float = LOGISTIC_R) -> Callable[[Any], Any]:
    """``x -> x_k`` for ``x_{j+1} = r x_j (1 - x_j)``: a computation ``3k`` operations deep."""
    if k < 0:
        raise DiffcompareError(f"the depth k must be >= 0, not {k}")

    def logistic(x: Any) -> Any:
        for _ in range(k):
            x = r * x * (1.0 - x)
        return x

    return logistic
