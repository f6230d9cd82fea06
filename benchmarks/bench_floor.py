"""What bounds the two speed goals of issue 3 that this engine does not meet, measured so that anyone
can check the claim on their machine.

(a) Rosenbrock at n = 10^5, gradient / f <= 2. Our gradient makes 9 passes over arrays of ~10^5
    (3 forward: x[:-1]**2, x[1:] minus that, 1 - x[:-1]; 6 backward: -2(1 - x[:-1]) written into
    the gradient, d * x[:-1], its factor -400, its sum into the gradient, 200 d, its sum into the
    gradient). "numpy, our 9 passes" makes exactly those numpy calls, into buffers reused the way
    the engine reuses them, with no engine around them: what numpy itself needs for this
    gradient. Our gradient minus that is the engine's Python. The hand-written gradient (11
    passes, but no bookkeeping) is the reference the issue cites.
(b) The MLP, no slower than torch eager. Its gradient needs two 64x784x128 matrix products
    (X @ W1 forward, X.T @ G back), timed here in numpy (its bundled OpenBLAS) and in torch, each on
    one thread, float64.

Run from the repository root: ``python -m benchmarks.bench_floor`` (``--json`` for machines).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

from benchmarks.bench_ad import (
    machine, measure, mlp_data, print_table, rerun_keeping_freed_memory, rosen, rosen_grad_by_hand, us,
)

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as bench_ad: one BLAS thread for each library
if __name__ == "__main__":
    rerun_keeping_freed_memory("benchmarks.bench_floor")

import numpy as np  # noqa: E402

import diffcompare as dc  # noqa: E402


def rosen_passes(n: int) -> Callable[[np.ndarray], np.ndarray]:
    """Our gradient's 9 numpy calls on Rosenbrock, with no engine: two scratch buffers and the result."""
    b1, b2, out = np.empty(n - 1), np.empty(n - 1), np.empty(n)

    def grad(x: np.ndarray) -> np.ndarray:
        a, b = x[:-1], x[1:]
        d = np.subtract(b, np.multiply(a, a, out=b1), out=b2)  # forward
        gm = np.subtract(1.0, a, out=b1)
        out[-1] = 0.0  # backward
        np.multiply(gm, -2.0, out=out[:-1])
        t = np.multiply(d, a, out=b1)
        np.multiply(t, -400.0, out=t)
        out[:-1] += t
        out[1:] += np.multiply(d, 200.0, out=b1)
        return out

    return grad


def run() -> dict[str, dict[str, float]]:
    n = 100_000
    x = np.linspace(-1.2, 1.2, n)
    f, ours, passes = rosen(np), dc.grad(rosen(np)), rosen_passes(n)
    assert np.allclose(passes(x), rosen_grad_by_hand(x), rtol=1e-12) and np.allclose(ours(x), passes(x), rtol=1e-12)
    rosenbrock = measure({"f": lambda: f(x), "diffcompare": lambda: ours(x),
                          "numpy, our 9 passes": lambda: passes(x), "numpy by hand": lambda: rosen_grad_by_hand(x)})

    (w1, _, _, _), xb, _ = mlp_data()
    g = np.random.default_rng(1).normal(size=(64, 128))
    products: dict[str, Callable[[], Any]] = {"numpy X @ W1": lambda: xb @ w1, "numpy X.T @ G": lambda: xb.T @ g}
    try:
        import torch

        torch.set_num_threads(1)
        tx, tw, tg = torch.from_numpy(xb), torch.from_numpy(w1), torch.from_numpy(g)
        products.update({"torch X @ W1": lambda: tx @ tw, "torch X.T @ G": lambda: tx.T @ tg})
    except ImportError:
        pass
    return {"rosenbrock n=100000": rosenbrock, "mlp products": measure(products)}


def main() -> None:
    results = run()
    if "--json" in sys.argv:
        print(json.dumps({"machine": machine(), "seconds": results}, indent=2))
        return
    ros = results["rosenbrock n=100000"]
    rows = [["rosenbrock n=100000", name, us(s), f"{s / ros['f']:.2f}× f"] for name, s in ros.items()]
    rows += [["mlp 784-128-10 b=64", name, us(s), ""] for name, s in results["mlp products"].items()]
    print_table("what bounds the unmet goals (median of 7 batches, taken in turn)",
                ["workload", "what", "time", "ratio"], rows)


if __name__ == "__main__":
    main()
