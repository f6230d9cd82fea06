"""Our AD engine against HIPS autograd and PyTorch eager, on the four workloads of issue 3.

For each workload: the time of plain f (numpy, or plain Python floats for the scalar ones), the
time of one gradient, and the ratio gradient / f — for us and for each peer installed in the same
run (``pip install ".[bench]"``; a missing peer is skipped). Times are the median of 7 batches
after a warm-up, each batch ~25 ms; the batches of one workload's contestants are taken in turn,
so that all of them meet the same (shared, drifting) machine.

  (a) Rosenbrock sum(100 (x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2) at n = 10, 10^3, 10^5
  (b) a 784-128-10 tanh MLP, softmax cross-entropy, batch 64, gradient w.r.t. all weights
  (c) the logistic map x <- 4x(1-x) iterated 1000 times on a Python float, d/dx
  (d) sum(sin(x i) for i in range(1000)) on a scalar, d/dx

Both numpy (OpenBLAS) and torch run on one thread, all in float64.

Staged programs (issue 15): ``diffcompare jit`` is ``dc.jit(dc.grad(f))`` and ``jax.jit`` is
``jax.jit(jax.grad(f))`` (jax on CPU with ``jax_enable_x64``): their per-call time is the table's
gradient, their first call (trace and compile) the ``compile`` column. Two more workloads: the Hessian of
Rosenbrock at n = 100 and a Hessian-vector product at n = 10^4. ``--targets`` adds the issue's ratios.

Memory: glibc gives freed blocks of 128 KB and more back to the kernel and faults them in again on
the next call. On this kind of VM a page fault costs more than the arithmetic on the page, so
whether plain f(x) at n = 10^5 takes 0.3 ms or 1 ms depends on the heap's history, not on f. The
benchmark therefore re-runs itself with glibc told to keep freed memory (the same setting for
every library in the run); ``--system-malloc`` measures with the default instead.

Run from the repository root: ``python -m benchmarks.bench_ad`` (``--json`` for machines).
"""

from __future__ import annotations

import os
import sys

# One BLAS thread for numpy, as torch gets one thread below: on a 2-core machine shared with other
# work, a second spinning BLAS thread makes numpy's matmul 10-20x slower and the comparison noise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 25)}


def rerun_keeping_freed_memory(module: str) -> None:
    """Run ``python -m module`` again with glibc keeping freed memory, unless it does or
    ``--system-malloc`` was given (glibc reads these settings once, at start-up)."""
    if "--system-malloc" not in sys.argv and any(os.environ.get(k) != v for k, v in KEEP_FREED_MEMORY.items()):
        os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], {**os.environ, **KEEP_FREED_MEMORY})


if __name__ == "__main__":
    rerun_keeping_freed_memory("benchmarks.bench_ad")

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

import diffcompare as dc  # noqa: E402


def timeit(fn: Callable[[], Any], batches: int = 7, target: float = 0.1) -> float:
    """Median seconds per call over ``batches`` batches, after a warm-up that also sizes a batch."""
    return measure({"fn": fn}, batches, target)["fn"]


def measure(fns: dict[str, Callable[[], Any]], batches: int = 7, target: float = 0.1) -> dict[str, float]:
    """Median seconds per call of each function, their batches taken in turn.

    On a shared machine the speed drifts by tens of percent within a minute; alternating the
    contestants batch by batch gives each the same conditions, so that their ratios mean something.
    """
    per_batch = {}
    for name, fn in fns.items():  # warm-up, and a batch size of ~target / 4 each
        fn()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < target / 16:
            fn()
            n += 1
        per_batch[name] = max(1, n * 4)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(batches):
        for name, fn in fns.items():
            k = per_batch[name]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
    return {name: statistics.median(s) for name, s in samples.items()}


