"""Every worked number of the lecture recomputed, and checked against what the slides print.

The slides' numbers live in ``data/seed_numbers.toml``, each as printed (a string: its digits are
its precision), with where it is and, for a step of hand arithmetic, the slide's own formula over
the *printed* values of earlier steps (``carried``).

The agreement rule, for a number printed with d decimals (``0.693``: d = 3; ``12``: d = 0):

1. **agree** if ``|computed - printed| <= ½·10^-d`` (the printed value is the computed one
   correctly rounded; the half unit is inclusive, and a relative slack of 1e-9 absorbs the
   binary representation of a decimal tie);
2. otherwise, if the slide's own step recomputed from its printed inputs (``carried``) agrees by
   the same rule, the step's arithmetic is right and the difference comes from upstream:
   **agree (rounded inputs)** when every input it uses agrees (the slides carried a correctly
   rounded number forward, e.g. δ_y = -0.0084 with two digits), **inherited** when an input is an
   erratum (explained by that erratum);
3. otherwise it is a slip of the slides' arithmetic: **erratum**, reported with its size both
   against the exact value and against the slide's own inputs. It is *explained* when
   ``seed_numbers.toml`` documents it (``erratum = ...``); an undocumented one, or a documented
   erratum that no longer disagrees, is *unexplained*.

Vectors are checked elementwise; printed formulas are compared with sympy (``symbolic``) or
evaluated on other entries (``formula``). Every computed value comes from our own engine (the AD tape, nested
AD, ``Recording.backward``) or, for the network, from :mod:`diffcompare.analysis.backprop`: they are computed in
:mod:`diffcompare.analysis.lecture_values`, and this module only checks them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffcompare.analysis import lecture_values

__all__ = ["Check", "Num", "Reproduction", "agrees", "half_unit", "load_seed_numbers", "reproduce"]

@dataclass(frozen=True)
class Num:
    """A value inside a note, kept as data: diffcompare.render.reproduce writes it in the trace's notation."""

    value: Any
    digits: int = 6


# A note (or a formula evaluated on our values): text with values in it, as data; render.reproduce joins it.
Parts = list[str | Num]

UNEXPLAINED = "UNEXPLAINED: not documented as an erratum"

RULE = ("agree: |ours - printed| <= half a unit of the last printed digit; 'rounded inputs': the slide's step "
        "redone from its own printed (rounded) inputs agrees, and would with any erring input corrected; "
        "'inherited': it agrees only through an upstream erratum; 'erratum': a slip of the slides' own "
        "arithmetic or text, documented in data/seed_numbers.toml")


@dataclass
class Check:
    """One printed number of the slides against ours."""

    id: str
    description: str
    where: str
    seed_value: str  # as printed
    computed: Any  # our value (float, list, or a formula's text)
    agree: bool  # to the printed precision (rule above), rounding carried forward included
    status: str  # agree | rounded inputs | inherited | erratum
    explained: bool  # agreement, or a disagreement documented as an erratum (or inherited from one)
    note: Parts = field(default_factory=list)  # why it disagrees (or why an agreement is suspicious)
    difference: Any = None  # printed - computed (numbers)
    carried: Any = None  # the slide's own step recomputed from its printed inputs
    tolerance: Any = None  # half a unit of the last printed digit


@dataclass
class Reproduction:
    """All checks, and whether every disagreement is explained."""

    checks: list[Check]
    agreed: int
    errata: int  # disagreements explained as errata (own or inherited)
    unexplained: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.unexplained == 0


# ---- the precision rule --------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?\d+(?:\.(\d*))?$")


def half_unit(printed: str) -> float:
    """Half a unit in the last printed digit: ``0.693`` -> 0.0005, ``12`` -> 0.5, ``4.`` -> 0.5."""
    m = _NUMBER.match(printed.strip())
    if m is None:
        raise ValueError(f"not a printed number: {printed!r}")
    decimals = len(m.group(1) or "")
    return 0.5 * 10.0**-decimals


