"""Plain Python source from a staged program: one line per operation, in the evaluation trace's names.

The program is first simplified (:mod:`diffcompare.ad.simplify`: dead rows, common subexpressions, ``x * 1.0``,
buffers reused); here its values get Python names (recycled ``w_k`` in long programs, so floats are freed early),
each op becomes one line (:mod:`diffcompare.ad.expressions` writes its right-hand side), and the engine's
convention 0 * inf = 0 gets its nan checks. The source is ours, made from the rules table, never from user
text: compiling it is safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffcompare.ad import expressions, kinks
from diffcompare.ad.expressions import OPERATORS, Emitter, index_text
from diffcompare.ad.buffers import elementwise_ufunc, makes_fresh
from diffcompare.ad.ops import Op, walk
from diffcompare.ad.simplify import simplify
from diffcompare.ad.staging import Program, Row, Var

# ops whose result is nan wherever an argument element it depends on is nan (or that drop the element): a nan
# made by a product 0 * inf reaches the output through them, so one check of the output sees it (see generate)
_NAN_KEEPING = {"add", "sub", "mul", "times", "div", "pow", "neg", "sin", "cos", "tan", "exp", "log", "log1p",
                "expm1", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "sqrt", "abs", "square",
                "reciprocal", "sigmoid", "sech", "maximum", "minimum", "sum", "reshape", "transpose",
                "broadcast_to", "getitem", "scatter_add", "concatenate", "stack", "where", "max", "min", "prod",
                "matmul", "dot"}
# in a program of more than RECYCLE_FROM operations, a value that lives SHORT_LIVED operations or fewer (and is
# not an input or output) takes a recycled name w_k: its float is freed as soon as it is dead, not at the return
# (the logistic map's 1000-step gradient runs in 0.55x the time); shorter programs keep every trace name
RECYCLE_FROM = 200
SHORT_LIVED = 16


def py_name(trace_name: str) -> str:
    """``v_-1`` -> ``v_m1``: the evaluation trace's name as a Python identifier."""
    return trace_name.replace("-", "m")


def trace_names(n_inputs: int, n_rows: int, prefix: str = "v") -> list[str]:
    """The slides' numbering: inputs v_{1-n}..v_0, then v_1..v_l."""
    return [f"{prefix}_{i}" for i in range(1 - n_inputs, n_rows + 1)]


class NameClash(ValueError):
    """A reassigned name (a partial sum vbar_j) would be read after its reassignment: name the Vars apart."""


@dataclass
class Generated:
    """Generated source, the globals it runs with (numpy, math, constants, implementations), and the map
    from Python names to the trace's names."""

    source: str
    globals: dict[str, Any]
    names: dict[str, str]
    lines: int
    exact: Callable[[], str] | None = None  # the source with every product checked (see generate), if it differs

    @property
    def exact_source(self) -> str:
        """The program with every product checked for 0 * inf where it is made (the source when that is all)."""
        return self.source if self.exact is None else self.exact()

    def compile(self, name: str = "staged") -> Callable[..., Any]:
        scope = dict(self.globals)
        if self.exact is not None:
            def exact(*args: Any) -> Any:  # compiled at its first call: most programs never meet a nan
                fn = _compiled(self.exact(), f"{name}_exact", dict(self.globals))
                scope["_exact"] = fn
                return fn(*args)

            scope["_exact"] = exact
        return _compiled(self.source, name, scope)


def _compiled(source: str, name: str, scope: dict[str, Any]) -> Callable[..., Any]:
    code = compile(source, f"<diffcompare.jit {name}>", "exec")
    exec(code, scope)  # our own generated source (see the module docstring), never user text
    return scope[name]


def _copy(x: Any) -> Any:
    return x.copy() if x.__class__ is np.ndarray else x


def _fresh_output(o: Any, text: str, producer: dict[int, Op], same: dict[int, Var], em: Emitter) -> str:
    """An output as a new array at every call, as eagerly: never an input, a view of one, or the program's own
    constant (a caller writing into a result changed the next call's, and a pullback returned its cotangent)."""
    if isinstance(o, Var):
        while o.index in same:
            o = same[o.index]
        op = producer.get(o.index)
        if o.is_float or (op is not None and makes_fresh(op)):
            return text
        if o.shape != ():
            return f"{text}.copy()"
    else:
        return f"{text}.copy()" if o.__class__ is np.ndarray else text  # else a number: immutable
    em.globals["_copy"] = _copy  # a 0-d result may be an array or a numpy scalar
    return f"_copy({text})"


# ---- names and the convention at kinks ------------------------------------------------------------------
def _read(op: Op) -> list[Var]:
    """The Vars an op reads (an accumulation reads its target and its addend)."""
    return walk([op.accumulate[0], op.accumulate[1]]) if op.accumulate is not None else op.vars


