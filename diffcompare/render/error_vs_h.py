"""The error-versus-step table, its terminal plot, and its JSON, CSV and matplotlib twins."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from diffcompare.analysis.error_vs_h import ErrorVsH, SchemeCurve
from diffcompare.render import fmt
from diffcompare.render import digits50
from diffcompare.render import point as render_point

# an error of exactly 0 cannot sit on a log axis: it is drawn here (below any float64 rounding error)
ZERO_FLOOR = 1e-18
_MARKERS = "osD^vxP<>"  # one per drawn curve in the PNG
_REFERENCE_LABEL = {"reverse": "reverse AD", "forward": "forward AD", "symbolic": "symbolic"}


def _use_relative(r: ErrorVsH) -> bool:
    """Relative errors unless the exact derivative is 0 (then relative errors do not exist)."""
    return any(e is not None for c in r.schemes for e in c.rel_error) or not r.schemes


def _errors(r: ErrorVsH, c: SchemeCurve) -> list[float | None]:
    return c.rel_error if _use_relative(r) else c.abs_error


def _series(r: ErrorVsH) -> dict[str, list[float | None]]:
    """The curves to draw, label -> errors on ``r.h`` (0 drawn at ZERO_FLOOR; AD and symbolic flat).

    Identical curves would hide each other (complex step exact like AD: all on the floor), so they are
    drawn once under a joint label "complex, reverse AD and symbolic (same values)" (not "a = b", which
    reads as an equation next to a marker).
    """
    drawn: dict[tuple, list[str]] = {}
    for c in r.schemes:
        drawn.setdefault(tuple(_floor(e) for e in _errors(r, c)), []).append(c.scheme)
    for ref in [*r.references, *r.peers]:
        err = ref.rel_error if _use_relative(r) else ref.abs_error
        if err is not None:
            drawn.setdefault(tuple([_floor(err)] * len(r.h)), []).append(_REFERENCE_LABEL.get(ref.backend, ref.backend))
    return {_joint(labels): list(errs) for errs, labels in drawn.items()}


def _joint(labels: list[str]) -> str:
    """One legend label for curves that coincide: "a", "a and b (same values)", "a, b and c (same values)"."""
    if len(labels) == 1:
        return labels[0]
    return f"{', '.join(labels[:-1])} and {labels[-1]} (same values)"


def error_words(r: ErrorVsH) -> str:
    """What the error column and the plots' y axis measure, in the unit they show."""
    bar = "‖" if r.kind == "gradient" else "|"
    diff = f"{bar}approx − exact{bar}"
    if _use_relative(r):
        return f"relative error {diff} / {bar}exact{bar} of {r.measure}"
    return f"absolute error {diff} of {r.measure} (the exact value is 0: no relative error)"


def _signed(measured: float | None) -> str:
    return "—" if measured is None else f"{measured:+.1f}"


def _point(r: ErrorVsH) -> str:
    return render_point(r.variables, r.point)


def table(r: ErrorVsH) -> Any:
    """One row per scheme: raw minimum, robust optimum, theory, slopes; the best scheme starred."""
    from rich import box
    from diffcompare.render.layout import Table

    rel = _use_relative(r)
    unit = "rel err" if rel else "abs err"
    what = {"derivative": "d/dx", "gradient": "gradient", "partial": f"∂/∂{r.component}"}[r.kind]
    t = Table(
        box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False,  # fits 80 columns
        title=f"error vs step h: {what} of {r.function} at {_point(r)}",
        caption=(
            f"exact {r.kind} (50 digits; {r.reference_method}): {fmt(r.reference, 17)}\nerror: {error_words(r)}\n"
            f"best: the smallest error measured on the grid (partly luck). robust: the minimum of the fitted "
            f"model E(h) = A·h^p + B·h^q (running median, two log-log lines). theory: h* = eps^(1/(a+1))·max(|x|,1),"
            f" error eps^(a/(a+1)) (complex: error eps for any h below h*). slopes: fitted (expected). "
            f"★ smallest robust error. {len(r.h)} steps from {r.h[0]:.0e} to {r.h[-1]:.0e}, "
            f"{r.seconds:.2f} s"),
    )
    t.add_column("scheme", no_wrap=True)
    # eight narrow columns fit an 80-column terminal; numbers fold rather than lose digits
    for head in ("best\nh", f"best\n{unit}", "robust\nh", f"robust\n{unit}", "theory\nh*",
                 f"theory\n{'err' if rel else 'rel err'}"):
        t.add_column(head, justify="right", no_wrap=True)
    t.add_column("slopes\ntrunc/\nround", justify="right", no_wrap=True)
    calls = ", ".join(f"{c.scheme} {c.calls_per_step * (1 if r.kind != 'gradient' else len(r.variables))}"
                      for c in r.schemes)
    expected = ", ".join(f"{c.scheme} {c.expected_slopes['truncation']:g}/{c.expected_slopes['round_off']:g}"
                         for c in r.schemes)
    t.caption += f"\ncalls of f per step: {calls}.\nslopes fitted on each side of the V; expected: {expected}"
    notes = "".join(f"\n{c.scheme}: {c.note}" for c in r.schemes if c.note)
    t.caption += notes
    star = r.best_scheme
    for c in r.schemes:
        best = c.best_rel_error if rel else c.best_abs_error
        robust = c.robust_rel_error if rel else c.robust_abs_error
        name = c.scheme + (" ★" if c.scheme == star else "")
        theory_h = f"≤{_e(c.theory_h)}" if c.scheme == "complex" else _e(c.theory_h)
        t.add_row(
            f"[bold]{name}[/bold]" if c.scheme == star else name,
            _e(c.best_h), _e(best), _e(c.robust_h), f"[bold]{_e(robust)}[/bold]" if c.scheme == star else _e(robust),
            theory_h, _e(c.theory_error),
            f"{_signed(c.slopes['truncation'])}/{_signed(c.slopes['round_off'])}",
        )
    for ref in r.references:
        label = _REFERENCE_LABEL.get(ref.backend, ref.backend)
        if ref.unsupported:
            t.add_row(label, f"[dim]unsupported: {ref.unsupported}[/dim]", *[""] * 6)
            continue
        err = ref.rel_error if rel else ref.abs_error
        t.add_row(f"[dim]{label}[/dim]", "no step", _e(err), "", "", "", "", "")
    if not r.peers:
        return t
    from rich.console import Group

    return Group(t, peers_table(r))


