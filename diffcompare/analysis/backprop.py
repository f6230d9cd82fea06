"""The lecture's backpropagation example: a 2-2-1 sigmoid network, differentiated every way.

The network (slides §2.2): input ``x = (0.5, 0.1)``, target ``t = 0.8``, weights
``w11=0.15, w12=0.2, w21=0.25, w22=0.3`` (input -> hidden), ``wh1=0.4, wh2=0.45`` (hidden -> output),
one bias ``bh=0.35`` *shared* by both hidden neurons, ``by=0.6``, learning rate ``eta=0.5``::

    h1 = σ(w11 x1 + w21 x2 + bh)      h2 = σ(w12 x1 + w22 x2 + bh)
    y  = σ(wh1 h1 + wh2 h2 + by)      E  = ½ (t − y)²

The loss is written once, as a plain numpy function of the eight parameters, and every backend
differentiates that same function: reverse AD (backpropagation proper), forward AD, sympy and
finite differences. :func:`deltas` is the slides' hand-derived chain rule (δ_y, δ_h1, δ_h2), kept
separately so that the hand derivation can be checked against AD.

API (stable; ``diffcompare reproduce`` relies on it)::

    PARAMETERS: tuple[str, ...]                 # ("w11", "w12", "w21", "w22", "wh1", "wh2", "bh", "by")
    Network(x=(0.5, 0.1), t=0.8, w11=..., ..., by=0.6, eta=0.5)   # frozen dataclass, the slides' values
    Network.params() -> dict[str, float]        # the eight parameters, in PARAMETERS order
    Network.replace(**params) -> Network
    forward(net) -> dict[str, float]            # z_h1, h1, z_h2, h2, z_y, y, loss
    deltas(net) -> dict[str, float]             # dE_dy, dsigma_y, delta_y, dsigma_h1, delta_h1, dsigma_h2, delta_h2
    loss_function(net) -> f(w11, w12, w21, w22, wh1, wh2, bh, by)   # plain numpy, for any backend
    gradients(net, backend="reverse") -> dict[str, float]   # backend: reverse | forward | symbolic | finite | hand
    reference_gradients(net) -> dict[str, mpmath.mpf]       # 50-digit ground truth
    step(net, grads) -> Network                 # p - eta * grad for each parameter
    train(net, steps, backend="reverse") -> list[float]     # steps + 1 losses: before any step, after each
    analyse(net=Network(), backends=BACKENDS) -> Backprop    # everything `diffcompare backprop` shows
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.errors import DiffcompareError
from diffcompare.functions import sigmoid

__all__ = [
    "BACKENDS",
    "PARAMETERS",
    "Backprop",
    "Network",
    "analyse",
    "deltas",
    "forward",
    "gradients",
    "loss_function",
    "reference_gradients",
    "step",
    "train",
]

PARAMETERS: tuple[str, ...] = ("w11", "w12", "w21", "w22", "wh1", "wh2", "bh", "by")
#: the backends ``backprop`` shows side by side; "hand" is the slides' chain rule written out
BACKENDS: tuple[str, ...] = ("reverse", "forward", "symbolic", "finite")
MAX_STEPS = 10_000  # one reverse pass per step (under a millisecond): the cap keeps a run to seconds


@dataclass(frozen=True)
class Network:
    """The slides' 2-2-1 sigmoid network with its one training example and learning rate."""

    x: tuple[float, float] = (0.5, 0.1)
    t: float = 0.8
    w11: float = 0.15
    w12: float = 0.2
    w21: float = 0.25
    w22: float = 0.3
    wh1: float = 0.4
    wh2: float = 0.45
    bh: float = 0.35  # shared by h1 and h2, as on the slides
    by: float = 0.6
    eta: float = 0.5

    def params(self) -> dict[str, float]:
        """The eight trainable parameters, in :data:`PARAMETERS` order."""
        return {p: float(getattr(self, p)) for p in PARAMETERS}

    def replace(self, **params: float) -> Network:
        """A copy with some fields changed (``net.replace(w11=0.2)``)."""
        return dataclasses.replace(self, **params)