def _allocate(ops: list[Op], output: Any, inputs: list[Var], names: dict[int, str] | None,
              same: dict[int, Var]) -> dict[int, str]:
    """Python names of the Vars: inputs, outputs and long-lived values their trace name (``v_i``, or the caller's
    ``names``); a short-lived value (SHORT_LIVED) a name ``w_k`` recycled once the value is dead, so that
    Python frees it at once (a name held to the return keeps every float of a long program alive)."""
    end = len(ops)
    last = _last_reads(ops, output, inputs, same)
    given = names is not None
    py: dict[int, str] = {}
    for v, n in zip(inputs, trace_names(len(inputs), 0) if names is None else [names[v.index] for v in inputs]):
        py[v.index] = py_name(n)
    recycle = len(ops) > RECYCLE_FROM  # a short program (what a student reads) keeps a name per value
    w = _Partials()
    dies_at = w.dies_at
    position = 0
    for k, op in enumerate(ops):
        if k in dies_at:
            w.free.extend(dies_at.pop(k))
        if op.accumulate is not None:
            continue
        position += 1
        i = op.out.index
        lives_to = last.get(i, end)
        if given and i in names:  # type: ignore[operator]
            py[i] = py_name(names[i])  # type: ignore[index]
        elif recycle and lives_to < end and (given or lives_to - k <= SHORT_LIVED):
            py[i] = w.recycled(lives_to)
        elif given:  # an unnamed output
            py[i] = w.new()
        else:
            py[i] = f"v_{position}"  # the slides' number of the row (the inputs are v_(1-n) .. v_0)
    return py


class _Partials:
    """The names ``w_k``: a new one, or one whose value is dead (``dies_at``: the names free after op k)."""

    def __init__(self) -> None:
        self.count = 0
        self.free: list[str] = []
        self.dies_at: dict[int, list[str]] = {}

    def new(self) -> str:
        self.count += 1
        return f"w_{self.count}"

    def recycled(self, lives_to: int) -> str:
        """A free name (else a new one), free again after op ``lives_to`` (its last reader may take the name)."""
        name = self.free.pop() if self.free else self.new()
        if lives_to in self.dies_at:
            self.dies_at[lives_to].append(name)
        else:
            self.dies_at[lives_to] = [name]
        return name


def _last_reads(ops: list[Op], output: Any, inputs: list[Var], same: dict[int, Var]) -> dict[int, int]:
    """Var index -> the position of the op that reads it last (len(ops) for outputs and inputs); an accumulated
    Var is read under its target's buffer."""
    end = len(ops)
    last: dict[int, int] = {}
    if same:
        for k, op in enumerate(ops):
            for v in _read(op):
                last[_root(v, same)] = k
        for v in walk(output):
            last[_root(v, same)] = end
    else:
        for k, op in enumerate(ops):
            for v in op.vars:
                last[v.index] = k
        for v in walk(output):
            last[v.index] = end
    for v in inputs:
        last[v.index] = end
    return last


def _root(v: Var, same: dict[int, Var]) -> int:
    while v.index in same:
        v = same[v.index]
    return v.index


def _tainted_outputs(ops: list[Op], output: Any) -> list[Var] | None:
    """The outputs a ``times`` product (g * d under 0 * inf = 0) may reach; None where one reaches an op that
    may drop a nan silently (a comparison): then every product is checked where it is made."""
    tainted: set[int] = set()
    for op in ops:
        if op.name == "times" and op.accumulate is None:
            tainted.add(op.out.index)
            continue
        if not tainted:
            continue
        for v in (op.vars if op.accumulate is None else _read(op)):
            if v.index in tainted:
                if op.name not in _NAN_KEEPING:
                    return None
                tainted.add(op.out.index)
                if op.accumulate is not None:
                    tainted.add(op.accumulate[0].index)
                break
    return [v for v in walk(output) if v.index in tainted]


def _size(v: Var) -> int:
    return math.prod(v.shape)


def _nan_test(v: Var, text: str) -> str:
    return f"{text} != {text}" if v.is_float or v.shape == () else f"_has_nan({text})"


