"""When reference counts can be trusted to say that nobody else holds an array.

Three optimisations read ``sys.getrefcount``: updating a temporary partial or adjoint in place,
and reusing buffers between gradients (:mod:`diffcompare.ad.fast.memory`). Each counts the references
it can see (its own names, the call's argument; each site says which) and treats an array with no others
as its own; tests/test_followup_guards.py, tests/test_memory.py and tests/test_ad_engine.py fail if any count
is loosened by one. A count is taken where nothing else of the caller's is on the stack: asked while a
result tuple is being built, the tuple's items count too. That holds on CPython 3.10-3.13 with the GIL,
where this was tested. CPython 3.14 may lend a local variable without counting it (borrowed references on
the stack), and free-threaded builds count differently: there a held array could look free, so all three
are switched off and every result is a new array (slower, never wrong). This is the one place: every use
reads ``refcount.REFCOUNTS_EXACT`` when it runs, so a test switches all of them off by setting this one value.
"""

import sys

REFCOUNTS_EXACT: bool = (
    sys.implementation.name == "cpython"
    and (3, 10) <= sys.version_info[:2] <= (3, 13)
    and getattr(sys, "_is_gil_enabled", lambda: True)()
)