def _loss(x1: Any, x2: Any, t: Any, w11: Any, w12: Any, w21: Any, w22: Any, wh1: Any, wh2: Any,
          bh: Any, by: Any) -> dict[str, Any]:
    """The forward pass with every intermediate, for floats or traced values alike."""
    z_h1 = w11 * x1 + w21 * x2 + bh
    z_h2 = w12 * x1 + w22 * x2 + bh
    h1, h2 = sigmoid(z_h1), sigmoid(z_h2)
    z_y = wh1 * h1 + wh2 * h2 + by
    y = sigmoid(z_y)
    return {"z_h1": z_h1, "h1": h1, "z_h2": z_h2, "h2": h2, "z_y": z_y, "y": y, "loss": 0.5 * (t - y) ** 2}


def forward(net: Network) -> dict[str, float]:
    """Step 1 of the slides: net inputs z, activations and the loss E, in float64."""
    return {k: float(v) for k, v in _loss(net.x[0], net.x[1], net.t, **net.params()).items()}


def deltas(net: Network) -> dict[str, float]:
    """The slides' hand-derived backward pass: error terms δ = ∂E/∂z, via σ'(z) = σ(z)(1 − σ(z)).

    Unrounded (the slides round each intermediate to 2-4 digits). ∂E/∂by = δ_y, ∂E/∂wh1 = δ_y h1,
    ∂E/∂w11 = δ_h1 x1, ∂E/∂bh = δ_h1 + δ_h2 (the bias is shared).
    """
    fw = forward(net)
    y, h1, h2 = fw["y"], fw["h1"], fw["h2"]
    dE_dy = -(net.t - y)
    ds_y, ds_h1, ds_h2 = y * (1 - y), h1 * (1 - h1), h2 * (1 - h2)
    delta_y = dE_dy * ds_y
    return {
        "dE_dy": dE_dy,
        "dsigma_y": ds_y,
        "delta_y": delta_y,
        "wh1_delta_y": net.wh1 * delta_y,
        "dsigma_h1": ds_h1,
        "delta_h1": net.wh1 * delta_y * ds_h1,
        "wh2_delta_y": net.wh2 * delta_y,
        "dsigma_h2": ds_h2,
        "delta_h2": net.wh2 * delta_y * ds_h2,
    }


def _hand_gradients(net: Network) -> dict[str, float]:
    d = deltas(net)
    fw = forward(net)
    x1, x2 = net.x
    return {
        "w11": d["delta_h1"] * x1, "w12": d["delta_h2"] * x1,
        "w21": d["delta_h1"] * x2, "w22": d["delta_h2"] * x2,
        "wh1": d["delta_y"] * fw["h1"], "wh2": d["delta_y"] * fw["h2"],
        "bh": d["delta_h1"] + d["delta_h2"], "by": d["delta_y"],
    }


def loss_function(net: Network) -> Callable[..., Any]:
    """E as a plain numpy function of the eight parameters (input and target fixed from ``net``).

    The parameter names are the function's own argument names, so the symbolic backend's
    expressions read ``w11``, ``bh`` ... and not ``x1..x8``.
    """
    x1, x2, t = float(net.x[0]), float(net.x[1]), float(net.t)

    def E(w11, w12, w21, w22, wh1, wh2, bh, by):
        return _loss(x1, x2, t, w11, w12, w21, w22, wh1, wh2, bh, by)["loss"]

    return E


@dataclass
class GradientRun:
    """One backend's gradient and its cost."""

    backend: str
    gradient: dict[str, float]
    seconds: float
    evaluations: int | None = None
    tape_ops: int | None = None
    expression_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    passes: int | None = None  # our AD: passes through f that carried the evaluations (1 batched pass)


def _run(net: Network, backend: str) -> GradientRun:
    if backend == "hand":
        t0 = time.perf_counter()
        g = _hand_gradients(net)
        return GradientRun("hand", g, time.perf_counter() - t0, options={"method": "the slides' chain rule"})
    from diffcompare import backends as registry

    r = registry.get(backend).gradient(loss_function(net), tuple(net.params().values()))
    flat = np.asarray(r.derivative, dtype=float).ravel()
    return GradientRun(backend, dict(zip(PARAMETERS, (float(v) for v in flat))), r.seconds, r.evaluations,
                       r.tape_ops, r.expression_size, dict(r.options), r.passes)