def agrees(computed: float, printed: str) -> bool:
    """Whether ``printed`` is ``computed`` correctly rounded to the digits shown (ties included)."""
    tol = half_unit(printed)
    return abs(float(computed) - float(printed)) <= tol * (1 + 1e-9)


def _parse_vector(text: str) -> list[Any]:
    """``[[512., 512.], [...]]`` / ``[4.5403, 1.0000]`` -> nested lists of the printed strings."""
    text = text.strip()
    if not text.startswith("["):
        return text  # type: ignore[return-value]
    inner = text[1:-1].strip()
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += (c == "[") - (c == "]")
        cur += c
    if cur.strip():
        parts.append(cur.strip())
    return [_parse_vector(p) for p in parts]


def _flat(x: Any) -> list[Any]:
    return [y for e in x for y in _flat(e)] if isinstance(x, list) else [x]


# ---- the data ------------------------------------------------------------------------------

def load_seed_numbers() -> list[dict[str, Any]]:
    """The entries of ``data/seed_numbers.toml`` in file order."""

    from diffcompare.examples import read_toml

    return read_toml("seed_numbers.toml")["number"]


def _printed_value(entry: dict[str, Any]) -> Any:
    return float(entry["printed"]) if _NUMBER.match(entry["printed"].strip()) else None


# ---- the checks ----------------------------------------------------------------------------

def reproduce() -> Reproduction:
    """Recompute every number of ``seed_numbers.toml`` and classify each by the rule above."""
    entries = load_seed_numbers()
    computed: dict[str, Any] = {}
    computed |= lecture_values.table_values()
    computed |= lecture_values.backprop_values()
    computed |= lecture_values.lecture_code_values()
    ex2 = lecture_values.exercise2()
    computed |= {k: v for k, v in ex2.items() if k.startswith("ex2_")}
    printed = {e["id"]: _printed_value(e) for e in entries}
    corrected: dict[str, Any] = {}
    results: dict[str, Check] = {}
    checks: list[Check] = []
    swell: dict[str, Any] | None = None
    for e in entries:
        kind = e.get("kind", "number")
        if kind == "symbolic":
            swell = swell or lecture_values.swell_references()
            check = _symbolic_check(e, swell)
        elif kind == "formula":
            check = _formula_check(e, computed)
        elif e["id"] == "ex3_grad":
            check = _exercise3_check(e)
        elif e["printed"].strip().startswith("["):
            check = _vector_check(e, computed[e["id"]])
        else:
            check = _number_check(e, computed[e["id"]], printed, results, corrected)
            corrected[e["id"]] = _corrected(e, check, corrected)
        if e["id"] == "ex2_second":
            check.note = _join(check.note, ["our default API is functional: grad(f)(x) twice gives ",
                                            Num(ex2["functional"][0]), " and ", Num(ex2["functional"][1]),
                                            "; gradients add up only through Recording.backward(accumulate=True)"])
        results[e["id"]] = check
        checks.append(check)
    agreed = sum(c.agree for c in checks)
    unexplained = sum(not c.explained for c in checks)
    return Reproduction(checks, agreed, len(checks) - agreed - unexplained, unexplained, notes=[RULE])


def _join(a: Parts | str, b: Parts | str) -> Parts:
    a, b = ([a] if isinstance(a, str) else a), ([b] if isinstance(b, str) else b)
    return [*a, "; ", *b] if a else list(b)


def _corrected(e: dict[str, Any], check: Check, corrected: dict[str, Any]) -> float:
    """What the slide should have printed for this entry (see :func:`_number_check`)."""
    if check.agree:
        return float(e["printed"])
    decimals = round(-math.log10(2 * half_unit(e["printed"])))
    redo = _eval_carried(e["carried"], corrected) if e.get("carried") else float(check.computed)
    return round(redo, decimals)