def peers_table(r: ErrorVsH) -> Any:
    """numdifftools' and scipy's own best estimates: they choose their steps; what it cost them in calls of f."""
    from rich import box
    from rich.markup import escape

    from diffcompare.render.layout import Table

    rel = _use_relative(r)
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False,
              title="the libraries' own best estimates (each chooses its steps)",
              caption="est: the library's own error estimate (absolute); calls: calls of f it made"
              + (" for the whole gradient" if r.kind != "derivative" else ""))
    t.add_column("library", no_wrap=True)
    t.add_column("version", no_wrap=True)
    t.add_column("rel err" if rel else "abs err", justify="right", no_wrap=True)
    t.add_column("est", justify="right", no_wrap=True)
    t.add_column("calls", justify="right", no_wrap=True)
    failed = []
    for p in r.peers:
        name, _, version = (p.library or p.backend).partition(" ")
        if p.unsupported:
            t.add_row(p.backend, version or "—", "—", "—", "—")
            failed.append(f"{p.backend}: {p.unsupported}")
            continue
        t.add_row(p.backend, version or "—", _e(p.rel_error if rel else p.abs_error), _e(p.error_estimate),
                  "—" if p.evaluations is None else str(p.evaluations))
    if failed:
        t.caption += "".join(f"\n{escape(line)}" for line in failed)
    return t


def _e(v: float | None) -> str:
    """Two significant digits with a short exponent (7.3e-9), so that the table fits 80 columns."""
    if v is None:
        return "—"
    if v == 0:
        return "0"  # exact, not "0.0e0"
    if not math.isfinite(v):  # a nan or inf answer (AD's 0*inf at a kink)
        return str(v)
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def plot_text(r: ErrorVsH, width: int = 72, height: int = 20) -> str:
    """log10 error against log10 h in characters: the V of each scheme, AD and symbolic as flat lines."""
    from diffcompare.render.termplot import line_plot

    series = {label: (r.h, errs) for label, errs in _series(r).items()}
    unit = "relative" if _use_relative(r) else "absolute"
    text = line_plot(series, logx=True, logy=True, width=width, height=height, xlabel="step h",
                     ylabel=f"{unit} error", title=f"{unit} error of each scheme against the step h")
    if _has_zero(r):
        text += f"\n(an error of exactly 0 is drawn at {ZERO_FLOOR:.0e})"
    return text


def _floor(e: float | None) -> float | None:
    return None if e is None else max(e, ZERO_FLOOR)


def _has_zero(r: ErrorVsH) -> bool:
    errs = [e for c in r.schemes for e in _errors(r, c)]
    errs += [ref.rel_error if _use_relative(r) else ref.abs_error for ref in r.references]
    return any(e == 0 for e in errs if e is not None)