def gradients(net: Network, backend: str = "reverse") -> dict[str, float]:
    """∂E/∂p for the eight parameters by one backend: reverse, forward, symbolic, finite or hand."""
    return _run(net, backend).gradient


def reference_gradients(net: Network) -> dict[str, Any]:
    """The exact gradient (sympy, evaluated at 50 digits at the exact binary parameter values)."""
    return dict(_reference(net))


@functools.lru_cache(maxsize=32)
def _reference(net: Network) -> tuple[tuple[str, Any], ...]:
    # sympy's gradient at 50 digits costs a large fraction of a second: worth remembering per network
    from diffcompare.backends.symbolic import reference

    _, ref = reference(loss_function(net), tuple(net.params().values()), kind="gradient")
    return tuple(zip(PARAMETERS, list(np.asarray(ref, dtype=object).ravel())))


def step(net: Network, grads: dict[str, float]) -> Network:
    """One gradient-descent step, ``p ← p − η ∂E/∂p`` for every parameter in ``grads``."""
    unknown = set(grads) - set(PARAMETERS)
    if unknown:
        raise DiffcompareError(f"unknown parameters {sorted(unknown)}; the network has {', '.join(PARAMETERS)}")
    return net.replace(**{p: float(getattr(net, p)) - net.eta * float(g) for p, g in grads.items()})


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise DiffcompareError(f"--steps must be a whole number from 0 to {MAX_STEPS}, not {steps!r}")


def train(net: Network, steps: int, backend: str = "reverse") -> list[float]:
    """Gradient descent on the one example: ``steps + 1`` losses (before any step, then after each).

    Reverse AD is the default (that is backpropagation); any backend of :func:`gradients` works.
    """
    _check_steps(steps)
    losses = [forward(net)["loss"]]
    if backend == "reverse":  # the hot path: grad of the loss directly, no Result bookkeeping
        from diffcompare.ad.transforms import grad

        g = grad(loss_function(net), tuple(range(len(PARAMETERS))))
        for _ in range(steps):
            values = g(*net.params().values())
            net = step(net, dict(zip(PARAMETERS, (float(v) for v in values))))
            losses.append(forward(net)["loss"])
        return losses
    for _ in range(steps):
        net = step(net, gradients(net, backend))
        losses.append(forward(net)["loss"])
    return losses


@dataclass
class Backprop:
    """Everything the ``backprop`` command shows: one forward pass, every gradient, one update."""

    network: Network
    forward: dict[str, float]
    loss: float
    deltas: dict[str, float]
    backends: list[str]
    gradients: dict[str, dict[str, float]]  # parameter -> backend -> value
    reference: dict[str, Any]  # parameter -> 50-digit mpf
    errors: dict[str, dict[str, float]]  # parameter -> backend -> |value - reference|
    costs: dict[str, GradientRun]  # backend -> the run (seconds, evaluations, tape ops ...)
    updated: dict[str, float]  # parameter -> value after one step (reverse-AD gradient)
    losses: list[float] = field(default_factory=list)  # with steps: loss before and after each step


def analyse(net: Network | None = None, backends: Sequence[str] = BACKENDS, steps: int = 0) -> Backprop:
    """Forward pass, every backend's gradient with its error against the 50-digit reference, one update."""
    from diffcompare.analysis.compare import error_against

    net = net or Network()
    _check_steps(steps)
    if not backends:
        raise DiffcompareError("no backends given")
    fw = forward(net)
    runs = {b: _run(net, b) for b in backends}
    ref = reference_gradients(net)
    grads = {p: {b: runs[b].gradient[p] for b in backends} for p in PARAMETERS}
    errors = {p: {b: error_against(ref[p], grads[p][b])[0] for b in backends} for p in PARAMETERS}
    update_from = runs["reverse"].gradient if "reverse" in runs else gradients(net, "reverse")
    updated = step(net, update_from).params()
    losses = train(net, steps) if steps else []
    return Backprop(net, fw, fw["loss"], deltas(net), list(backends), grads, ref, errors, runs, updated, losses)
