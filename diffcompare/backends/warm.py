"""Imported by the budget's fork server (:mod:`diffcompare.budget`): sympy, mpmath and the parts of sympy that
``diff`` and ``count_ops`` load lazily, once, so that every worker forked from the server starts warm."""

from diffcompare.backends.symbolic import _warm_up

_warm_up()
