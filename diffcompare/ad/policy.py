"""Which speed tricks a recording may use: one policy object, read from one place when a transform runs.

The reference policy runs the textbook engine only (:mod:`~diffcompare.ad.reverse`,
:mod:`~diffcompare.ad.forward`); the fast policy adds the fast layer (:mod:`diffcompare.ad.fast`). Both must
give the same numbers, and the tests run the same programs under each: set ``policy.DEFAULT = REFERENCE``
(one value) and every transform called afterwards takes the reference path.
"""

from __future__ import annotations

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

DEFAULT: Policy = FAST  # the one place: a transform reads it when it runs


def current() -> Policy:
    """The policy a transform called now records with."""
    return DEFAULT
