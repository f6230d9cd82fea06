"""The commands with peers: compare/derivatives --backends, cost --methods, error-vs-h's library lines, backends.

The finite-difference and symbolic peers (numdifftools, scipy, symengine) stand in for all of them: each test
skips with the reason when its library is missing. Grids and orders are the smallest that show the point.
"""

import json
import subprocess
import sys

import pytest

from diffcompare import backends
from diffcompare.cli import main


def _need(*modules):
    for m in modules:
        pytest.importorskip(m, reason=f"{m} is not installed (pip install 'diffcompare[peers]')")


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def without_ad_peers(monkeypatch):
    """jax, torch and autograd as if not installed: `all` stays cheap here (their imports take seconds; their
    own tests are tests/test_peers.py and tests/test_conformance.py)."""
    from diffcompare.backends.peers.autograd import Autograd
    from diffcompare.backends.peers.jax import Jax
    from diffcompare.backends.peers.torch import Torch

    for cls in (Jax, Torch, Autograd):
        monkeypatch.setattr(cls, "version", classmethod(lambda cls: None))


def test_compare_all_runs_every_installed_backend_with_versions(capsys, wide, without_ad_peers):
    _need("numdifftools", "scipy.differentiate", "symengine")
    doc = _json(capsys, ["compare", "table3", "--backends", "all", "--json"])
    rows = {r["backend"]: r for r in doc["results"]}
    assert list(rows)[:4] == ["finite", "symbolic", "reverse", "forward"]
    assert list(rows) == backends.available()
    for name in ("numdifftools", "scipy", "symengine"):
        assert rows[name]["library"].startswith(name + " ")
        assert rows[name]["rel_error"] < 1e-12  # each measured against the same 50-digit reference
    assert rows["numdifftools"]["evaluations"] > 0 and rows["scipy"]["error_estimate"] > 0
    assert main(["compare", "table3", "--backends", "finite,scipy"]) == 0
    out = capsys.readouterr().out
    assert "versions: scipy " in out and "…" not in out


