"""``jit(f)``: trace f once per signature into a program of primitives, generate Python source, compile, reuse.

The cache key of a call is, per argument: its kind, shape and dtype (arrays, numpy scalars, Python floats and
ints), or its value for the ``static_argnums`` (which must be hashable): an entry never serves a call whose
shapes, dtypes or static arguments differ. As in JAX, arrays f closes over are constants of the program (their
values at the first call), and keyword arguments are static.

Under another transform (``grad(jit(f))``, or a jitted function called inside a function being differentiated),
the jitted function is f itself, run in that transform's trace: the derivative is the same, and the outer
transform may be jitted in its turn.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad.codegen import Generated, generate
from diffcompare.ad.staging import Program, stage
from diffcompare.ad.tracer import Box, depth, gc_pause
from diffcompare.errors import TracingError


class JitWarning(UserWarning):
    """A jitted call ran eagerly (its program would be right only at the traced values)."""


def _signature_part(i: int, x: Any) -> Hashable:
    if x.__class__ is float:
        return ("float",)
    if x.__class__ is int:
        return ("int",)
    if isinstance(x, np.ndarray):
        return ("array", x.shape, x.dtype.str)
    if isinstance(x, (np.floating, np.integer, np.complexfloating)):
        return ("scalar", np.dtype(type(x)).str)
    if x.__class__ is complex:
        return ("complex",)
    raise TracingError(f"jit: argument {i} is a {type(x).__name__} ({x!r:.40}); jit traces numbers and numpy "
                       "arrays: pass an array (np.asarray), or name it in static_argnums")


def _nones(args: Sequence[Any]) -> set[int]:
    """None arguments are static (in JAX, a pytree without leaves): ``pullback(None)``, an optional weight."""
    return {i for i, a in enumerate(args) if a is None}


_MISSING = object()


def _fast_key(args: Sequence[Any]) -> Hashable | None:
    """The signature of exact floats, ints and ndarrays as (shape, dtype) and classes; None for anything else."""
    parts = []
    for a in args:
        c = a.__class__
        if c is np.ndarray:
            parts.append((a.shape, a.dtype))
        elif c is float or c is int:
            parts.append(c)
        else:
            return None
    return tuple(parts)


class Jitted:
    """A jitted function: call it as f; ``source`` is the generated code of the last traced signature."""

    def __init__(self, f: Callable[..., Any], static_argnums: int | Sequence[int] = ()) -> None:
        self.f = f
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.cache: dict[Hashable, tuple[Callable[..., Any] | None, Generated]] = {}  # None: runs eagerly
        self.fast: dict[Hashable, Callable[..., Any] | None] = {}  # the same entries by _fast_key
        self.traces = 0  # how many times f was traced (a test counts the cache's misses with it)
        self.last: Generated | None = None
        self.last_program: Program | None = None
        functools.update_wrapper(self, f)

    def _key(self, args: Sequence[Any], kw: dict[str, Any]) -> Hashable:
        n = len(args)
        static = {i % n for i in self.static_argnums if -n <= i < n} | _nones(args) if n else set()
        for i in self.static_argnums:
            if not -n <= i < n:
                raise TracingError(f"jit: static_argnums names argument {i}, but f was called with {n} positional "
                                   "argument(s)")
        parts = []
        for i, x in enumerate(args):
            if i in static:
                try:
                    hash(x)
                except TypeError:
                    raise TracingError(f"jit: static argument {i} must be hashable (it keys the cache); got a "
                                       f"{type(x).__name__}: pass a tuple instead of a list") from None
                parts.append(("static", type(x), x))
            else:
                parts.append(_signature_part(i, x))
        try:
            kw_part = tuple(sorted((k, type(v), v) for k, v in kw.items()))
            hash(kw_part)
        except TypeError:
            raise TracingError("jit: keyword arguments are static and must be hashable") from None
        return tuple(parts), kw_part

    def __call__(self, *args: Any, **kw: Any) -> Any:
        if depth():  # inside another transform: f itself, traced by it, also on constant arguments
            return self.f(*args, **kw)  # (f may close over the outer transform's values; a program could not)
        fast = None if kw or self.static_argnums else _fast_key(args)
        if fast is not None:  # plain floats, ints and arrays, nothing static: a cheaper key to the same entries
            fn = self.fast.get(fast, _MISSING)
            if fn is not _MISSING:
                if fn is None:
                    return self.f(*args)
                try:
                    return fn(*args)
                except (ValueError, OverflowError, ZeroDivisionError):
                    return self.f(*args)
        if any(isinstance(a, Box) for a in args) or any(isinstance(v, Box) for v in kw.values()):
            return self.f(*args, **kw)  # a traced argument (of a trace this thread did not open)
        key = self._key(args, kw)
        hit = self.cache.get(key)
        static = self._static(args)
        dynamic = [a for i, a in enumerate(args) if i not in static]
        if hit is not None:
            if fast is not None:
                self.fast[fast] = hit[0]
            if hit[0] is None:  # value-dependent rules: this signature runs eagerly (said once, when traced)
                return self.f(*args, **kw)
            try:
                return hit[0](*dynamic)
            except (ValueError, OverflowError, ZeroDivisionError):
                return self.f(*args, **kw)  # math's domain errors: numpy's nan/inf and warning, as eagerly
        result = self._trace(key, args, kw, static)
        if fast is not None:
            self.fast[fast] = self.cache[key][0]
        return result

    def _static(self, args: Sequence[Any]) -> set[int]:
        n = len(args)
        return {i % n for i in self.static_argnums} | _nones(args) if n else set()

    def _trace(self, key: Hashable, args: Sequence[Any], kw: dict[str, Any], static: set[int]) -> Any:
        with gc_pause:  # tracing, generating and compiling make many objects and free none: no collections
            return self._trace_paused(key, args, kw, static)

    def _trace_paused(self, key: Hashable, args: Sequence[Any], kw: dict[str, Any], static: set[int]) -> Any:
        self.traces += 1
        f = self.f
        program, result = stage(lambda *a: f(*a, **kw), args, [i not in static for i in range(len(args))])
        gen = generate(program, name="staged")
        self.last, self.last_program = gen, program
        if program.value_reads:
            warnings.warn(f"jit: a rule reads a traced value to choose its formula ({program.value_reads[0]}): "
                          "a program would hold only at these values, so calls with this signature run eagerly",
                          JitWarning, stacklevel=3)
            self.cache[key] = (None, gen)
            return result
        self.cache[key] = (gen.compile("staged"), gen)
        return result

    @property
    def source(self) -> str:
        """The generated source of the most recently traced signature (trace by calling first)."""
        if self.last is None:
            raise TracingError("jit: nothing traced yet: call the jitted function once, then read .source")
        return self.last.source

    def __repr__(self) -> str:
        eager = sum(1 for fn, _ in self.cache.values() if fn is None)
        return (f"<jit of {getattr(self.f, '__name__', self.f)!s}: {len(self.cache) - eager} compiled signature(s)"
                + (f", {eager} run eagerly>" if eager else ">"))


def jit(f: Callable[..., Any], static_argnums: int | Sequence[int] = ()) -> Jitted:
    """f staged once per signature (shapes, dtypes, static arguments) into generated Python, then reused.

    Composes with the transforms: ``jit(grad(f))``, ``jit(hessian(f))``, ``grad(jit(f))``. Python control flow
    on traced values is refused at trace time (use ``np.where``); ``jitted.source`` shows the generated code.
    """
    return Jitted(f, static_argnums)