def generate(program: Program, name: str = "staged", names: dict[int, str] | None = None) -> Generated:
    """The source of ``def name(inputs): ...; return outputs``. ``names``: Var index -> trace name (default:
    the slides' numbering of the inputs and of the rows written; short-lived values take recycled names w_k).

    The engine's convention 0 * inf = 0 (kinks.py) costs one check: products are written plain, and where the
    outputs hold a nan (perhaps a 0 * inf) the call is made again by the same program with every product
    checked (``_exact``, compiled at its first use). Where a product's nan could be dropped on its way to an
    output (a comparison reads it), every product is checked in the program itself.
    """
    ops, output = simplify(program)
    same: dict[int, Var] = {}  # an accumulation's result is its target's buffer, under the target's name
    for op in ops:
        if op.accumulate is not None:
            same[op.out.index] = op.accumulate[0]
    py = _allocate(ops, output, program.inputs, names, same)
    checked = _tainted_outputs(ops, output)
    has_times = any(op.name == "times" for op in ops)
    if checked and sum(_size(v) for v in checked) > 2 * sum(_size(op.out) for op in ops if op.name == "times"):
        checked = None  # the outputs hold more elements than the products: check the products where made
    em = Emitter()
    params = ", ".join(py[v.index] for v in program.inputs)
    fast_body = _body(ops, py, same, em, names, checked_products=checked is None)

    producer = {op.out.index: op for op in ops}

    def out_text(o: Any) -> str:
        if isinstance(o, (tuple, list)):
            inner = ", ".join(out_text(e) for e in o)
            if isinstance(o, list):
                return f"[{inner}]"
            return f"({inner},)" if len(o) == 1 else f"({inner})"
        return _fresh_output(o, _ref(o, py, same, em), producer, same, em)

    ret = f"    return {out_text(output)}"
    tail = []
    exact: Callable[[], str] | None = None
    if has_times and checked:
        em.globals["_has_nan"] = kinks.has_nan
        tail = ["    # a nan, from 0 * inf? rerun taking 0 * inf = 0"]
        tests: list[str] = []
        for v in checked:  # one if per line of at most ~100 characters
            test = _nan_test(v, _ref(v, py, same, em))
            if tests and len(" or ".join([*tests, test])) > 88:
                tail += [f"    if {' or '.join(tests)}:", f"        return _exact({params})"]
                tests = []
            tests.append(test)
        tail += [f"    if {' or '.join(tests)}:", f"        return _exact({params})"]

        def exact() -> str:
            lines = _body(ops, py, same, em, names, checked_products=True)
            return "\n".join([f"def {name}_exact({params}):", *lines, ret]) + "\n"

    source = "\n".join([f"def {name}({params}):", *fast_body, *tail, ret]) + "\n"
    used = {}
    trace_of = {py_name(n): n for n in names.values()} if names is not None else {}
    for text in py.values():
        used[text] = trace_of.get(text, text.replace("_m", "_-", 1) if text.startswith("v_m") else text)
    return Generated(source, em.globals, used, len(fast_body), exact)


def _ref(a: Any, py: dict[int, str], same: dict[int, Var], em: Emitter) -> str:
    if a.__class__ is Var:
        while a.index in same:
            a = same[a.index]
        return py[a.index]
    return em.constant(a)


def _body(ops: list[Op], py: dict[int, str], same: dict[int, Var], em: Emitter, names: dict[int, str] | None,
          checked_products: bool) -> list[str]:
    """One line per op (a checked product: three)."""
    def ref(a: Any) -> str:
        if a.__class__ is Var:
            while a.index in same:
                a = same[a.index]
            return py[a.index]
        return em.constant(a)

    constant = em.constant
    operators = OPERATORS
    holder: dict[str, int] = {}  # which Var each Python name holds now (a caller's name may be reassigned: vbar_j)
    body = []
    for op in ops:
        if names is not None:  # recycled names never clash; a caller's reassigned ones might
            _check_names(_read(op), py, same, holder, names)
            if op.accumulate is None:
                holder[py[op.out.index]] = op.out.index
        if op.accumulate is not None:
            target, g, idx = op.accumulate
            body.append(f"    {ref(target)}[{index_text(idx, em) or em.constant(idx)}] += {ref(g)}")
        elif op.inplace is None and op.name in operators and not op.kw and not same:
            # expression()'s text for them, without its other cases (most lines of a long program)
            texts = [py[a.index] if a.__class__ is Var else constant(a) for a in op.args]
            body.append(f"    {py[op.out.index]} = {operators[op.name].format(*texts)}")
        elif op.name == "times" and op.inplace is None and not checked_products:  # _line's, as often
            body.append(f"    {py[op.out.index]} = {ref(op.args[0])} * {ref(op.args[1])}")
        else:
            body.append(_line(op, py[op.out.index], ref, em, checked_products))
    return body


def _line(op: Op, out: str, ref: Callable[[Any], str], em: Emitter, checked_products: bool) -> str:
    """The line of an op written into an argument's buffer (out=), of a product under the convention 0 * inf = 0
    (kinks.py; checked: three lines), or of any other op."""
    if op.inplace is not None and not (op.name == "times" and checked_products):
        uf = np.multiply if op.name == "times" else elementwise_ufunc(op)
        return f"    {out} = np.{uf.__name__}({', '.join(ref(a) for a in op.args)}, out={ref(op.inplace)})"
    if op.name == "times":
        a, b = ref(op.args[0]), ref(op.args[1])
        if checked_products:
            em.globals["_zero_times_inf"], em.globals["_has_nan"] = kinks.zero_times_inf, kinks.has_nan
            return (f"    {out} = {a} * {b}\n    if {_nan_test(op.out, out)}:\n"
                    f"        {out} = _zero_times_inf({out}, {a}, {b})")
        return f"    {out} = {a} * {b}"
    return f"    {out} = {expressions.expression(Row(op.out, op.prim, tuple(op.args), op.kw), ref, em)}"


def _check_names(read: list[Var], py: dict[int, str], same: dict[int, Var], holder: dict[str, int],
                 names: dict[int, str]) -> None:
    """NameClash where a Var read is no longer what its Python name holds (a caller's name reassigned)."""
    for v in read:
        while v.index in same:
            v = same[v.index]
        if holder.get(py[v.index], v.index) != v.index:
            raise NameClash(names[v.index] if v.index in names else py[v.index])