def test_an_unknown_backend_is_one_line_exit_2_listing_the_available(capsys):
    assert main(["compare", "table3", "--backends", "reverse,jaxx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown backend 'jaxx'" in err and "available: finite, symbolic" in err
    assert main(["derivatives", "sin(x)", "--at", "x=1", "--backends", "nope"]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_an_uninstalled_peer_is_named_as_such(capsys, monkeypatch, without_ad_peers):
    _need("numdifftools")
    from diffcompare.backends.peers.numdifftools import Numdifftools

    monkeypatch.setattr(Numdifftools, "version", classmethod(lambda cls: None))
    assert main(["compare", "table3", "--backends", "numdifftools"]) == 2
    err = capsys.readouterr().err
    assert "'numdifftools' is not installed" in err and "diffcompare[peers]" in err
    doc = _json(capsys, ["compare", "table3", "--backends", "all", "--json"])
    assert "numdifftools" not in [r["backend"] for r in doc["results"]]


def test_derivatives_with_peers_to_the_order_each_supports(capsys):
    _need("numdifftools", "scipy.differentiate")
    doc = _json(capsys, ["derivatives", "sin(x)*exp(x)", "--at", "x=0.5", "--order", "3",
                         "--backends", "numdifftools,scipy", "--json"])
    by = {(o["order"], r["backend"]): r for o in doc["orders"] for r in o["results"]}
    assert by[(3, "numdifftools")]["digits"] > 8 and by[(3, "numdifftools")]["library"].startswith("numdifftools")
    assert by[(2, "scipy")]["digits"] > 10 and by[(2, "scipy")]["evaluations"] > 0
    assert "stops at order 2" in by[(3, "scipy")]["failed"]


def test_cost_gradient_measures_peers_in_the_same_run(capsys):
    _need("scipy.differentiate")
    doc = _json(capsys, ["cost", "gradient", "--methods", "reverse,scipy", "--n", "4,8", "--json"])
    rows = [(r["method"], r["n"]) for r in doc["rows"]]
    assert rows == [("f", 4), ("reverse", 4), ("scipy", 4), ("f", 8), ("reverse", 8), ("scipy", 8)]  # interleaved
    scipy = [r for r in doc["rows"] if r["method"] == "scipy"]
    assert all(r["status"] == "ok" and r["evaluations"] >= 2 * r["n"] for r in scipy)
    assert all(r["max_rel_diff"] < 1e-9 for r in scipy)  # against reverse at the same n
    assert doc["versions"]["scipy"].startswith("scipy ")


def test_cost_methods_typo_is_one_line_with_the_peers_listed(capsys):
    _need("scipy.differentiate")
    assert main(["cost", "gradient", "--methods", "reverse,scipyy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown method 'scipyy'" in err and "scipy" in err and "all" in err
    assert main(["cost", "jacobian", "--methods", "jaxx"]) == 2
    assert "unknown method 'jaxx'" in capsys.readouterr().err


def test_cost_jacobian_and_hessian_with_a_peer(capsys):
    _need("numdifftools")
    doc = _json(capsys, ["cost", "jacobian", "--methods", "numdifftools", "--n", "2", "--m", "3", "--json"])
    peer = [r for r in doc["rows"] if r["method"] == "numdifftools"]
    assert len(peer) == 1 and peer[0]["status"] == "ok" and peer[0]["max_rel_diff"] < 1e-9
    doc = _json(capsys, ["cost", "hessian", "--methods", "forward-over-reverse,numdifftools", "--n", "3", "--json"])
    peer = [r for r in doc["rows"] if r["method"] == "numdifftools"]
    assert peer[0]["status"] == "ok" and peer[0]["max_rel_diff"] < 1e-8 and peer[0]["evaluations"] > 9


def test_error_vs_h_lists_the_libraries_best_estimates(capsys, wide):
    _need("numdifftools", "scipy.differentiate")
    doc = _json(capsys, ["error-vs-h", "--points", "8", "--json"])
    peers = {p["backend"]: p for p in doc["peers"]}
    assert set(peers) == {"numdifftools", "scipy"}
    assert peers["scipy"]["evaluations"] == 11 and peers["scipy"]["rel_error"] < 1e-12  # sin at pi/3, scipy 1.15+
    assert peers["numdifftools"]["error_estimate"] > 0
    assert _json(capsys, ["error-vs-h", "--points", "8", "--peers", "none", "--json"])["peers"] == []
    assert main(["error-vs-h", "--points", "8", "--peers", "scipyy"]) == 2
    assert "--peers: unknown backend 'scipyy'" in capsys.readouterr().err
    assert main(["error-vs-h", "--points", "8", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "own best estimates" in out and "numdifftools" in out


def test_backends_lists_every_backend_installed_or_not(capsys, monkeypatch, without_ad_peers):
    _need("scipy.differentiate")
    from diffcompare.backends.peers.symengine import SymEngine

    monkeypatch.setattr(SymEngine, "version", classmethod(lambda cls: None))  # as if symengine were missing
    doc = {b["name"]: b for b in _json(capsys, ["backends", "--json"])}
    assert list(doc)[:4] == ["finite", "symbolic", "reverse", "forward"]
    assert doc["symengine"]["installed"] is False and "diffcompare[peers]" in doc["symengine"]["note"]
    assert doc["jax"]["installed"] is False and doc["jax"]["capabilities"] == {}
    assert doc["scipy"]["orders"] == [1, 2] and doc["scipy"]["library"].startswith("scipy ")
    assert doc["reverse"]["orders"] == [1, 2, 3, 4]
    for name in ("finite", "reverse", "scipy"):
        assert all(c["verdict"] == "ok" for k, c in doc[name]["capabilities"].items() if not k.startswith("order"))


def test_backends_table_keeps_every_word_at_40_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["backends", "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    for name in backends.known():
        assert name in out


def test_backends_without_probes_says_not_probed_not_no(capsys, monkeypatch):
    """--no-probe knows nothing about support: its cells say "?" and the caption says why, never "—" (read as no)."""
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["backends", "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert "not probed (--no-probe)" in out
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] in ("finite", "symbolic", "reverse", "forward"):  # installed: five support cells
            assert cells[3:] == ["?"] * 5, line
    doc = _json(capsys, ["backends", "--no-probe", "--json"])
    assert all(b["probed"] is False and b["capabilities"] == {} for b in doc)


def test_backends_with_probes_marks_them_probed(without_ad_peers):
    from rich.console import Console

    from diffcompare.analysis.catalog import survey
    from diffcompare.render.backends import table, to_json

    infos = [i for i in survey() if i.name in ("finite", "reverse", "jax")]  # jax: "not installed" here
    doc = {b["name"]: b for b in to_json(infos)}
    assert doc["finite"]["probed"] is True and doc["reverse"]["probed"] is True and doc["jax"]["probed"] is False
    console = Console(width=120, record=True)
    console.print(table(infos))
    text = console.export_text()
    assert "not probed" not in text and "?" not in text and "probed on sin(x)*exp(x)" in text


def test_a_probe_that_disagrees_is_marked_wrong(monkeypatch, without_ad_peers):
    """A broken adapter shows in `diffcompare backends`: the probe compares with the exact value."""
    _need("scipy.differentiate")
    from diffcompare.analysis import catalog
    from diffcompare.backends.peers import scipy as peer

    real = peer.Scipy.gradient

    def transposed(self, f, x):
        r = real(self, f, x)
        r.derivative = r.derivative[::-1]
        return r

    monkeypatch.setattr(peer.Scipy, "gradient", transposed)
    info = {i.name: i for i in catalog.survey()}["scipy"]
    assert info.capabilities["gradient"].verdict == "wrong"
    assert info.capabilities["hessian"].verdict == "ok"


def test_importing_the_cli_imports_no_peer_library():
    code = ("import sys, diffcompare.cli; "
            "print(sorted(m for m in ('numdifftools', 'scipy', 'symengine', 'jax', 'torch', 'autograd', 'sympy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("namespace", ["jax", "torch", "autograd"])
def test_every_cost_family_compiles_to_each_peer_library(namespace):
    """cost --methods jax times the same Rosenbrock written in jax.numpy (a numpy function would be Unsupported)."""
    _need(namespace)
    import numpy as np

    from diffcompare.analysis import cost, families
    from diffcompare.namespaces import load

    ns = load(namespace)
    instances = [families.gradient_family(name, 12) for name in families.GRADIENT_FAMILIES]
    instances += [families.tanh_linear(3, 2), cost.instance("sin(x)**2", 5)]
    for inst in instances:
        got = inst.f.compile_for(namespace)(ns.asarray(inst.x))
        got = np.asarray(got.detach() if hasattr(got, "detach") else got, dtype=float)
        # the same operations in the same order; a library may sum in another order (1 ulp per term)
        np.testing.assert_allclose(got, inst.f(inst.x), rtol=1e-14)


@pytest.mark.parametrize("method", ["torch", "autograd", "jax", "jax-jit"])
def test_cost_times_an_ad_peer_on_the_family_written_in_its_library(capsys, method):
    _need(method.removesuffix("-jit"))
    doc = _json(capsys, ["cost", "gradient", "--methods", f"reverse,{method}", "--n", "5", "--json"])
    row = next(r for r in doc["rows"] if r["method"] == method)
    assert row["status"] == "ok", row["status"]
    assert row["max_rel_diff"] < 1e-13  # the same Rosenbrock, float64: a few ulps from ours
    assert doc["versions"][method].startswith(method.removesuffix("-jit") + " ")


def test_sympy_workers_fork_before_any_peer_runs_and_rows_keep_the_order_asked(monkeypatch):
    """A fork after jax/torch started their threads may deadlock (JAX warns): sympy backends run first."""
    from diffcompare.analysis import compare as analysis
    from diffcompare.analysis import derivatives as higher
    from diffcompare.parse import compile_expression

    ran: list[str] = []
    real = backends.get

    def spy(name, **options):
        ran.append(name)
        return real(name, **options)

    monkeypatch.setattr(backends, "get", spy)
    f = compile_expression("sin(x)*exp(x)").function
    c = analysis.compare(f, 0.5, backends=["reverse", "finite", "symbolic"])
    assert ran == ["symbolic", "reverse", "finite"]
    assert [r.backend for r in c.rows] == ["reverse", "finite", "symbolic"]
    d = higher.derivatives(f, 0.5, 2, backends=["reverse", "symbolic"])
    assert [(e.order, e.backend) for e in d.entries] == [(1, "reverse"), (1, "symbolic"), (2, "reverse"),
                                                         (2, "symbolic")]


def test_no_probe_says_what_probing_costs_when_jax_or_torch_is_installed():
    """"(a few seconds)" was untrue with peers installed: the probes took 33-67 s (jax and torch imports)."""
    from diffcompare.analysis.catalog import BackendInfo
    from diffcompare.render.backends import probe_cost

    slow = [BackendInfo("reverse", "AD", True, "diffcompare"), BackendInfo("jax", "AD", True, "jax 0.4"),
            BackendInfo("torch", "AD", True, "torch 2")]
    assert "~20-70 s" in probe_cost(slow) and "jax and torch installed" in probe_cost(slow)
    light = [BackendInfo("reverse", "AD", True, "diffcompare"), BackendInfo("jax", "AD", False, None)]
    assert "a few seconds without jax and torch" in probe_cost(light)


@pytest.mark.parametrize("args", [["cost", "gradient", "--methods", "reverse,jax,torch,autograd"],
                                  ["cost", "hessian", "--methods", "jax"], ["cost", "jacobian", "--methods", "jax"],
                                  ["compare", "table3", "--backends", "jax"]])
def test_a_peer_not_installed_is_named_as_such_by_cost_as_by_compare(capsys, without_ad_peers, args):
    """cost said "unknown method 'jax'" for a peer it knows but cannot run; one wording, from backends.unusable."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "backend 'jax' is not installed (pip install 'diffcompare[peers]')" in err


def test_cost_names_jax_jit_and_unknown_methods_apart(capsys, without_ad_peers):
    assert main(["cost", "gradient", "--methods", "jax-jit"]) == 2
    assert "method 'jax-jit' needs 'jax', which is not installed" in capsys.readouterr().err
    for typo in ("jaxx", "finite", "jaxx-jit"):  # finite is a backend, not a cost method: unknown, not uninstalled
        assert main(["cost", "gradient", "--methods", typo]) == 2
        assert f"unknown method '{typo}'" in capsys.readouterr().err
