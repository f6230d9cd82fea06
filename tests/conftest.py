"""Test settings: on CI (CI=true), hypothesis draws the same examples every run, so a run is repeatable."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
