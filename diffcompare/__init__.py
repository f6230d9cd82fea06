"""diffcompare: one function, differentiated by finite differences, sympy and automatic differentiation."""

from diffcompare.errors import DiffcompareError, DomainError, ParseError, Timeout, Unsupported

__version__ = "0.1.0"

__all__ = ["DiffcompareError", "DomainError", "ParseError", "Timeout", "Unsupported", "__version__"]
