"""The wheel ships every package: ``pip install .`` lists packages by hand in pyproject.toml, and the tests run
from the source tree, so a package missing from that list (ad/fast was) would pass every other test and break
the installed tool."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_under_diffcompare_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "diffcompare").rglob("__init__.py")}
    assert on_disk - listed == set()
