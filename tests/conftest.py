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
