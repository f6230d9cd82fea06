"""The safe expression parser: command-line text -> a plain Python function over numpy.

``"x1*x2 + x2 - log(x1)"`` is parsed with ``ast.parse(text, mode="eval")``, checked against a whitelist of
nodes and names, and compiled into nested closures (never ``eval``/``exec``/``compile``/``sympify`` of user
text). Function calls go through numpy (``np.sin`` ...), operators through Python operators, so the same
callable runs on floats, numpy arrays and any object implementing ``__array_ufunc__``.

The same text compiles to other libraries too (``Expression.compile_for("jax")``, also ``"torch"`` and
``"autograd"``; :mod:`diffcompare.namespaces`): same whitelist, same variables, same numpy-folded constants,
only the functions called differ. The numpy function carries ``compile_for`` itself, so a peer backend
given only ``f`` finds its own version of it.

Limits (each refused at once with a one-line :class:`ParseError`): text longer than ``MAX_LENGTH``
characters; nesting deeper than ``MAX_DEPTH`` levels (a left-associative chain such as ``a + b - c * d``
counts as one level, so long sums are fine); a power whose exponent is a constant with ``|value| >
MAX_EXPONENT``; any constant sub-expression that is not finite (``1/0``, ``exp(1000)``, ``1e400``).
Integer literals become floats, so no evaluation ever does big-integer arithmetic.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.errors import ParseError
from diffcompare.ad.rules import parser_names
from diffcompare.functions import complex_safe_abs, sigmoid

__all__ = [
    "ALIASES",
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "Expression",
    "compile_expression",
    "parse_constant",
    "parse_point",
]

MAX_LENGTH = 2000
MAX_DEPTH = 64
MAX_EXPONENT = 1000.0

#: Allowed functions: name -> one-argument callable built from numpy calls. The names come from the AD engine's
#: rules table (its ``parse=`` names), so that a primitive added there is a function here; sigmoid and abs have
#: forms of their own that every backend can run (the complex step, sympy values).
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    name: {"sigmoid": sigmoid, "abs": complex_safe_abs}.get(name, ufunc) for name, ufunc in parser_names().items()
}

#: Other spellings of allowed functions: ``trace`` and ``graph`` write the natural logarithm ``ln(...)``,
#: so their output reads back in. Resolved by name; not separate entries of :data:`FUNCTIONS`.
ALIASES: dict[str, str] = {"ln": "log"}

#: Named constants.
CONSTANTS: dict[str, float] = {"pi": float(np.pi), "e": float(np.e)}

_VARIABLE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}

_NODE_NAMES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "lambda",
    ast.IfExp: "conditional expressions",
    ast.Tuple: "tuples",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Starred: "starred arguments",
    ast.NamedExpr: "assignment expressions",
    ast.JoinedStr: "strings",
    ast.Slice: "slices",
}


def _show(text: str, limit: int = 40) -> str:
    """A one-line, shortened rendering of user text for an error message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``function(*values)`` with values in the order of ``variables``."""

    text: str
    variables: tuple[str, ...]
    function: Callable[..., Any]

    def __call__(self, *values: Any) -> Any:
        return self.function(*values)

    def compile_for(self, namespace: str) -> Callable[..., Any]:
        """The same expression calling another library's functions: ``"numpy"``, ``"jax"``, ``"torch"``,
        ``"autograd"`` (see :mod:`diffcompare.namespaces`).

        The text is parsed again under the same whitelist (no ``eval``), with the same variables in the same
        order and the same folded float64 constants; only the functions called differ. Compiled once per
        namespace, then cached.
        """
        if namespace == "numpy":
            return self.function
        return _compile_for(self.text, self.variables, namespace)


_Node = Callable[[tuple], Any]


class _Compiler:
    """Validates an ``ast`` tree and compiles it into closures ``node(args) -> value``."""

    def __init__(self, text: str, index: dict[str, int], declared: Sequence[str] | None,
                 undeclared_message: Callable[[str], str],
                 functions: dict[str, Callable[[Any], Any]] | None = None) -> None:
        self.text = text
        self.index = index
        self.declared = declared
        self.undeclared_message = undeclared_message
        # the library the compiled closures call (numpy's FUNCTIONS unless compiling for a peer);
        # constants are folded with numpy in every case, so every library sees the same float64 constants
        self.functions = FUNCTIONS if functions is None else functions

    def snippet(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node)
        return _show(segment if segment is not None else type(node).__name__)

    def constant(self, node: ast.AST, compute: Callable[[], Any]) -> tuple[_Node, float]:
        """Evaluate a constant sub-expression once with numpy float64 semantics; refuse non-finite."""
        try:
            with np.errstate(all="ignore"):
                value = compute()
            value = float(value)
        except (ArithmeticError, ValueError, TypeError):
            value = math.nan
        if not math.isfinite(value):
            raise ParseError(f"constant sub-expression '{self.snippet(node)}' is not finite")
        return (lambda args, v=value: v), value

    def build(self, node: ast.AST, depth: int) -> tuple[_Node, float | None]:
        """Compile ``node``; return its closure and its value if it is constant (no variables)."""
        if depth > MAX_DEPTH:
            raise ParseError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.BinOp):
            return self.chain(node, depth)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ParseError(f"operator in '{self.snippet(node)}' is not allowed; use + - * / **")
            operand, value = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return operand, value
            if value is not None:
                return self.constant(node, lambda: -np.float64(value))
            return (lambda args: -operand(args)), None
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                kind = "strings are" if isinstance(node.value, (str, bytes)) else f"the literal {node.value!r} is"
                raise ParseError(f"{kind} not allowed in an expression; only real numbers")
            return self.constant(node, lambda: np.float64(float(node.value)))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Attribute):
            self.module_prefix(node)
        what = _NODE_NAMES.get(type(node), f"'{type(node).__name__}'")
        raise ParseError(f"{what} not allowed: '{self.snippet(node)}'")

    def name(self, node: ast.Name) -> tuple[_Node, float | None]:
        name = node.id
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return (lambda args, v=value: v), value
        if _is_function(name):
            raise ParseError(f"'{name}' is a function; call it as {name}(...)")
        if not _VARIABLE_RE.match(name):
            raise ParseError(f"'{_show(name)}' is not a valid variable name (letters, digits, '_'; "
                             "starting with a letter)")
        if self.declared is not None and name not in self.declared:
            raise ParseError(self.undeclared_message(name))
        i = self.index[name]
        return (lambda args: args[i]), None

    def module_prefix(self, node: ast.Attribute) -> None:
        """``np.sin``, ``math.log``: the built-in name without its module is what is meant."""
        if isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy", "math") and _is_function(node.attr):
            raise ParseError(f"'{self.snippet(node)}': write {node.attr}(...) (functions are built in, "
                             "without a module)")

    def call(self, node: ast.Call, depth: int) -> tuple[_Node, float | None]:
        if isinstance(node.func, ast.Constant) and len(node.args) == 1 and not node.keywords:
            snippet = self.snippet(node)  # 2(x + 1): a product without its '*'
            raise ParseError(f"'{snippet}' calls a number: write {self.snippet(node.func)}*"
                             f"({self.snippet(node.args[0])}) (a product needs '*')")
        if isinstance(node.func, ast.Attribute):
            self.module_prefix(node.func)
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"only named functions can be called: '{self.snippet(node)}'")
        fname = ALIASES.get(node.func.id, node.func.id)
        if fname not in FUNCTIONS:
            if fname in CONSTANTS:
                raise ParseError(f"'{fname}' is a constant, not a function")
            raise ParseError(_unknown_function(fname))
        if node.keywords:
            raise ParseError(f"{fname}() takes positional arguments only")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ParseError(f"starred arguments not allowed: '{self.snippet(node)}'")
        if len(node.args) != 1:
            raise ParseError(f"{fname}() takes exactly 1 argument ({len(node.args)} given)")
        fold = FUNCTIONS[fname]
        fn = self.functions[fname]
        arg, value = self.build(node.args[0], depth + 1)
        if value is not None:
            return self.constant(node, lambda: fold(np.float64(value)))
        return (lambda args: fn(arg(args))), None

    def chain(self, node: ast.BinOp, depth: int) -> tuple[_Node, float | None]:
        """Compile the left spine ``((a op b) op c) op d`` iteratively, as one nesting level."""
        spine: list[ast.BinOp] = []
        cur: ast.AST = node
        while isinstance(cur, ast.BinOp):
            spine.append(cur)
            cur = cur.left
        spine.reverse()  # innermost (leftmost) operation first
        acc, acc_value = self.build(cur, depth + 1)
        steps: list[tuple[Callable[[Any, Any], Any], _Node]] = []
        for binop in spine:
            op = _BINOPS.get(type(binop.op))
            if isinstance(binop.op, ast.BitXor):
                raise ParseError(f"'^' in '{self.snippet(binop)}' is not a power: write "
                                 f"{self.snippet(binop.left)}**{self.snippet(binop.right)}")
            if op is None:
                raise ParseError(f"operator in '{self.snippet(binop)}' is not allowed; use + - * / **")
            right, right_value = self.build(binop.right, depth + 1)
            if isinstance(binop.op, ast.Pow) and right_value is not None and abs(right_value) > MAX_EXPONENT:
                raise ParseError(f"exponent {right_value:g} in '{self.snippet(binop)}' is too large "
                                 f"(|exponent| must be <= {MAX_EXPONENT:g})")
            if acc_value is not None and right_value is not None and not steps:
                # Fold a constant prefix once; numpy float64 semantics, never big-int arithmetic.
                left_value = acc_value
                acc, acc_value = self.constant(
                    binop, lambda op=op, a=left_value, b=right_value: op(np.float64(a), np.float64(b)))
            else:
                acc_value = None
                steps.append((op, right))
        if not steps:
            return acc, acc_value
        base = acc
        if len(steps) == 1:
            (op, right), = steps
            return (lambda args: op(base(args), right(args))), None
        frozen = tuple(steps)

        def run(args: tuple) -> Any:
            value = base(args)
            for step_op, step in frozen:
                value = step_op(value, step(args))
            return value

        return run, None


def _parse_tree(text: str) -> ast.Expression:
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    if not text.strip():
        raise ParseError("empty expression")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        product = _missing_star(text.strip())
        if product is not None:
            raise ParseError(product) from None
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ParseError(f"invalid expression{where}: {_show(str(exc.msg), 80)}") from None
    except (RecursionError, MemoryError):
        raise ParseError("expression is too complex to parse (nested too deeply)") from None
    except ValueError as exc:  # e.g. null bytes on older Pythons
        raise ParseError(f"invalid expression: {_show(str(exc), 80)}") from None


# a number written against a name or a parenthesis: 2x, 3.5y, 1e-3x, 2sin(x)
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_THEN_NAME = re.compile(rf"(?<![\w.])({_NUMBER})([A-Za-z_(])(\w*)")
# two operands side by side: x y, 2 x, (x+1) y (keywords such as 'if', 'for' are left to Python's error)
_SIDE_BY_SIDE = re.compile(rf"((?<![\w.])[A-Za-z_]\w*|(?<![\w.]){_NUMBER}|\))\s+([A-Za-z_]\w*|{_NUMBER})")
_KEYWORDS = {"if", "else", "for", "in", "and", "or", "not", "is", "lambda", "import", "from", "as", "with",
             "while", "def", "return", "yield", "await", "async", "del", "pass", "None", "True", "False"}


def _missing_star(text: str) -> str | None:
    """The hint for text Python cannot parse because a product lacks its '*': ``2x`` -> write 2*x."""
    m = _NUMBER_THEN_NAME.search(text)
    if m:
        number, rest = m.group(1), m.group(2) + m.group(3)
        return f"'{_show(number + rest)}' is not a number: write {_show(number)}*{_show(rest)} (a product needs '*')"
    for m in _SIDE_BY_SIDE.finditer(text):
        a, b = m.group(1), m.group(2)
        if a in _KEYWORDS or b in _KEYWORDS:
            continue
        if _is_function(a):
            return f"missing parentheses: write {a}({_show(b)})"
        if a == ")":
            return f"missing operator between ')' and '{_show(b)}': write )*{_show(b)} for a product"
        return f"missing operator between '{_show(a)}' and '{_show(b)}': write {_show(a)}*{_show(b)} for a product"
    return None


def _is_function(name: str) -> bool:
    return name in FUNCTIONS or name in ALIASES


def _unknown_function(name: str) -> str:
    """Refusal of an unknown function, with the nearest allowed name when one is close (Sin -> sin)."""
    import difflib

    known = [*FUNCTIONS, *ALIASES]
    close = [k for k in known if k.lower() == name.lower()] or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown function '{_show(name)}'; did you mean '{close[0]}'?"
    also = ", ".join(f"{alias} for {name}" for alias, name in ALIASES.items())
    return f"unknown function '{_show(name)}'; allowed: {', '.join(FUNCTIONS)} (and {also})"


def _variables_in_order(tree: ast.Expression) -> list[str]:
    """Candidate variable names in order of first appearance in the text."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [n for n in ast.walk(tree)
             if isinstance(n, ast.Name) and id(n) not in called
             and not _is_function(n.id) and n.id not in CONSTANTS]
    names.sort(key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def _make_function(text: str, variables: tuple[str, ...], root: _Node) -> Callable[..., Any]:
    n = len(variables)
    params = [inspect.Parameter(v, inspect.Parameter.POSITIONAL_OR_KEYWORD) for v in variables]
    signature = inspect.Signature(params)

    def function(*values: Any, **named: Any) -> Any:
        if named:
            values = tuple(signature.bind(*values, **named).arguments[v] for v in variables)
        elif len(values) != n:
            raise TypeError(f"{text!r} takes {n} argument{'s' if n != 1 else ''} "
                            f"({', '.join(variables)}), {len(values)} given")
        return root(values)

    label = _show(text, 80)
    function.__name__ = label
    function.__qualname__ = label
    function.__doc__ = f"f({', '.join(variables)}) = {label}"
    function.__signature__ = signature  # type: ignore[attr-defined]
    return function


@functools.lru_cache(maxsize=256)
def _compile_for(text: str, variables: tuple[str, ...], namespace: str) -> Callable[..., Any]:
    from diffcompare.namespaces import load

    functions = load(namespace).functions
    tree = _parse_tree(text)
    index = {name: i for i, name in enumerate(variables)}
    root, _ = _Compiler(text, index, variables, lambda name: f"variable '{name}' is not declared",
                        functions).build(tree.body, 1)
    function = _make_function(text, variables, root)
    function.namespace = namespace  # type: ignore[attr-defined]
    function.reduce_by_text = (_compile_for, (text, variables, namespace))  # type: ignore[attr-defined]
    return function


def _compile(text: str, variables: Sequence[str] | None,
             undeclared_message: Callable[[str], str]) -> Expression:
    tree = _parse_tree(text)
    if variables is not None:
        if isinstance(variables, str):
            raise TypeError("variables must be a sequence of names, not a str")
        declared = tuple(variables)
        for v in declared:
            if _is_function(v) or v in CONSTANTS:
                raise ParseError(f"'{v}' cannot be a variable: it is a built-in "
                                 f"{'function' if _is_function(v) else 'constant'}")
            if not isinstance(v, str) or not _VARIABLE_RE.match(v):
                raise ParseError(f"'{_show(str(v))}' is not a valid variable name")
        if len(set(declared)) != len(declared):
            raise ParseError(f"a variable is listed twice: {', '.join(declared)}")
        order = declared
    else:
        declared = None
        order = tuple(_variables_in_order(tree))
    index = {name: i for i, name in enumerate(order)}
    root, _ = _Compiler(text, index, declared, undeclared_message).build(tree.body, 1)
    expression = Expression(text=text.strip(), variables=order, function=_make_function(text.strip(), order, root))
    # the function carries its way into other libraries: a peer backend given only f finds it here
    expression.function.compile_for = expression.compile_for  # type: ignore[attr-defined]
    expression.function.expression = expression  # type: ignore[attr-defined]
    # a closure does not pickle: a worker process (diffcompare.budget) gets the text and parses it again
    expression.function.reduce_by_text = (_function_of, (expression.text, order))  # type: ignore[attr-defined]
    return expression


def _function_of(text: str, variables: tuple[str, ...]) -> Callable[..., Any]:
    """The function of ``text`` parsed with ``variables`` in that order: a parsed function unpickled."""
    return compile_expression(text, variables).function


def compile_expression(text: str, variables: Sequence[str] | None = None) -> Expression:
    """Parse and compile ``text`` into an :class:`Expression`.

    Variables are ordered by first appearance in the text, or as given by ``variables`` (then every name
    used must be listed; listed but unused names are allowed). Raises :class:`ParseError` (one line).
    """
    def message(name: str) -> str:
        listed = ", ".join(variables or ()) or "(none)"
        return f"variable '{name}' is not in --vars ({listed})"

    return _compile(text, variables, message)


def parse_constant(text: str) -> float:
    """Evaluate a constant expression such as ``"pi/3"``, ``"-4"``, ``"1e-3"`` or ``"2*pi"``."""
    expr = _compile(text, (), lambda name: f"'{name}' is not allowed here: a constant (number) is expected")
    return float(expr.function())


def parse_point(text: str, variables: Sequence[str]) -> tuple[float, ...]:
    """Parse ``"x1=3,x2=-4"`` into values ordered by ``variables``.

    A bare value (``"2"``, ``"pi/3"``) is accepted when there is exactly one variable. Each value is a
    constant expression (see :func:`parse_constant`) and must be finite.
    """
    variables = tuple(variables)
    if not isinstance(text, str):
        raise TypeError(f"point must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"--at is too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    if not text.strip():
        raise ParseError("empty --at; expected name=value items such as x1=3,x2=-4")
    if "=" not in text:
        if len(variables) == 1:
            return (_point_value(text, variables[0]),)
        raise ParseError(f"--at needs name=value items for {len(variables)} variables "
                         f"({', '.join(variables) or 'none'}), e.g. "
                         f"{','.join(f'{v}=1' for v in variables) or 'x=1'}")
    values: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            raise ParseError(f"empty item in --at '{_show(text)}'")
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or "=" in value or not _VARIABLE_RE.match(name):
            raise ParseError(f"malformed item '{_show(item.strip())}' in --at; expected name=value")
        if name in values:
            raise ParseError(f"{name} is given twice in --at")
        if name not in variables:
            raise ParseError(f"{name} is not a variable of the expression; variables: "
                             f"{', '.join(variables) or '(none)'}")
        values[name] = _point_value(value, name)
    for v in variables:
        if v not in values:
            raise ParseError(f"missing value for {v} in --at")
    return tuple(values[v] for v in variables)


def _point_value(text: str, name: str) -> float:
    if not text.strip():
        raise ParseError(f"missing number after '{name}=' in --at")
    try:
        return parse_constant(text)
    except ParseError as exc:
        raise ParseError(f"malformed number '{_show(text.strip())}' for {name} in --at: {exc}") from None