# ---- the workloads, written once per library --------------------------------------------
def rosen(np_: Any) -> Callable[[Any], Any]:
    return lambda x: np_.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad_by_hand(x: np.ndarray) -> np.ndarray:
    """The gradient written out in numpy: the floor any AD could hope for."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def logistic(x: Any) -> Any:
    for _ in range(1000):
        x = 4.0 * x * (1.0 - x)
    return x


def sines(sin: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: sum(sin(x * i) for i in range(1000))


def mlp_data(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.05, (784, 128)), np.zeros(128), rng.normal(0, 0.1, (128, 10)), np.zeros(10)]
    x = rng.normal(size=(64, 784))
    onehot = np.eye(10)[rng.integers(0, 10, 64)]
    return params, x, onehot


def mlp_numpy(logsumexp: Callable[..., Any], np_: Any = np) -> Callable[..., Any]:
    def loss(w1: Any, b1: Any, w2: Any, b2: Any, x: Any, onehot: Any) -> Any:
        h = np_.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return -np_.sum(onehot * logp) / 64.0

    return loss


def mlp_grad_by_hand(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray, x: np.ndarray,
                     onehot: np.ndarray) -> list[np.ndarray]:
    """The MLP's gradient written out in numpy: the same two BLAS products per layer as any AD."""
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    dlogits = (e / e.sum(axis=1, keepdims=True) * onehot.sum(axis=1, keepdims=True) - onehot) / 64.0
    dh = (dlogits @ w2.T) * (1.0 - h * h)
    return [x.T @ dh, dh.sum(axis=0), h.T @ dlogits, dlogits.sum(axis=0)]


FIRST_CALL_CPU: dict[int, float] = {}  # id of a staged function -> the CPU seconds of its first call


def first_call(make: Callable[[], Callable[[], Any]]) -> tuple[Callable[[], Any], float]:
    """A fresh staged function and the seconds of its first call (tracing and compiling); the process's CPU
    seconds of that call go to FIRST_CALL_CPU (on a loaded machine, the wall time is 2-4x the CPU time)."""
    fn = make()
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, FIRST_CALL_CPU[id(fn)] = time.perf_counter() - t0, time.process_time() - c0
    return fn, wall


