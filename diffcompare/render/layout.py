"""One table layout for every command: every column at least as wide as its longest number, or no columns at all.

rich squeezes a table that is too wide by folding or cutting cells ("1,140,850,6…", "2.7182818284" / "5905").
``Table`` renders as a rich table when each column can be given its longest word (a number is one word);
otherwise it splits its columns into several tables that each repeat the key column(s) (``key_columns``, the
first by default) and fit; when not even that fits it stacks its rows: one block per row, one ``header  value``
line per cell. So no number is ever cut. Import it where ``rich.table.Table`` would be imported; it takes the
same arguments, plus ``key_columns``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text

_UNBOUNDED = 10**6  # measure cells without any width limit
#: a space a title or caption never breaks at: between a number and its unit ("92 ms"); rich's own wrapping
#: breaks at any whitespace, U+00A0 included, hence :class:`Unbroken`
NBSP = "\u00a0"
_HOLD = "\u2800"  # one cell wide, not whitespace: stands in for NBSP while rich wraps


class Unbroken(Text):
    """Text that wraps at spaces but never at a no-break space (NBSP)."""

    __slots__ = ()

    def wrap(self, console: Console, width: int, **kwargs: Any) -> Any:
        if NBSP not in self.plain:
            return super().wrap(console, width, **kwargs)
        held = self.copy()
        held.plain = self.plain.replace(NBSP, _HOLD)
        lines = Text.wrap(held, console, width, **kwargs)
        for line in lines:
            line.plain = line.plain.replace(_HOLD, NBSP)
        return lines


class Table(RichTable):
    """A rich Table that never folds a word or elides a digit: widths fit whole words, else rows are stacked."""

    def __init__(self, *args: Any, key_columns: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_columns = key_columns  # the columns that name a row: repeated when the columns are split

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self._whole_word_widths(console, options.max_width)
        if widths is None:
            parts = self._split(console, options.max_width)
            if not parts:
                yield self.stacked()
                return
            yield Group(*self._titled(parts))
            return
        fixed = copy.copy(self)
        fixed.columns = []
        for i, (column, width) in enumerate(zip(self.columns, widths)):
            column = copy.copy(column)
            column.width = max(1, width - self._get_padding_width(i))
            column.min_width = column.max_width = None
            column.ratio = None
            fixed.columns.append(column)
        fixed.expand = False
        if isinstance(self.title, str):  # as Unbroken text: a number and its unit stay on one line
            fixed.title = _text(self.title, "table.title", self.title_justify)
        if isinstance(self.caption, str):
            fixed.caption = _text(self.caption, "table.caption", self.caption_justify)
        yield from RichTable.__rich_console__(fixed, console, options)

    def _whole_word_widths(self, console: Console, width: int) -> list[int] | None:
        """Column widths (padding included) that keep every word whole within ``width``; None when none do.

        rich's own fitting ignores a column's longest word (it shrinks the widest wrappable column first),
        hence this: each column gets its longest word (its longest line when no_wrap), and what is left of
        the width is shared out, the columns that want least served first.
        """
        if not self.columns:
            return []
        lows, highs = [], []
        options = console.options.update_width(_UNBOUNDED)
        for i, column in enumerate(self.columns):
            pad = self._get_padding_width(i)
            cells = ([column.header] if self.show_header else []) + list(column.cells)
            low = high = 1
            for cell in cells:
                m = Measurement.get(console, options, cell)
                low = max(low, m.maximum if column.no_wrap else m.minimum)
                high = max(high, m.maximum)
            lows.append(low + pad)
            highs.append(high + pad)
        room = width - self._extra_width
        if sum(lows) > room:
            return None
        if sum(highs) <= room:
            return highs
        spare, widths = room - sum(lows), list(lows)
        order = sorted(range(len(lows)), key=lambda i: highs[i] - lows[i])
        for k, i in enumerate(order):  # the smallest wishes first, so a short column is not wrapped for a long one
            extra = min(highs[i] - lows[i], spare // (len(order) - k))
            widths[i] += extra
            spare -= extra
        return widths

    def _part(self, indices: list[int]) -> Table:
        """The same table with only the columns ``indices`` (title and caption left to the caller)."""
        part = copy.copy(self)
        part.columns = []
        for j, i in enumerate(indices):
            column = copy.copy(self.columns[i])
            column._index = j
            part.columns.append(column)
        part.title = part.caption = None
        rest = part.columns[min(self.key_columns, len(indices)):]
        keep = [r for r in range(len(self.rows)) if any(not _empty(c._cells[r]) for c in rest if r < len(c._cells))]
        if rest and len(keep) < len(self.rows):  # rows with nothing in this part's columns: left out
            ends = {r for r in range(len(self.rows)) if self.rows[r].end_section}
            keys = part.columns[:min(self.key_columns, len(indices))]
            for column in keys:  # a left-out row's key (derivatives: the order) moves down to the next row shown
                column._cells = _carry_down(column._cells, set(keep), ends)
            for column in part.columns:
                column._cells = [column._cells[r] for r in keep]
            part.rows = [copy.copy(self.rows[r]) for r in keep]
            for row, r, nxt in zip(part.rows, keep, keep[1:] + [len(self.rows)]):
                row.end_section = any(e in ends for e in range(r, nxt))  # a section ends where a left-out one did
        return part

    def _split(self, console: Console, width: int) -> list[Table]:
        """The columns in consecutive groups, each after the key columns, each group as wide as fits;
        [] when the key columns and one other column do not fit side by side."""
        keys = list(range(min(self.key_columns, len(self.columns))))
        groups: list[list[int]] = []
        for i in range(len(keys), len(self.columns)):
            if groups and self._part(keys + groups[-1] + [i])._whole_word_widths(console, width) is not None:
                groups[-1].append(i)
            elif self._part(keys + [i])._whole_word_widths(console, width) is not None:
                groups.append([i])
            else:
                return []
        if len(groups) < 2:
            return []
        return [self._part(keys + g) for g in groups]

    def _titled(self, parts: list[Any]) -> list[Any]:
        """``parts`` between the title and the caption, which wrap at the full width, not a part's."""
        head = [_text(self.title, "table.title", "center")] if self.title else []
        tail = [_text(self.caption, "table.caption", "center")] if self.caption else []
        return head + parts + tail

    def stacked(self) -> Any:
        """The vertical layout: title, then per row a bold heading (its first non-empty cell) and one
        ``header  value`` line per other non-empty cell, then the caption."""
        parts: list[Any] = []
        heads = [_text(c.header, "bold").plain.replace("\n", " ") for c in self.columns]
        columns = [list(c.cells) for c in self.columns]
        for r, row in enumerate(self.rows):
            cells = [(heads[i], col[r]) for i, col in enumerate(columns) if r < len(col) and not _empty(col[r])]
            if not cells:
                continue
            (label, heading), rest = cells[0], cells[1:]
            parts.append(_heading(label, heading))
            if rest:
                parts.append(Padding(_Pairs(rest), (0, 0, 0, 2), style=row.style or ""))
            if row.end_section or r == len(self.rows) - 1 or self.show_lines:
                parts.append(Text(""))
        return Group(*self._titled(parts))


