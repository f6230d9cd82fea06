"""The primitives by their old module name, kept for code written against it (other branches in flight):
the table is :mod:`diffcompare.ad.rules`, numpy's dispatch :mod:`diffcompare.ad.numpy_api`."""

from diffcompare.ad.numpy_api import FUNCTIONS, UFUNCS, dispatch_function, dispatch_ufunc  # noqa: F401
from diffcompare.ad.rules import *  # noqa: F401, F403
from diffcompare.ad.rules import RULES, unbroadcast  # noqa: F401
from diffcompare.ad.tracer import Primitive, raw  # noqa: F401
