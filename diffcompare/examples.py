"""The lecture's named functions (``data/examples.toml``, shipped as ``diffcompare.data``)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from importlib.resources import files
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Example", "close_example", "load_examples", "resolve"]

_FIELDS = ("name", "expression", "point", "description", "source")


@dataclass(frozen=True)
class Example:
    """A named function of the lecture: its expression, the point it is studied at, and where it appears."""

    name: str
    expression: str
    point: str
    description: str
    source: str


def read_toml(filename: str) -> dict[str, Any]:
    """A TOML file of the data folder, parsed (tomllib, or tomli before Python 3.11)."""
    return tomllib.loads(_read_data(filename))


def _read_data(filename: str) -> str:
    """A file of ``diffcompare.data``; from a source checkout (not installed) read ``<repo>/data``."""
    try:
        return files("diffcompare.data").joinpath(filename).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parent.parent / "data" / filename).read_text(encoding="utf-8")


@functools.cache
def _load() -> tuple[Example, ...]:
    text = _read_data("examples.toml")
    entries = tomllib.loads(text).get("example", [])
    examples = []
    for i, entry in enumerate(entries):
        missing = [f for f in _FIELDS if not isinstance(entry.get(f), str)]
        if missing:
            raise ValueError(f"examples.toml entry {i + 1}: missing or non-string {', '.join(missing)}")
        examples.append(Example(**{f: entry[f] for f in _FIELDS}))
    return tuple(examples)


def load_examples() -> dict[str, Example]:
    """All named examples, by name, in file order (read once, then cached)."""
    return {ex.name: ex for ex in _load()}


def close_example(name: str) -> str | None:
    """The example name a lone name most likely misspells (``tabel3`` -> ``table3``), or None."""
    import difflib

    name = name.strip()
    if not name.isidentifier() or len(name) < 3 or name in load_examples():
        return None
    close = difflib.get_close_matches(name, list(load_examples()), n=1, cutoff=0.7)
    return close[0] if close else None


def resolve(text: str, declared: Iterable[str] = ()) -> tuple[str, str | None]:
    """``(expression, point)`` for an example name, else ``(text, None)``.

    Every command and the API resolve names here, so a misspelt example name (``dependancy_graph``) is refused
    with a did-you-mean everywhere instead of being read as the expression "that one variable" -- unless the
    user declared it a variable (``--vars``/``variables=`` or a name in ``--at``/``at=``).
    """
    from diffcompare.errors import DiffcompareError

    example = load_examples().get(text.strip())
    if example is None:
        meant = close_example(text)
        name = text.strip()
        if meant is not None and name not in set(declared):
            raise DiffcompareError(f"no example named {name!r} (did you mean {meant!r}?); to differentiate "
                                   f"a variable of that name, declare it with --vars {name} (variables= in Python)")
        return text, None
    return example.expression, example.point