def _eval_carried(text: str, printed: dict[str, Any]) -> float:
    from diffcompare.parse import compile_expression

    e = compile_expression(text)
    return float(e.function(*[printed[v] for v in e.variables]))


def _dependencies(text: str | None) -> list[str]:
    if not text:
        return []
    from diffcompare.parse import compile_expression

    return list(compile_expression(text).variables)


def _number_check(e: dict[str, Any], value: Any, printed: dict[str, Any], done: dict[str, Check],
                  corrected: dict[str, Any]) -> Check:
    """A printed number by the rule of the module docstring.

    ``corrected`` holds, for the entries checked so far, what the slides should have printed:
    the printed value where it agrees, otherwise the slide's own step redone from corrected
    inputs (or, without one, our value) rounded to the printed digits.
    """
    p = e["printed"]
    value = float(value)
    tol = half_unit(p)
    diff = float(p) - value
    documented = e.get("erratum")
    check = Check(e["id"], e["description"], e["where"], p, value, True, "agree", True,
                  difference=diff, tolerance=tol)
    carried = _eval_carried(e["carried"], printed) if e.get("carried") else None
    check.carried = carried
    if agrees(value, p):
        if documented:
            check.explained = False
            check.note = ["documented as an erratum in seed_numbers.toml, but it agrees: the data file is stale"]
        return check
    exact_note: Parts = ["exact ", Num(value, 8), f" (printed - exact = {diff:+.2g}, half unit {tol:.2g})"]
    if carried is not None and agrees(carried, p):
        deps = [done[d] for d in _dependencies(e["carried"]) if d in done]
        bad = [d for d in deps if not d.agree]
        # with the erring inputs as the slides should have printed them, is the step still right?
        if bad and agrees(_eval_carried(e["carried"], corrected), p):
            check.status = "rounded inputs"
            check.note = [*exact_note, f"; from the slide's rounded inputs {e['carried']} = ", Num(carried, 8),
                          f", which prints as {p}, and still does with {', '.join(d.id for d in bad)} corrected"]
        elif not bad:
            check.status = "rounded inputs"
            check.note = [*exact_note, f"; from the slide's own rounded inputs {e['carried']} = ",
                          Num(carried, 8), f", which prints as {p}"]
        else:
            check.agree = False
            check.status = "inherited"
            check.note = [*exact_note, f"; the step itself is right ({e['carried']} = ", Num(carried, 8),
                          f") but uses {', '.join(d.id for d in bad)}, an erratum"]
            check.explained = all(d.explained for d in bad)
        if documented:
            check.note = _join(check.note, documented)
        return check
    check.agree = False
    check.status = "erratum"
    slip: Parts = [] if carried is None else [f"; from the slide's own inputs {e['carried']} = ", Num(carried, 8),
                                              f" (printed - that = {float(p) - carried:+.2g})"]
    check.note = exact_note + slip
    if documented:
        check.note = _join(documented, check.note)
    else:
        check.explained = False
        check.note = _join(UNEXPLAINED, check.note)
    return check


def _vector_check(e: dict[str, Any], value: Any) -> Check:
    p = e["printed"]
    shape = _parse_vector(p)
    flat_p = [s.removesuffix(".") for s in _flat(shape)]  # torch prints 4. for 4
    ours = np.asarray(value, dtype=float).ravel().tolist()
    ok = len(ours) == len(flat_p) and all(agrees(v, s) for v, s in zip(ours, flat_p))
    computed = np.asarray(value, dtype=float).tolist()
    check = Check(e["id"], e["description"], e["where"], p, computed, ok, "agree" if ok else "erratum",
                  ok or bool(e.get("erratum")), tolerance=max(half_unit(s) for s in flat_p))
    if not ok:
        check.note = [e.get("erratum") or UNEXPLAINED]
    return check


