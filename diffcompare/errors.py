"""The exceptions diffcompare raises: all bad input is a ValueError subclass with a one-line message."""

from __future__ import annotations


class DiffcompareError(ValueError):
    """Bad input to diffcompare: the message names the problem in one line."""


class ParseError(DiffcompareError):
    """An expression typed by the user is not in the accepted language."""


class DomainError(DiffcompareError):
    """The function is not defined (or not finite) at the requested point."""


class NonFiniteRow(DomainError):
    """A row of the evaluation trace is not finite: carries the row, its primitive and its value; the message
    is written in the trace's notation by ``diffcompare.render.notation`` when it is shown."""

    def __init__(self, row: str, prim: str | None, n_args: int, value: object) -> None:
        super().__init__(row, prim, n_args, value)
        self.row, self.prim, self.n_args, self.value = row, prim, n_args, value

    def __str__(self) -> str:
        from diffcompare.render.notation import nonfinite_text

        return nonfinite_text(self.row, self.prim, self.n_args, self.value)


class Unsupported(DiffcompareError):
    """A backend cannot differentiate this function; the message says why."""


class Timeout(DiffcompareError):
    """A computation ran past its budget."""


class TracingError(Unsupported, TypeError):
    """The AD engine cannot differentiate f as written or called; the message says what to change.

    A TypeError too, as numpy's and JAX's refusals of a call are, so ``except TypeError`` still catches it.
    """
