"""Test settings: on CI (CI=true), hypothesis draws the same examples every run, so a run is repeatable."""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# With DIFFCOMPARE_REQUIRE_PEERS=1 (CI, after `pip install ".[peers]"`), a peer test skipped because its library is
# missing fails instead: a broken install of the extra must not pass as "skipped".
REQUIRE_PEERS = os.environ.get("DIFFCOMPARE_REQUIRE_PEERS") == "1"
PEER_SKIP = "pip install 'diffcompare[peers]'"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_PEERS and report.skipped and PEER_SKIP in str(report.longrepr):
        report.outcome = "failed"


# ---- the AD transforms, eager and under jit ---------------------------------------------------------------
# A test that takes the fixture ``ad`` runs twice: with diffcompare.ad itself and with every transform jitted
# (tests/jitflavour.py). ``@pytest.mark.eager_only("why")``: the jit run is skipped, saying why (tape inspection,
# memory counts, control flow on values that the test means to use). ``@pytest.mark.jit_slow``: the jit run
# of an expensive test belongs to the long run (-m slow), but for the cases ``default(params)`` keeps (a cheap
# representative subset: ``@pytest.mark.jit_slow(default=lambda p: p["order"] == 1)``).


@pytest.fixture(params=["eager", "jit"])
def ad(request):
    from tests import jitflavour

    if request.param == "jit":
        marker = request.node.get_closest_marker("eager_only")
        if marker is not None:
            pytest.skip(f"jit does not apply: {marker.args[0]}")
        lean = getattr(request.node, "callspec", None) and request.node.callspec.params.get("lean_sizes")
        if lean not in (None, "large arrays lean"):
            pytest.skip("jit stages the reference rows whatever the eager engine's lean setting: one setting runs")
    jitflavour.CURRENT_TEST[0] = request.node.nodeid
    return jitflavour.FLAVOURS[request.param]


@pytest.hookimpl(tryfirst=True)  # before -m deselects the slow ones
def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        marker = item.get_closest_marker("jit_slow")
        if callspec is None or callspec.params.get("ad") != "jit" or marker is None:
            continue
        default = marker.kwargs.get("default")  # the cheap cases whose jit run stays in the default run
        if default is None or not default(callspec.params):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter):
    if os.environ.get("DIFFCOMPARE_JIT_REPORT") != "1":
        return
    from tests import jitflavour

    tests = sorted({t for t, _ in jitflavour.EAGER_RUNS})
    terminalreporter.write_line(f"jit flavour: {len(jitflavour.EAGER_RUNS)} call(s) in {len(tests)} test(s) ran "
                                "eagerly (rules that read values):")
    for t in tests:
        reasons = sorted({m.split("(", 1)[1].split(")", 1)[0] for tt, m in jitflavour.EAGER_RUNS if tt == t})
        terminalreporter.write_line(f"  {t}: {'; '.join(reasons)}")
    tests = sorted({t for t, _ in jitflavour.FALLBACKS})
    terminalreporter.write_line(f"jit flavour: {len(jitflavour.FALLBACKS)} compiled call(s) in {len(tests)} test(s) "
                                "met a math error (a float divided by 0, ...) and ran eagerly:")
    for t in tests:
        errors = sorted({e for tt, e in jitflavour.FALLBACKS if tt == t})
        terminalreporter.write_line(f"  {t}: {'; '.join(errors)}")