def calling(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """``fn(*args)`` as a function of nothing, for :func:`measure`."""
    return lambda: fn(*args)


def jax_ready(fn: Callable[..., Any]) -> Callable[..., Any]:
    """jax dispatches asynchronously: a call is timed until its result is there."""
    import jax

    return lambda *a: jax.block_until_ready(fn(*a))


# ---- peers --------------------------------------------------------------------------------
def peers() -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp as alse

        found["autograd"] = (autograd, anp, alse)
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        found["jax"] = jax
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(1)  # the same single thread numpy's elementwise code runs on
        found["torch"] = torch
    except ImportError:
        pass
    return found


def run() -> list[dict[str, Any]]:
    """One row per (workload, library): f seconds, gradient seconds, ratio (all of a workload timed in turn)."""
    rows: list[dict[str, Any]] = []
    have = peers()
    torch = have.get("torch")

    jax = have.get("jax")

    def add(workload: str, fns: dict[str, Callable[[], Any]], compiled: dict[str, float] | None = None) -> None:
        """``fns``: "f" (numpy), "torch f" if torch is there, and one gradient per library; ``compiled``: the
        first-call seconds of the staged ones."""
        t = measure(fns)
        for library in fns:
            if library in ("f", "torch f"):
                continue
            f_s = t["torch f"] if library.startswith("torch") and "torch f" in t else t["f"]
            rows.append({"workload": workload, "library": library, "f_seconds": f_s,
                         "grad_seconds": t[library], "ratio": t[library] / f_s,
                         "compile_seconds": (compiled or {}).get(library),
                         "compile_cpu_seconds": FIRST_CALL_CPU.get(id(fns[library])) if compiled and library in compiled
                         else None})

    def staged(fns: dict[str, Callable[[], Any]], compiled: dict[str, float], ours: Callable[[], Callable[[], Any]],
               theirs: Callable[[], Callable[[], Any]] | None) -> None:
        """Add ``diffcompare jit`` and, with jax installed, ``jax.jit`` (fresh, first call timed apart)."""
        fns["diffcompare jit"], compiled["diffcompare jit"] = first_call(ours)
        if jax is not None and theirs is not None:
            fns["jax.jit"], compiled["jax.jit"] = first_call(theirs)

    for n in (10, 1000, 100_000):
        x = np.linspace(-1.2, 1.2, n)
        f, g = rosen(np), dc.grad(rosen(np))
        assert np.allclose(g(x), rosen_grad_by_hand(x), rtol=1e-12)
        fns: dict[str, Callable[[], Any]] = {
            "f": lambda: f(x), "diffcompare": lambda: g(x), "numpy by hand": lambda: rosen_grad_by_hand(x)}
        compiled: dict[str, float] = {}
        jx = jax.numpy.asarray(x) if jax is not None else None
        staged(fns, compiled, lambda x=x: calling(dc.jit(dc.grad(rosen(np))), x),
               lambda jx=jx: calling(jax_ready(jax.jit(jax.grad(rosen(jax.numpy)))), jx))
        if "autograd" in have:
            autograd, anp, _ = have["autograd"]
            ag = autograd.grad(rosen(anp))
            fns["autograd"] = lambda: ag(x)
        if torch is not None:
            tf, xt = rosen(torch), torch.tensor(x)

            def torch_grad() -> Any:
                v = xt.detach().requires_grad_(True)
                tf(v).backward()
                return v.grad

            fns["torch f"] = lambda: tf(xt)
            fns["torch eager"] = torch_grad
        add(f"rosenbrock n={n}", fns, compiled)

    params, xb, onehot = mlp_data()
    loss = mlp_numpy(dc.logsumexp)
    g = dc.grad(loss, argnums=(0, 1, 2, 3))
    fns = {"f": lambda: loss(*params, xb, onehot), "diffcompare": lambda: g(*params, xb, onehot),
           "numpy by hand": lambda: mlp_grad_by_hand(*params, xb, onehot)}
    assert all(np.allclose(a, b, rtol=1e-10, atol=1e-14) for a, b in zip(g(*params, xb, onehot),
                                                                           mlp_grad_by_hand(*params, xb, onehot)))
    compiled = {}

    def jax_mlp() -> Callable[[], Any]:
        from jax.scipy.special import logsumexp as jlse

        jloss = mlp_numpy(jlse, jax.numpy)
        jg = jax_ready(jax.jit(jax.grad(jloss, argnums=(0, 1, 2, 3))))
        jps = [jax.numpy.asarray(p) for p in params]
        jxb, joh = jax.numpy.asarray(xb), jax.numpy.asarray(onehot)
        return lambda: jg(*jps, jxb, joh)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the logsumexp rule's shift reads values: our jit runs it eagerly
        staged(fns, compiled, lambda: calling(dc.jit(g), *params, xb, onehot), jax_mlp)
    if "autograd" in have:
        autograd, anp, alse = have["autograd"]
        aloss = mlp_numpy(alse, anp)
        ag_mlp = autograd.grad(lambda ps: aloss(*ps, xb, onehot))
        fns["autograd"] = lambda: ag_mlp(params)
    if torch is not None:
        tparams = [torch.tensor(p) for p in params]
        txb, tonehot = torch.tensor(xb), torch.tensor(onehot)

        def tloss(w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
            logits = torch.tanh(txb @ w1 + b1) @ w2 + b2
            return -(tonehot * torch.log_softmax(logits, dim=1)).sum() / 64.0

        def torch_mlp() -> Any:
            ps = [p.detach().requires_grad_(True) for p in tparams]
            tloss(*ps).backward()
            return [p.grad for p in ps]

        fns["torch f"] = lambda: tloss(*tparams)
        fns["torch eager"] = torch_mlp
    add("mlp 784-128-10 b=64", fns, compiled)

    import math

    for name, plain, ours, ag_fn, torch_fn in (
        ("logistic 1000 steps", logistic, logistic, logistic, logistic),
        ("sum sin(x i), 1000 terms", sines(math.sin), sines(np.sin), None, None),
    ):
        g = dc.grad(ours)
        fns = {"f": lambda plain=plain: plain(0.3), "diffcompare": lambda g=g: g(0.3)}
        compiled = {}
        jax_f = ag_fn if ag_fn is not None else (sines(jax.numpy.sin) if jax is not None else None)
        staged(fns, compiled, lambda ours=ours: calling(dc.jit(dc.grad(ours)), 0.3),
               lambda jax_f=jax_f: calling(jax_ready(jax.jit(jax.grad(jax_f))), 0.3))
        if "autograd" in have:
            autograd, anp, _ = have["autograd"]
            ag_scalar = autograd.grad(ag_fn if ag_fn is not None else sines(anp.sin))
            fns["autograd"] = lambda ag_scalar=ag_scalar: ag_scalar(0.3)
        if torch is not None:
            tf = torch_fn if torch_fn is not None else sines(torch.sin)

            def torch_scalar(tf: Any = tf) -> Any:
                v = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
                tf(v).backward()
                return v.grad

            fns["torch f"] = fns["f"]  # the scalar workloads' f is plain Python for every library
            fns["torch eager"] = torch_scalar
        add(name, fns, compiled)
    hessians(have, add, staged)
    return rows


def hessians(have: dict[str, Any], add: Callable[..., None], staged: Callable[..., None]) -> None:
    """The Hessian of Rosenbrock at n = 100 and a Hessian-vector product at n = 10^4 ("gradient" = the Hessian
    or the product, f = Rosenbrock itself)."""
    jax, torch = have.get("jax"), have.get("torch")
    x = np.linspace(-1.2, 1.2, 100)
    f = rosen(np)
    h = dc.hessian(f)
    fns: dict[str, Callable[[], Any]] = {"f": lambda: f(x), "diffcompare": lambda: h(x),
                                         "diffcompare jacrev(grad)": lambda: dc.jacrev(dc.grad(f))(x)}
    compiled: dict[str, float] = {}
    jx = jax.numpy.asarray(x) if jax is not None else None
    staged(fns, compiled, lambda: calling(dc.jit(dc.hessian(f)), x),
           lambda: calling(jax_ready(jax.jit(jax.hessian(rosen(jax.numpy)))), jx))
    if "autograd" in have:
        autograd, anp, _ = have["autograd"]
        ah = autograd.hessian(rosen(anp))
        fns["autograd"] = lambda: ah(x)
    if torch is not None:
        tf, xt = rosen(torch), torch.tensor(x)
        th = torch.func.hessian(tf)
        tjj = torch.func.jacrev(torch.func.jacrev(tf))
        fns["torch f"] = lambda: tf(xt)
        fns["torch.func.hessian"] = lambda: th(xt)
        fns["torch jacrev(jacrev)"] = lambda: tjj(xt)
    add("hessian rosenbrock n=100", fns, compiled)

    x = np.linspace(-1.2, 1.2, 10_000)
    v = np.cos(np.arange(10_000.0))
    fns = {"f": lambda: f(x), "diffcompare": lambda: dc.hvp(f, x, v)}
    compiled = {}
    jx, jv = (jax.numpy.asarray(x), jax.numpy.asarray(v)) if jax is not None else (None, None)

    def jax_hvp() -> Callable[[], Any]:
        jf = rosen(jax.numpy)
        j = jax_ready(jax.jit(lambda a, b: jax.jvp(jax.grad(jf), (a,), (b,))[1]))
        return lambda: j(jx, jv)

    staged(fns, compiled, lambda: calling(dc.jit(lambda a, b: dc.hvp(f, a, b)), x, v), jax_hvp)
    if "autograd" in have:
        autograd, anp, _ = have["autograd"]
        ahvp = autograd.hessian_tensor_product(rosen(anp))
        fns["autograd"] = lambda: ahvp(x, v)
    if torch is not None:
        tf, xt, vt = rosen(torch), torch.tensor(x), torch.tensor(v)
        fns["torch f"] = lambda: tf(xt)
        fns["torch.func jvp(grad)"] = lambda: torch.func.jvp(torch.func.grad(tf), (xt,), (vt,))[1]
    add("hvp rosenbrock n=1e4", fns, compiled)


def targets(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The issue's targets as ratios of this run, met or not."""
    t = {(r["workload"], r["library"]): r for r in rows}

    def ratio(w: str, a: str, b: str | None, target: float, what: str) -> list[str]:
        ra = t.get((w, a))
        if ra is None or (b is not None and (w, b) not in t):
            return [w, what, "—", f"≤ {target:g}", "not measured"]
        value = ra["grad_seconds"] / (t[(w, b)]["grad_seconds"] if b is not None else ra["f_seconds"])
        return [w, what, f"{value:.2f}", f"≤ {target:g}", "met" if value <= target else "NOT met"]

    out = []
    for w in ("logistic 1000 steps", "sum sin(x i), 1000 terms"):
        out.append(ratio(w, "diffcompare jit", "jax.jit", 3, "jit(grad) / jax.jit, per call"))
        c = t.get((w, "diffcompare jit"), {}).get("compile_seconds")
        cpu = t.get((w, "diffcompare jit"), {}).get("compile_cpu_seconds")
        out.append([w, "our trace + compile, ms (CPU ms)",
                    "—" if c is None else f"{c * 1e3:.0f}" + ("" if cpu is None else f" ({cpu * 1e3:.0f})"), "< 100",
                    "—" if c is None else ("met" if c < 0.1 else "NOT met")])
    out.append(ratio("rosenbrock n=100000", "diffcompare jit", None, 1.8, "jit(grad) / f"))
    out.append(ratio("rosenbrock n=10", "diffcompare jit", "jax.jit", 3, "jit(grad) / jax.jit"))
    out.append(ratio("mlp 784-128-10 b=64", "diffcompare jit", "numpy by hand", 1.1, "jit(grad) / numpy by hand"))
    out.append(ratio("hessian rosenbrock n=100", "diffcompare", "torch.func.hessian", 1, "hessian / torch.func"))
    out.append(ratio("hessian rosenbrock n=100", "diffcompare jit", "jax.jit", 10, "jit(hessian) / jax.jit"))
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    kept = all(os.environ.get(k) == v for k, v in KEEP_FREED_MEMORY.items())
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
            + "".join(f", {k} {v.__version__}" for k, v in _versions().items())
            + (", glibc keeping freed memory" if kept else ", the system's malloc settings"))


def _versions() -> dict[str, Any]:
    out = {}
    for name in ("autograd", "torch", "jax"):
        try:
            mod = __import__(name)
            if hasattr(mod, "__version__"):
                out[name] = mod
        except ImportError:
            pass
    return out


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table with the machine as caption; the first columns (names) left, numbers right."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, caption=machine())
    for col in columns:
        t.add_column(col, justify="left" if col in ("workload", "library", "pattern", "what") else "right")
    for row in rows:
        t.add_row(*row)
    Console().print(t)


def us(s: float) -> str:
    return f"{s * 1e6:,.1f} µs" if s < 1e-3 else f"{s * 1e3:,.2f} ms"


def main() -> None:
    rows = run()
    if "--json" in sys.argv:
        print(json.dumps({"machine": machine(), "rows": rows}, indent=2))
        return
    print_table("gradient cost: diffcompare vs peers (median of 7 batches)",
                ["workload", "library", "f", "gradient", "gradient / f", "compile"],
                [[r["workload"], r["library"], us(r["f_seconds"]), us(r["grad_seconds"]), f"{r['ratio']:.1f}×",
                  "" if r.get("compile_seconds") is None else us(r["compile_seconds"])] for r in rows])
    if "--targets" in sys.argv:
        print_table("issue 15's targets, this run", ["workload", "what", "ratio", "target", "status"], targets(rows))


if __name__ == "__main__":
    main()
