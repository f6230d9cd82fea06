"""The exceptions diffcompare raises: all bad input is a ValueError subclass with a one-line message."""

from __future__ import annotations


class DiffcompareError(ValueError):
    """Bad input to diffcompare: the message names the problem in one line."""


class ParseError(DiffcompareError):
    """An expression typed by the user is not in the accepted language."""


class DomainError(DiffcompareError):
    """The function is not defined (or not finite) at the requested point."""


class Unsupported(DiffcompareError):
    """A backend cannot differentiate this function; the message says why."""


class Timeout(DiffcompareError):
    """A computation ran past its budget."""


class TracingError(Unsupported, TypeError):
    """The AD engine cannot differentiate f as written or called; the message says what to change.

    A TypeError too, as numpy's and JAX's refusals of a call are, so ``except TypeError`` still catches it.
    """
