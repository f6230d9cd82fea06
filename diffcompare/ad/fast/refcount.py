"""When reference counts can be trusted to say that nobody else holds an array.

Three optimisations read ``sys.getrefcount``: updating a temporary partial or adjoint in place,
and reusing buffers between gradients (:mod:`diffcompare.ad.memory`). Each counts the references
it can see (its own names, the call's argument) and treats an array with no others as its own. That
holds on CPython 3.10-3.13 with the GIL, where this was tested. CPython 3.14 may lend a local
variable without counting it (borrowed references on the stack), and free-threaded builds count
differently: there a held array could look free, so all three are switched off and every result
is a new array (slower, never wrong).
"""

import sys

REFCOUNTS_EXACT: bool = (
    sys.implementation.name == "cpython"
    and (3, 10) <= sys.version_info[:2] <= (3, 13)
    and getattr(sys, "_is_gil_enabled", lambda: True)()
)
