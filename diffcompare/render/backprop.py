"""The backpropagation example as the slides lay it out: forward pass, gradients side by side, update."""

from __future__ import annotations

from typing import Any

from diffcompare.analysis.backprop import PARAMETERS, Backprop
from diffcompare.render import cost_text, fmt

# an absolute error below 1e-15 on gradients of size 1e-4..1e-2 is float64 rounding (green);
# above 1e-9 more than a third of the digits are gone (red)
_GOOD, _BAD = 1e-15, 1e-9

_FORWARD_ROWS = [
    ("z_h1", "z_h1 = w11·x1 + w21·x2 + bh"),
    ("h1", "h1 = σ(z_h1)"),
    ("z_h2", "z_h2 = w12·x1 + w22·x2 + bh"),
    ("h2", "h2 = σ(z_h2)"),
    ("z_y", "z_y = wh1·h1 + wh2·h2 + by"),
    ("y", "y = σ(z_y)"),
    ("loss", "E = ½(t − y)²"),
]
_DELTA_ROWS = [
    ("dE_dy", "∂E/∂y = −(t − y)"),
    ("dsigma_y", "σ'(z_y) = y(1 − y)"),
    ("delta_y", "δ_y = ∂E/∂y · σ'(z_y)"),
    ("dsigma_h1", "σ'(z_h1) = h1(1 − h1)"),
    ("delta_h1", "δ_h1 = wh1·δ_y · σ'(z_h1)"),
    ("dsigma_h2", "σ'(z_h2) = h2(1 − h2)"),
    ("delta_h2", "δ_h2 = wh2·δ_y · σ'(z_h2)"),
]
_CHAIN = {"w11": "δ_h1·x1", "w12": "δ_h2·x1", "w21": "δ_h1·x2", "w22": "δ_h2·x2",
          "wh1": "δ_y·h1", "wh2": "δ_y·h2", "bh": "δ_h1 + δ_h2", "by": "δ_y"}


def _style(err: float) -> str:
    return "green" if err <= _GOOD else ("yellow" if err <= _BAD else "red")


def tables(b: Backprop) -> list[Any]:
    """Forward pass, hand-derived error terms, gradients by every backend, updated parameters."""
    from diffcompare.render.layout import Table

    n = b.network
    fw = Table(title=f"step 1: forward pass  (x = ({n.x[0]:g}, {n.x[1]:g}), t = {n.t:g})")
    fw.add_column("quantity")
    fw.add_column("value", justify="right")
    for key, label in _FORWARD_ROWS:
        fw.add_row(label, fmt(b.forward[key], 12))
    de = Table(title="step 2: error terms (the slides' chain rule, unrounded)")
    de.add_column("quantity")
    de.add_column("value", justify="right")
    for key, label in _DELTA_ROWS:
        de.add_row(label, fmt(b.deltas[key], 12))

    from rich import box

    # no vertical rules and compact padding: the parameter name and 10 digits per backend fit 80 columns
    gr = Table(title="step 2: gradients ∂E/∂p, every backend side by side", box=box.SIMPLE_HEAD,
               collapse_padding=True, pad_edge=False)
    gr.add_column("p", no_wrap=True, min_width=3)
    gr.add_column("sympy\n(50 digits)", justify="right", overflow="fold")
    for backend in b.backends:
        gr.add_column(backend, justify="right", overflow="fold")
    for p in PARAMETERS:
        gr.add_row(p, f"{float(b.reference[p]):.7g}",
                   *(f"{b.gradients[p][backend]:.7g}" for backend in b.backends))

    er = Table(title="how wrong each backend is: |value − sympy at 50 digits|",
               caption="green ≤ 1e-15 (float64 rounding), red > 1e-9")
    er.add_column("p")
    er.add_column("slides' chain rule")
    for backend in b.backends:
        er.add_column(backend, justify="right")
    for p in PARAMETERS:
        er.add_row(p, _CHAIN[p], *(f"[{_style(b.errors[p][k])}]{fmt(b.errors[p][k], 2)}[/{_style(b.errors[p][k])}]"
                        for k in b.backends))
    er.add_section()
    er.add_row("cost", "", *(cost_text(b.costs[k]) for k in b.backends))
    er.add_row("time", "", *(f"{b.costs[k].seconds * 1e3:.2f} ms" for k in b.backends))

    up = Table(title=f"step 3: update p ← p − η·∂E/∂p  (η = {n.eta:g}, reverse-AD gradient)")
    up.add_column("p")
    up.add_column("before", justify="right")
    up.add_column("after", justify="right")
    up.add_column("change", justify="right")
    for p in PARAMETERS:
        before = getattr(n, p)
        up.add_row(p, fmt(before, 12), fmt(b.updated[p], 12), fmt(b.updated[p] - before, 6))
    return [fw, de, gr, er, up]


def training_table(losses: list[float], rows: int = 12) -> Any:
    """The loss before training and after selected steps (about ``rows`` of them, always the last)."""
    from diffcompare.render.layout import Table

    steps = len(losses) - 1
    stride = max(1, steps // (rows - 1)) if rows > 1 else steps or 1
    shown = sorted(set(range(0, steps + 1, stride)) | {steps})
    t = Table(title=f"training: {steps} steps of gradient descent (reverse AD)")
    t.add_column("step", justify="right")
    t.add_column("loss E", justify="right")
    t.add_column("vs start", justify="right")
    for s in shown:
        t.add_row(str(s), fmt(losses[s], 8), fmt(losses[s] / losses[0], 3) if losses[0] else "—")
    return t


def loss_plot(losses: list[float]) -> str:
    from diffcompare.render.termplot import line_plot

    steps = list(range(len(losses)))
    log = all(v > 0 for v in losses)  # the loss falls by orders of magnitude: only a log axis shows it
    return line_plot({"loss": (steps, losses)}, xlabel="step", ylabel="E" + (" (log scale)" if log else ""),
                     logy=log, title="loss during training")


def save_loss_plot(losses: list[float], path: str) -> None:
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = loss_figure(plt, losses)
    fig.savefig(path)
    plt.close(fig)


def loss_figure(plt: Any, losses: list[float]) -> Any:
    """The training loss against the step (log axis: it falls by orders of magnitude)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(len(losses)), losses, marker="." if len(losses) < 60 else None)
    if all(v > 0 for v in losses):  # 1e-3 down to 4e-8: a linear axis shows a flat line after a few steps
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss E = ½(t − y)²")
    ax.set_title("backprop example: loss under gradient descent (η = 0.5)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def to_json(b: Backprop) -> dict[str, Any]:
    n = b.network
    return {
        "network": {"x": list(n.x), "t": n.t, "eta": n.eta, "parameters": n.params()},
        "forward": b.forward,
        "loss": b.loss,
        "deltas": b.deltas,
        "gradients": b.gradients,
        "reference": {p: str(v) for p, v in b.reference.items()},
        "errors": b.errors,
        "costs": {k: {"seconds": r.seconds, "evaluations": r.evaluations, "passes": r.passes, "tape_ops": r.tape_ops,
                      "expression_size": r.expression_size} for k, r in b.costs.items()},
        "updated": b.updated,
        "losses": b.losses,
    }
