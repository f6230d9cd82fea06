"""Where jit's first call goes: staging, generating the source, Python's ``compile()`` (issue 15's < 100 ms).

For the two scalar workloads of ``bench_ad`` (the logistic map, 1000 steps; Σ sin(x·i), 1000 terms), five fresh
``dc.jit(dc.grad(f))`` first calls each, in CPU seconds of this process (the wall time on a loaded machine is
2-4x more), the best of five, split into its phases; and ``compile()``'s time against the program's length
(linear: there is no superlinear cost to avoid by compiling in chunks).

Run from the repository root: ``python -m benchmarks.bench_jit_trace``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import diffcompare as dc
from benchmarks import bench_ad
from benchmarks.bench_ad import logistic
from diffcompare.ad import codegen, jitting


sines = bench_ad.sines(np.sin)  # bench_ad's two scalar workloads, the same functions


def phases(f: Callable[[Any], Any], repeats: int = 5) -> dict[str, float]:
    """CPU seconds of the best of ``repeats`` first calls, and of its phases."""
    spent: dict[str, float] = {}

    def timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def run(*a: Any, **k: Any) -> Any:
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - t

        return run

    saved = jitting.stage, jitting.generate, codegen.Generated.compile
    jitting.stage, jitting.generate = timed(jitting.stage, "stage"), timed(jitting.generate, "generate")
    codegen.Generated.compile = timed(codegen.Generated.compile, "compile")  # type: ignore[method-assign]
    best: dict[str, float] | None = None
    try:
        for _ in range(repeats):
            spent.clear()
            j = dc.jit(dc.grad(f))
            t = time.process_time()
            j(0.3)
            total = time.process_time() - t
            if best is None or total < best["first call"]:
                best = {"first call": total, **spent}
    finally:
        jitting.stage, jitting.generate, codegen.Generated.compile = saved  # type: ignore[method-assign]
    assert best is not None
    return best


def compile_scaling() -> list[tuple[int, float]]:
    """CPU seconds of ``compile()`` for the first k lines of the logistic map's gradient program."""
    j = dc.jit(dc.grad(logistic))
    j(0.3)
    lines = j.source.splitlines()
    out = []
    for k in (1000, 2000, 4000, len(lines) - 5):
        src = "\n".join([lines[0], *lines[1:1 + k], "    return 0"]) + "\n"
        best = min(_cpu(lambda src=src: compile(src, "<x>", "exec")) for _ in range(5))
        out.append((k, best))
    return out


def _cpu(fn: Callable[[], Any]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> None:
    for name, f in (("logistic 1000 steps", logistic), ("sum sin(x i), 1000 terms", sines)):
        p = phases(f)
        print(f"{name}: first call {p['first call'] * 1e3:.0f} ms CPU (stage {p.get('stage', 0) * 1e3:.0f}, "
              f"generate {p.get('generate', 0) * 1e3:.0f}, compile {p.get('compile', 0) * 1e3:.0f}), best of 5")
    print("compile() of the logistic gradient's first k lines: "
          + ", ".join(f"{k} lines {s * 1e3:.1f} ms" for k, s in compile_scaling()))


if __name__ == "__main__":
    main()
