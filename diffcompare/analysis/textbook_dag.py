"""Expressions in x as a hash-consed DAG, differentiated by the textbook rules (swell's column (i)).

Every distinct subexpression is one node, stored once, and the derivative of a shared node is
computed once (memoised). The rules are the sum, difference, constant-factor and product rules,
applied literally: nothing is simplified, no constant is folded, nothing is distributed. The only
things not written are what a person applying the rules by hand does not write either: a factor 1
(d/dx x = 1), a term 0 (d/dx 4 = 0), and ``a + (-b)`` is written ``a - b``. Node ids are a
topological order, so every per-node computation is one loop: no recursion, any depth.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ADD", "CONST", "MUL", "NEG", "SUB", "TEXT_LIMIT", "X", "Dag"]

TEXT_LIMIT = 4000  # characters of a printed expression kept

# node kinds of the DAG
X, CONST, ADD, SUB, MUL, NEG = "x", "const", "+", "-", "*", "neg"
_LEAVES = (X, CONST)


class Dag:
    """Hash-consed expressions in x: each distinct subexpression is stored once.

    A node is ``(kind, payload)``: ``("x", ())``, ``("const", value)``, or an operation with the
    ids of its arguments. Arguments are always created before the node that uses them, so node
    ids are a topological order: every per-node computation below is one loop, no recursion.
    """

    def __init__(self) -> None:
        self.nodes: list[tuple[str, Any]] = []
        self._ids: dict[tuple[str, Any], int] = {}
        self._tree: list[int] = []  # tree size of every node, filled in id order
        self._derivative: dict[int, int] = {}
        self.x = self._node(X, ())

    def _node(self, kind: str, payload: Any) -> int:
        key = (kind, payload)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.nodes)
            self.nodes.append(key)
        return found

    def const(self, value: int) -> int:
        return self._node(CONST, value)

    def add(self, a: int, b: int) -> int:
        return self._node(ADD, (a, b))

    def sub(self, a: int, b: int) -> int:
        return self._node(SUB, (a, b))

    def mul(self, a: int, b: int) -> int:
        return self._node(MUL, (a, b))

    def neg(self, a: int) -> int:
        return self._node(NEG, (a,))

    def kind(self, node: int) -> str:
        return self.nodes[node][0]

    def args(self, node: int) -> tuple[int, ...]:
        kind, payload = self.nodes[node]
        return () if kind in _LEAVES else payload

    def is_const(self, node: int, value: int | None = None) -> bool:
        kind, payload = self.nodes[node]
        return kind == CONST and (value is None or payload == value)

    # -- sizes -------------------------------------------------------------------------------

    def reachable(self, root: int) -> list[int]:
        """The distinct subexpressions of ``root`` (its DAG), in topological (id) order."""
        seen = {root}
        stack = [root]
        while stack:
            for a in self.args(stack.pop()):
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return sorted(seen)

    def tree_size(self, root: int) -> int:
        """Nodes of ``root`` written out as a tree (every occurrence counts), by memoisation."""
        tree = self._tree
        for node in range(len(tree), root + 1):
            tree.append(1 + sum(tree[a] for a in self.args(node)))
        return tree[root]

    def tree_leaves(self, root: int) -> int:
        """Leaves (occurrences of x and of constants) of ``root`` written out as a tree."""
        leaves: dict[int, int] = {}
        for node in self.reachable(root):
            args = self.args(node)
            leaves[node] = sum(leaves[a] for a in args) if args else 1
        return leaves[root]

    def dag_size(self, root: int) -> int:
        """Distinct subexpressions of ``root`` (nodes of its DAG)."""
        return len(self.reachable(root))

    def dag_leaves(self, root: int) -> int:
        return sum(1 for n in self.reachable(root) if self.kind(n) in _LEAVES)

    # -- the textbook rules --------------------------------------------------------------------

    def derivative(self, root: int) -> int:
        """d/dx of ``root`` by the textbook rules, memoised on shared subexpressions."""
        d = self._derivative
        for node in self.reachable(root):
            if node not in d:
                d[node] = self._rule(node, d)
        return d[root]

    def _rule(self, node: int, d: dict[int, int]) -> int:
        kind, payload = self.nodes[node]
        zero, one = self.const(0), self.const(1)
        if kind == X:
            return one
        if kind == CONST:
            return zero
        if kind == NEG:
            (a,) = payload
            return zero if d[a] == zero else self.neg(d[a])
        a, b = payload
        da, db = d[a], d[b]
        if kind in (ADD, SUB):  # sum and difference rules
            if db == zero:
                return da
            if da == zero:
                return db if kind == ADD else self.neg(db)
            return self.add(da, db) if kind == ADD else self.sub(da, db)
        # product rule (d(c f) = c f' when c is a constant, since d c = 0): f' g + f g'
        left = None if da == zero else self._times(da, b)
        right = None if db == zero else self._times(a, db)
        if left is None and right is None:
            return zero
        if right is None:
            return left
        if left is None:
            return right
        if self.kind(db) == NEG:  # f' g + f (-u) is written f' g - f u
            return self.sub(left, self._times(a, self.args(db)[0]))
        return self.add(left, right)

    def _times(self, a: int, b: int) -> int:
        """a b, not writing a factor 1 (as one does by hand: d/dx (4x) = 4, not 4 * 1)."""
        if self.is_const(a, 1):
            return b
        if self.is_const(b, 1):
            return a
        if self.kind(a) == NEG and self.is_const(self.args(a)[0], 1):
            return self.neg(b)
        if self.kind(b) == NEG and self.is_const(self.args(b)[0], 1):
            return self.neg(a)
        return self.mul(a, b)

    # -- other views ------------------------------------------------------------------------------

    def evaluate(self, root: int, x: Any) -> Any:
        """The value at ``x`` (any number type: Fraction gives exact results), in one pass."""
        value: dict[int, Any] = {}
        for node in self.reachable(root):
            kind, payload = self.nodes[node]
            if kind == X:
                value[node] = x
            elif kind == CONST:
                value[node] = payload
            elif kind == NEG:
                value[node] = -value[payload[0]]
            else:
                a, b = value[payload[0]], value[payload[1]]
                value[node] = a + b if kind == ADD else a - b if kind == SUB else a * b
        return value[root]

    def to_sympy(self, root: int, symbol: Any, evaluate: bool = False) -> Any:
        """The expression as sympy, built once per DAG node (shared subexpressions stay shared).

        With ``evaluate=False`` sympy keeps the textbook structure (no flattening, no distributing).
        """
        import sympy

        expr: dict[int, Any] = {}
        for node in self.reachable(root):
            kind, payload = self.nodes[node]
            if kind == X:
                expr[node] = symbol
            elif kind == CONST:
                expr[node] = sympy.Integer(payload)
            elif kind == NEG:
                expr[node] = sympy.Mul(sympy.S.NegativeOne, expr[payload[0]], evaluate=evaluate)
            else:
                a, b = expr[payload[0]], expr[payload[1]]
                if kind == ADD:
                    expr[node] = sympy.Add(a, b, evaluate=evaluate)
                elif kind == SUB:
                    expr[node] = sympy.Add(a, sympy.Mul(sympy.S.NegativeOne, b, evaluate=evaluate),
                                           evaluate=evaluate)
                else:
                    expr[node] = sympy.Mul(a, b, evaluate=evaluate)
        return expr[root]

    def to_text(self, root: int, limit: int = TEXT_LIMIT) -> str | None:
        """The expression as the lecture writes it (``4(1 - x) - 4x``); None past ``limit`` characters."""
        if self.tree_size(root) > limit:  # a tree of that many nodes cannot print shorter
            return None
        text: dict[int, tuple[str, int]] = {}  # node -> (text, precedence)
        for node in self.reachable(root):
            kind, payload = self.nodes[node]
            if kind == X:
                text[node] = ("x", 9)
            elif kind == CONST:
                text[node] = (str(payload), 9)
            elif kind == NEG:
                text[node] = ("-" + _wrap(text[payload[0]], 3), 2)
            elif kind in (ADD, SUB):
                a, b = text[payload[0]], text[payload[1]]
                text[node] = (f"{_wrap(a, 1)} {'+' if kind == ADD else '-'} {_wrap(b, 2)}", 1)
            else:
                a, b = _wrap(text[payload[0]], 3), _wrap(text[payload[1]], 3)
                sep = "·" if b[:1].isdigit() or b[:1] == "-" else ""
                text[node] = (a + sep + b, 3)
        return text[root][0]


def _wrap(item: tuple[str, int], at_least: int) -> str:
    s, precedence = item
    return s if precedence >= at_least else f"({s})"
