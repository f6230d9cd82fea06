"""Two versions of the engine, A and B, timed against each other on bench_ad's eager workloads.

On a shared machine two runs of ``bench_ad`` minutes apart differ by tens of percent; this runs both
versions at once, one worker process each (each with its own interpreter, e.g. the venvs of two
checkouts), and alternates them batch by batch (A B, B A, A B, ...), so every ratio B / A compares
batches taken a fraction of a second apart. It reports, per workload, each side's median time per
call and the median of the per-pair ratios.

  python benchmarks/ab_eager.py --a /path/to/venv-a/bin/python --b /path/to/venv-b/bin/python

Each worker imports ``diffcompare`` from its own interpreter's installation (run from a directory that
holds neither checkout). glibc keeps freed memory in both, as in bench_ad.

Heap layout: the same code at Rosenbrock n = 10^5 runs 8-10% faster or slower depending on where its arrays
happen to lie (measured: one version against itself, one worker with a padding array allocated first), so
one pair of workers compares two layouts as much as two versions. ``--layouts N`` starts N pairs, each with a
different padding, and reports the median of their ratios (and their range).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 25),
                     "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def workloads() -> dict[str, Callable[[], Any]]:
    """bench_ad's eager gradients (the ``diffcompare`` rows), as functions of nothing."""
    import numpy as np

    import diffcompare as dc

    def rosen(x: Any) -> Any:
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def logistic(x: Any) -> Any:
        for _ in range(1000):
            x = 4.0 * x * (1.0 - x)
        return x

    def sines(x: Any) -> Any:
        return sum(np.sin(x * i) for i in range(1000))

    def loss(w1: Any, b1: Any, w2: Any, b2: Any, x: Any, onehot: Any) -> Any:
        h = np.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        logp = logits - dc.logsumexp(logits, axis=1, keepdims=True)
        return -np.sum(onehot * logp) / 64.0

    rng = np.random.default_rng(0)
    params = [rng.normal(0, 0.05, (784, 128)), np.zeros(128), rng.normal(0, 0.1, (128, 10)), np.zeros(10)]
    xb, onehot = rng.normal(size=(64, 784)), np.eye(10)[rng.integers(0, 10, 64)]
    out: dict[str, Callable[[], Any]] = {}
    g = dc.grad(rosen)
    for n in (10, 1000, 100_000):
        out[f"rosenbrock n={n}"] = (lambda x: lambda: g(x))(np.linspace(-1.2, 1.2, n))
    gm = dc.grad(loss, argnums=(0, 1, 2, 3))
    out["mlp 784-128-10 b=64"] = lambda: gm(*params, xb, onehot)
    gl, gs = dc.grad(logistic), dc.grad(sines)
    out["logistic 1000 steps"] = lambda: gl(0.3)
    out["sum sin(x i), 1000 terms"] = lambda: gs(0.3)
    x100 = np.linspace(-1.2, 1.2, 100)
    h = dc.hessian(rosen)
    out["hessian rosenbrock n=100"] = lambda: h(x100)
    out["jacrev(grad) rosenbrock n=100"] = lambda: dc.jacrev(dc.grad(rosen))(x100)
    x4, v4 = np.linspace(-1.2, 1.2, 10_000), np.cos(np.arange(10_000.0))
    out["hvp rosenbrock n=1e4"] = lambda: dc.hvp(rosen, x4, v4)
    return out


def serve(clock: Callable[[], float]) -> None:
    """The worker: read ``[name, calls]`` lines, answer seconds per call (``calls`` 0: warm up, time one)."""
    import numpy as np

    padding = np.ones(int(os.environ.get("AB_PADDING", "0")) + 1)  # moves every later heap block  # noqa: F841
    fns = workloads()
    print(json.dumps(list(fns)), flush=True)
    for line in sys.stdin:
        name, calls = json.loads(line)
        fn = fns[name]
        if calls == 0:
            fn()
            calls = 1
        t0 = clock()
        for _ in range(calls):
            fn()
        print(json.dumps((clock() - t0) / calls), flush=True)


class Worker:
    def __init__(self, python: str, clock: str, padding: int = 0) -> None:
        env = {**os.environ, **KEEP_FREED_MEMORY, "AB_PADDING": str(padding)}
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker", clock], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd="/", env=env)
        self.names = json.loads(self.proc.stdout.readline())

    def time(self, name: str, calls: int) -> float:
        self.proc.stdin.write(json.dumps([name, calls]) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def compare(a: Worker, b: Worker, names: list[str], batches: int, target: float) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        est = max(a.time(name, 0), b.time(name, 0), a.time(name, 1), b.time(name, 1))
        calls = max(1, int(target / est))
        ta, tb = [], []
        for k in range(batches):
            if k % 2 == 0:
                ta.append(a.time(name, calls))
                tb.append(b.time(name, calls))
            else:
                tb.append(b.time(name, calls))
                ta.append(a.time(name, calls))
        rows.append({"workload": name, "a": statistics.median(ta), "b": statistics.median(tb),
                     "ratio": statistics.median(y / x for x, y in zip(ta, tb))})
    return rows


def main() -> None:
    if "--worker" in sys.argv:
        serve(time.process_time if sys.argv[-1] == "cpu" else time.perf_counter)
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", required=True, help="python of version A (the before)")
    p.add_argument("--b", default=sys.executable, help="python of version B (the after; default: this one)")
    p.add_argument("--batches", type=int, default=9, help="batches per side and workload (default 9)")
    p.add_argument("--target", type=float, default=0.05, help="seconds per batch (default 0.05)")
    p.add_argument("--only", default="", help="comma-separated parts of workload names, timed in that order "
                                              "(repeats allowed: a workload again after others)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="cpu (default): the worker's CPU time, user and system (page faults included), which "
                        "time spent waiting for a core on a loaded machine does not inflate; wall: perf_counter")
    p.add_argument("--layouts", type=int, default=1,
                   help="pairs of workers, each pair with its own heap layout (default 1): the median ratio of all")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    runs = []
    for k in range(args.layouts):
        padding = 7919 * k  # floats allocated first: 0, 62 KB, 124 KB, ...
        a, b = Worker(args.a, args.clock, padding), Worker(args.b, args.clock, padding)
        common = [n for n in a.names if n in b.names]
        names = [n for part in args.only.split(",") for n in common if part in n] if args.only else common
        try:
            runs.append(compare(a, b, names, args.batches, args.target))
        finally:
            a.close()
            b.close()
    rows = [{"workload": r0["workload"], "a": statistics.median(run[i]["a"] for run in runs),
             "b": statistics.median(run[i]["b"] for run in runs),
             "ratio": statistics.median(run[i]["ratio"] for run in runs),
             "ratios": [run[i]["ratio"] for run in runs]} for i, r0 in enumerate(runs[0])]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'workload':32} {'A':>10} {'B':>10} {'B/A':>6}   (median of {args.batches} interleaved pairs, "
          f"{args.clock} time" + (f"; median of {args.layouts} heap layouts, and their range)" if args.layouts > 1
                                  else ")"))
    for r in rows:
        spread = f"  {min(r['ratios']):.3f}-{max(r['ratios']):.3f}" if args.layouts > 1 else ""
        print(f"{r['workload']:32} {r['a'] * 1e6:9.1f}µ {r['b'] * 1e6:9.1f}µ {r['ratio']:6.3f}{spread}")


if __name__ == "__main__":
    main()
