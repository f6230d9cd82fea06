"""Option text turned into numbers: ``--range LO:HI`` and size lists such as ``--n 10,100,1e3``.

The analyses receive numbers; reading what the user typed, and saying in one line what is wrong
with it (naming the option), is the command line's job.
"""

from __future__ import annotations

__all__ = ["parse_grid", "parse_range"]


def parse_range(text: str, option: str = "--range") -> tuple[float, float]:
    """``"-6:6"`` or ``"-2*pi:2*pi"`` -> (lo, hi) with lo < hi, both finite."""
    import numpy as np

    from diffcompare.errors import DiffcompareError
    from diffcompare.parse import parse_constant

    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise DiffcompareError(f"{option} must look like LO:HI (e.g. -6:6 or -2*pi:2*pi), not {text!r}")
    try:
        lo, hi = (parse_constant(p.strip()) for p in parts)
    except DiffcompareError as exc:
        raise DiffcompareError(f"{option} {text!r}: {exc}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise DiffcompareError(f"{option} must be finite, not {text!r}")
    if not lo < hi:
        raise DiffcompareError(f"{option} {text!r} is empty or inverted: LO must be below HI")
    return float(lo), float(hi)


def parse_grid(text: str, name: str = "n", minimum: int = 1) -> list[int]:
    """``"10,100,1e3"`` -> ``[10, 100, 1000]`` (sorted, unique); one-line error on anything else."""
    import numpy as np

    from diffcompare.analysis.cost import MAX_GRID
    from diffcompare.errors import DiffcompareError

    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = float(part)
        except ValueError:
            raise DiffcompareError(f"--{name}: {part!r} is not a number") from None
        if not np.isfinite(v) or v != int(v) or v < minimum:
            raise DiffcompareError(f"--{name}: {part!r} is not a whole number >= {minimum}")
        if v > MAX_GRID:
            raise DiffcompareError(f"--{name}: {part} is larger than the limit {MAX_GRID:.0e}")
        values.append(int(v))
    if not values:
        raise DiffcompareError(f"--{name} is empty: give sizes such as 10,100,1000")
    return sorted(set(values))