class _Pairs:
    """``label  value`` lines, the values aligned in a column; a value under its label when too narrow."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.pairs = list(pairs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column()
        for label, value in self.pairs:
            grid.add_row(label, value)
        if grid._whole_word_widths(console, options.max_width) is not None:
            yield grid
            return
        for label, value in self.pairs:  # label on its line, value indented below: room for the longest number
            yield Text(label, style="dim")
            yield Padding(value if not isinstance(value, str) else Text.from_markup(value), (0, 0, 0, 2))


def _heading(label: str, value: Any) -> Any:
    """A stacked row's heading: its first cell after that cell's column name (``n 12``, ``order 1``)."""
    if not label or not isinstance(value, (str, Text)):
        return _text(value, "bold")
    text = Text(f"{label} ", style="dim")
    text.append_text(_text(value, "bold") if isinstance(value, str) else Text(value.plain, style="bold"))
    return text


def _carry_down(cells: list[Any], keep: set[int], ends: set[int]) -> list[Any]:
    """Key cells of rows left out of a part move to the next kept row of their section, where its key is empty."""
    out, carried = list(cells), None
    for r, cell in enumerate(cells):
        if r in keep:
            if carried is not None and _empty(cell):
                out[r] = carried
            carried = None
        elif not _empty(cell):
            carried = cell
        if r in ends:
            carried = None
    return out


def _empty(cell: Any) -> bool:
    return (isinstance(cell, str) and not Text.from_markup(cell).plain.strip()) or (
        isinstance(cell, Text) and not cell.plain.strip())


def _text(x: Any, style: str, justify: Any = None) -> Any:
    """A str (rich markup) as Text with ``style`` that never wraps at a no-break space; other renderables as
    they are."""
    if isinstance(x, str):
        text = Text.from_markup(x, style=style)
        text.__class__ = Unbroken
        if justify:
            text.justify = justify
        return text
    return x
