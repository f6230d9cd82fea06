"""End-to-end timings of the CLI commands, interpreter start included, against the issue's targets.

Each command runs as ``python -m diffcompare ...`` in a subprocess (stdout discarded, so no
terminal rendering), a few times; the median wall time is reported. Targets (issue 4):

- ``swell --n 5``: under 3 s end to end;
- ``swell --n 20 --timeout 2``: under 60 s, with every textbook-derivative size filled in (checked
  on its ``--json`` output);
- ``error-vs-h`` with the defaults: under 1 s of *computation*, estimated as its end-to-end time
  minus that of ``--help`` (interpreter start and CLI import);
- ``--help``: under 0.5 s.

The machine is shared: run it when nothing else is running, and read the numbers as an upper bound.
Run from the repository root: ``python -m benchmarks.bench_commands``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT_ARGS = [sys.executable, "-m", "diffcompare"]


def _time(args: list[str], repeats: int) -> tuple[float, list[float], subprocess.CompletedProcess]:
    times, last = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        last = subprocess.run(ROOT_ARGS + args, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, last


def _row(name: str, seconds: float, target: float, ok: bool, runs: list[float], note: str = "") -> dict[str, Any]:
    return {"command": name, "seconds": seconds, "target_seconds": target, "passed": ok and seconds < target,
            "runs": runs, "note": note}


def _swell20_note(proc: subprocess.CompletedProcess) -> tuple[bool, str]:
    if proc.returncode != 0:
        return False, f"exit code {proc.returncode}: {proc.stderr.strip()[:200]}"
    rows = json.loads(proc.stdout)["rows"]
    keys = ("expression_tree_size", "expression_dag_size", "derivative_tree_size", "derivative_dag_size",
            "ad_tape_ops")
    filled = len(rows) == 20 and all(r[k] is not None for r in rows for k in keys)
    timed_out = sorted({c for r in rows for c in r["timed_out"]})
    first = {c: min(r["n"] for r in rows if c in r["timed_out"]) for c in timed_out}
    return filled, ("textbook sizes filled for n = 1..20" if filled else "textbook sizes MISSING") + (
        "; timed out from " + ", ".join(f"{c} n={k}" for c, k in first.items()) if first else "")


def run(repeats: int = 3) -> list[dict[str, Any]]:
    """The four measurements as dicts: command, seconds (median), target_seconds, passed, runs, note."""
    results = []
    help_s, runs, proc = _time(["--help"], repeats)
    results.append(_row("diffcompare --help", help_s, 0.5, proc.returncode == 0, runs))

    s, runs, proc = _time(["swell", "--n", "5"], repeats)
    results.append(_row("diffcompare swell --n 5", s, 3.0, proc.returncode == 0, runs))

    s, runs, proc = _time(["swell", "--n", "20", "--timeout", "2", "--json"], 1)  # ~tens of seconds: once
    ok, note = _swell20_note(proc)
    results.append(_row("diffcompare swell --n 20 --timeout 2 (--json)", s, 60.0, ok, runs, note))

    s, runs, proc = _time(["error-vs-h"], repeats)
    if proc.returncode != 0:
        note = f"exit code {proc.returncode}: {proc.stderr.strip()[:200]}"
        results.append(_row("diffcompare error-vs-h (computation)", float("nan"), 1.0, False, runs, note))
    else:
        results.append(_row("diffcompare error-vs-h (computation)", s - help_s, 1.0, True, runs,
                            f"end to end {s:.2f} s minus --help {help_s:.2f} s"))
    return results


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="diffcompare commands end to end (python -m diffcompare ..., median)")
    for col in ("command", "seconds", "target", "", "note"):
        t.add_column(col, justify="right" if col in ("seconds", "target") else "left")
    for r in run():
        verdict = "[green]pass[/green]" if r["passed"] else "[red]FAIL[/red]"
        t.add_row(r["command"], f"{r['seconds']:.2f}", f"< {r['target_seconds']:g}", verdict, r["note"])
    Console().print(t)


if __name__ == "__main__":
    main()