def to_json(r: ErrorVsH) -> dict[str, Any]:
    """The JSON document: the curves as lists, the three optima, the slopes, and the flat references."""
    schemes = []
    for c in r.schemes:
        schemes.append({
            "scheme": c.scheme, "accuracy": c.accuracy, "calls_per_step": c.calls_per_step,
            "h": c.h, "derivative": c.derivative, "abs_error": c.abs_error, "rel_error": c.rel_error,
            "best_h": c.best_h, "best_abs_error": c.best_abs_error, "best_rel_error": c.best_rel_error,
            "robust_h": c.robust_h, "robust_abs_error": c.robust_abs_error, "robust_rel_error": c.robust_rel_error,
            "theory_h": c.theory_h, "theory_error": c.theory_error,
            "slopes": c.slopes, "expected_slopes": c.expected_slopes, "model": c.model,
            "failed_steps": c.failed, "note": c.note,
        })
    return {
        "function": r.function,
        "variables": list(r.variables),
        "point": dict(zip(r.variables, r.point)),
        "kind": r.kind,
        "component": r.component,
        "measure": r.measure,
        "value": r.value,
        "reference": r.reference,
        "reference_digits": digits50(r.reference),
        "reference_method": r.reference_method,
        "h": r.h,
        "best_scheme": r.best_scheme,
        "schemes": schemes,
        "references": [{"backend": ref.backend, "derivative": ref.derivative, "abs_error": ref.abs_error,
                        "rel_error": ref.rel_error, "unsupported": ref.unsupported} for ref in r.references],
        "peers": [{"backend": p.backend, "library": p.library, "derivative": p.derivative, "abs_error": p.abs_error,
                   "rel_error": p.rel_error, "evaluations": p.evaluations, "error_estimate": p.error_estimate,
                   "unsupported": p.unsupported} for p in r.peers],
        "seconds": r.seconds,
        "notes": {
            "best": "the smallest error measured on the grid (partly luck)",
            "robust": "the minimum of the fitted model E(h) = A h^p + B h^q over the running median of "
                      "log10 error; for the complex step (no round-off arm) the largest h within 2x of the floor",
            "theory": "rule of thumb h* = eps^(1/(a+1)) max(|x|,1), relative error eps^(a/(a+1)); "
                      "complex step: error ~eps for every h below theory_h",
            "slopes": "fitted log-log slopes of the truncation side (large h) and the round-off side (small h)",
            "null": "a step where f could not be evaluated (outside its domain, overflow)",
        },
    }



def to_csv(r: ErrorVsH) -> str:
    """Long format: one row per (scheme, h). Gradients get one derivative column per variable."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    vector = r.kind == "gradient"
    names = [f"derivative_{n}" for n in r.variables] if vector else ["derivative"]
    w.writerow(["scheme", "h", *names, "abs_error", "rel_error"])
    for c in r.schemes:
        for h, d, a, rel in zip(c.h, c.derivative, c.abs_error, c.rel_error):
            ds = ([_num(v) for v in d] if d is not None else [""] * len(names)) if vector else [_num(d)]
            w.writerow([c.scheme, repr(h), *ds, _num(a), _num(rel)])
    return buf.getvalue()


def _num(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else repr(float(v))


def save_plot(r: ErrorVsH, path: str) -> None:
    """The figure of :func:`figure`, saved to ``path``."""
    from diffcompare.render.figures import pyplot

    plt = pyplot()
    fig = figure(plt, r)
    fig.savefig(path)
    plt.close(fig)


def figure(plt: Any, r: ErrorVsH) -> Any:
    """matplotlib log-log figure: each scheme's curve, its robust optimum (star) and raw minimum (ring).

    Each scheme has its own marker so that curves crossing or running together stay distinguishable;
    identical curves are drawn once with a joint label; AD and symbolic are flat lines named in the legend.
    """
    rel = _use_relative(r)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    curves = {c.scheme: c for c in r.schemes}
    drawn = _series(r)
    for k, (label, errs) in enumerate(drawn.items()):
        names = label.split(" = ")
        pts = [(h, e) for h, e in zip(r.h, errs) if e is not None]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        peer_calls = [f"{p.evaluations} calls" for p in r.peers if p.backend in names and p.evaluations is not None]
        if names[0] not in curves and peer_calls:  # a library's own best estimate: it picked its steps
            ax.loglog(xs, ys, "-.", lw=1.2, color=f"C{6 + k % 4}",
                      label=f"{label} (own steps, {' / '.join(peer_calls)})")
            continue
        if names[0] not in curves:  # only AD / symbolic: a flat line without a step
            ax.loglog(xs, ys, "--", lw=1, color="gray", label=f"{label} (no step)")
            continue
        slopes = ", ".join(f"slope {curves[n].accuracy}" for n in names if n in curves)
        # earlier curves wider and with larger markers: a curve running under a later one still shows
        later = len(drawn) - 1 - k
        (line,) = ax.loglog(xs, ys, "-", marker=_MARKERS[k % len(_MARKERS)], lw=1 + 0.4 * later,
                            ms=3.5 + 0.8 * later, mfc="none", label=f"{label} ({slopes})")
        for name in names:
            c = curves.get(name)
            if c is None:
                continue
            best = c.best_rel_error if rel else c.best_abs_error
            robust = c.robust_rel_error if rel else c.robust_abs_error
            if best is not None:
                ax.plot([c.best_h], [max(best, ZERO_FLOOR)], "o", mfc="none", color=line.get_color(), ms=9)
            if robust is not None:
                ax.plot([c.robust_h], [max(robust, ZERO_FLOOR)], "*", color=line.get_color(), ms=12)
    ax.axhline(2.220446049250313e-16, ls=":", lw=0.8, color="black")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error" if rel else "absolute error")
    zero = f", 0 drawn at {ZERO_FLOOR:.0e}" if _has_zero(r) else ""
    ax.set_title(f"{r.function} at {_point(r)}\n{error_words(r)}\n"
                 f"star: robust optimum (fitted model), ring: raw measured minimum, dotted: eps{zero}", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
