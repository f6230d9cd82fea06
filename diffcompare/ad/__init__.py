"""diffcompare's own automatic differentiation engine (reverse and forward mode).

A reader's map: :mod:`~diffcompare.ad.tracer` (primitives, boxes, trace levels), :mod:`~diffcompare.ad.rules`
(the table: one statement per primitive), :mod:`~diffcompare.ad.numpy_api` (numpy on traced values),
:mod:`~diffcompare.ad.reverse` and :mod:`~diffcompare.ad.forward` (the reference modes),
:mod:`~diffcompare.ad.recording` (one reverse-mode run and its pullback) and :mod:`~diffcompare.ad.transforms`
(grad, jacrev, ...). The fast layer (:mod:`~diffcompare.ad.fast`) sits
beside them, switched by :mod:`~diffcompare.ad.policy`. Names are imported on first use, so that importing
one module of the engine (the parser reads the table) does not load the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Box": "tracer", "Primitive": "tracer", "raw": "tracer",
    "FNode": "forward", "push_forward": "forward",
    "RNode": "reverse", "pull_back": "reverse",
    "jit": "jitting", "logsumexp": "rules", "sigmoid": "rules", "softmax": "rules",
    "Recording": "recording", "record": "recording", "tape_size": "recording",
    **{name: "transforms" for name in ("derivative", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp",
                                        "value_and_grad", "vjp")},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'diffcompare.ad' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"diffcompare.ad.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