def _formula_check(e: dict[str, Any], computed: dict[str, Any]) -> Check:
    """A printed formula evaluated on our values of the entries it names, against the row it defines."""
    from diffcompare.parse import compile_expression

    f = compile_expression(e["formula"])
    got = float(f.function(*[float(computed[v]) for v in f.variables]))
    want = float(computed[e["defines"]])
    ok = abs(got - want) <= 1e-12 * max(1.0, abs(want))  # exact arithmetic on small integers: only rounding
    shown: Parts = []  # the formula with our values in place of the entries' names
    names = sorted(f.variables, key=len, reverse=True)
    for piece in re.split("(" + "|".join(map(re.escape, names)) + ")", e["formula"]) if names else [e["formula"]]:
        if piece in f.variables:
            value = float(computed[piece])
            shown += ["(", Num(value), ")"] if value < 0 else [Num(value)]
        elif piece:
            shown.append(piece.replace("*", " × "))
    check = Check(e["id"], e["description"], e["where"], e["printed"],
                  [*shown, " = ", Num(got), " (the row is ", Num(want), ")"], ok,
                  "agree" if ok else "erratum", ok or bool(e.get("erratum")))
    if not ok:
        check.note = [e.get("erratum") or UNEXPLAINED]
    elif e.get("erratum"):
        check.explained = False
        check.note = ["documented as an erratum, but it agrees: the data file is stale"]
    return check


def _symbolic_check(e: dict[str, Any], refs: dict[str, Any]) -> Check:
    """A printed formula in x, read by our parser, against the sympy reference it should equal."""
    import sympy

    x = refs["x"]
    got = lecture_values.sympy_of(e["formula"], x)
    want = refs[e["equals"]]
    rest = sympy.expand(want - got)
    ok = rest == 0
    check = Check(e["id"], e["description"], e["where"], e["printed"], str(sympy.factor(want)), ok,
                  "agree" if ok else "erratum", ok or bool(e.get("erratum")))
    if not ok:
        missing = sympy.factor(rest)
        check.note = _join(e.get("erratum") or UNEXPLAINED, f"reference - printed = {missing}")
        check.difference = str(missing)
    elif e.get("erratum"):
        check.explained = False
        check.note = ["documented as an erratum, but it agrees: the data file is stale"]
    return check


def _exercise3_check(e: dict[str, Any]) -> Check:
    seed = int(e.get("seed", 6))
    ours = lecture_values.exercise3(seed)
    zero = lecture_values.exercise3(0)
    grad = np.asarray(ours["grad"])
    flat_p = [float(s.rstrip(".")) for s in _flat(_parse_vector(e["printed"]))]
    ok = grad.shape == (2, 3) and np.array_equal(grad.ravel(), np.asarray(flat_p)) and \
        bool(np.all(grad == ours["predicted"]))  # powers of two: exact in binary, so exact equality
    note: Parts = [f"the result depends on the random a: every entry is 2^k (×100 if sum(a) <= 0) with k the least "
            f"k >= 1 such that 2^k ‖a‖ >= 1000; the printed 512 = 2^9 holds only for 1000/512 <= ‖a‖ < 1000/256 "
            f"and sum(a) > 0, probability {lecture_values.exercise3_probability():.3f} for a 2×3 standard normal draw. "
            f"PyTorch's draw cannot be replayed; with numpy default_rng({seed}) ‖a‖ = {ours['norm']:.4f}, "
            f"sum = {ours['sum']:.3f}: k = {ours['k']}, our VJP gives ", Num(grad.ravel()[0]), " everywhere "
            f"({ours['tape_ops']} tape ops); with default_rng(0) ‖a‖ = {zero['norm']:.4f}: ",
            Num(np.asarray(zero["grad"]).ravel()[0]), " everywhere, as predicted (", Num(zero["predicted"]), ")"]
    return Check(e["id"], e["description"], e["where"], e["printed"], grad.tolist(), ok,
                 "agree" if ok else "erratum", ok or bool(e.get("erratum")), note=note)
