"""Which speed tricks a recording may use: one policy object, read from one place when a transform runs.

The reference policy runs the textbook engine only (:mod:`~diffcompare.ad.reverse`,
:mod:`~diffcompare.ad.forward`); the fast policy adds the fast layer (:mod:`diffcompare.ad.fast`). Both must
give the same numbers, and the tests run the same programs under each: set ``policy.DEFAULT = REFERENCE``
(one value) and every transform called afterwards takes the reference path.

Code that needs another policy for a while (the staging trace of ``jit`` records the textbook rows) uses
``with scoped(REFERENCE):``, which holds for the current thread (context) only: switching the global for the
duration gave another thread's eager grad the reference engine meanwhile, and two threads restoring it in the
wrong order left the whole process on the reference engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """``fast_nodes``: traced floats record their local partials directly (the scalar fast path), and arrays
    are recorded by the fast layer (which ``lean`` needs). ``lean``: rows keep only what the rules read,
    large results are deferred or computed into pooled buffers (the transforms; the evaluation trace keeps
    every value). ``scaled``: the fast reverse pass (adjoints with their constant factor kept apart,
    temporaries updated in place); rows recorded with ``fast_nodes`` need it."""

    fast_nodes: bool = True
    lean: bool = True
    scaled: bool = True

    def __post_init__(self) -> None:
        if self.lean and not self.fast_nodes:
            raise ValueError("a lean tape is recorded by the fast layer: lean needs fast_nodes")
        if self.fast_nodes and not self.scaled:
            raise ValueError("rows of the fast layer (scalar partials, deferred values) need its reverse pass")


REFERENCE = Policy(fast_nodes=False, lean=False, scaled=False)
FAST = Policy()

DEFAULT: Policy = FAST  # the one place: a transform reads it when it runs (unless a scope says otherwise)

_SCOPED: ContextVar[Policy | None] = ContextVar("diffcompare_policy", default=None)  # a new thread starts unset


def current() -> Policy:
    """The policy a transform called now records with: the innermost ``scoped`` one of this thread, else DEFAULT."""
    scoped_policy = _SCOPED.get()
    return DEFAULT if scoped_policy is None else scoped_policy


@contextmanager
def scoped(policy: Policy) -> Iterator[Policy]:
    """``policy`` for the transforms this thread calls inside the block; other threads and DEFAULT are untouched."""
    token = _SCOPED.set(policy)
    try:
        yield policy
    finally:
        _SCOPED.reset(token)
