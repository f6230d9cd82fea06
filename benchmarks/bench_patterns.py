"""Gradient cost of common numpy patterns on large arrays: ours against HIPS autograd, as gradient / f.

A sweep for outliers rather than a race: a pattern whose gradient costs many times its f points at a
derivative rule doing more passes over memory than it needs (this sweep found the matrix-vector VJP
that multiplied out the whole matrix, and the x * x that computed its product twice). Each pattern
is written once over a numpy-like module, so autograd runs the same code (skipped if not installed).
Both libraries are timed batch by batch in turn, with glibc keeping freed memory (as bench_ad).

Run from the repository root: ``python -m benchmarks.bench_patterns`` (``--json`` for machines).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from benchmarks.bench_ad import machine, measure, print_table, rerun_keeping_freed_memory, us

if __name__ == "__main__":
    rerun_keeping_freed_memory("benchmarks.bench_patterns")

import numpy as np  # noqa: E402

import diffcompare as dc  # noqa: E402

N = 100_000


def patterns(xp: Any, lse: Callable[..., Any], data: dict[str, np.ndarray]) -> dict[str, tuple[Callable, str]]:
    """name -> (f of one array, the name of the data array it is differentiated at)."""
    A, idx = data["A"], data["idx"]

    def softmax(x: Any) -> Any:
        return xp.exp(x - lse(x))

    return {
        "quadratic form v @ A @ v": (lambda v: v @ A @ v, "v"),
        "least squares |A v - b|²": (lambda v: xp.sum((A @ v - data["b"]) ** 2), "v"),
        "norm": (lambda x: xp.linalg.norm(x), "x"),
        "logsumexp": (lambda x: lse(x), "x"),
        "softmax · x": (lambda x: xp.sum(softmax(x) * x), "x"),
        "gather x[idx]²": (lambda x: xp.sum(x[idx] ** 2), "x"),
        "ReLU maximum(x, 0)²": (lambda x: xp.sum(xp.maximum(x, 0.0) ** 2), "x"),
        "leaky ReLU by where": (lambda x: xp.sum(xp.where(x > 0, x, 0.1 * x)), "x"),
        "variance": (lambda x: xp.mean((x - xp.mean(x)) ** 2), "x"),
        "row sums of M * M, squared": (lambda M: xp.sum(xp.sum(M * M, axis=0) ** 2), "M"),
        "pairwise differences²": (lambda P: xp.sum((P[:, None, 0] - P[None, :, 0]) ** 2), "P"),
        "concatenate": (lambda x: xp.sum(xp.concatenate([x, x * 2.0]) ** 2), "x"),
        "max of x²": (lambda x: xp.max(x * x), "x"),
        "softplus log1p(exp(-|x|))": (lambda x: xp.sum(xp.log1p(xp.exp(-xp.abs(x)))), "x"),
        "tanh · sin chain": (lambda x: xp.sum(xp.tanh(x) * xp.sin(x) + xp.exp(-x * x)), "x"),
    }


def run() -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    data = {"x": rng.normal(size=N), "v": rng.normal(size=1000), "A": rng.normal(size=(1000, 1000)),
            "b": rng.normal(size=1000), "M": rng.normal(size=(1000, 1000)), "idx": rng.integers(0, N, N),
            "P": rng.normal(size=(1000, 3))}
    ours = patterns(np, lambda x: dc.logsumexp(x), data)
    try:
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp

        theirs = patterns(anp, logsumexp, data)
    except ImportError:
        theirs = None
    rows = []
    for name, (f, arg) in ours.items():
        x = data[arg]
        g = dc.grad(f)
        fns = {"f": lambda: f(x), "diffcompare": lambda: g(x)}
        if theirs is not None:
            ag = autograd.grad(theirs[name][0])
            fns["autograd"] = lambda: ag(x)
        t = measure(fns, batches=5, target=0.05)
        rows.append({"pattern": name, "f_seconds": t["f"], "grad_seconds": t["diffcompare"],
                     "ratio": t["diffcompare"] / t["f"],
                     "autograd_seconds": t.get("autograd"),
                     "autograd_ratio": t["autograd"] / t["f"] if "autograd" in t else None})
    return rows


def main() -> None:
    rows = run()
    if "--json" in sys.argv:
        print(json.dumps({"machine": machine(), "rows": rows}, indent=2))
        return
    print_table("gradient / f on common patterns (arrays of 10^3 to 10^6 elements)",
                ["pattern", "f", "diffcompare", "autograd"],
                [[r["pattern"], us(r["f_seconds"]), f"{us(r['grad_seconds'])} ({r['ratio']:.1f}×)",
                  "—" if r["autograd_seconds"] is None else f"{us(r['autograd_seconds'])} ({r['autograd_ratio']:.1f}×)"]
                 for r in rows])


if __name__ == "__main__":
    main()
