"""The leaderboard, one way: ``tables`` (records -> board, pure) -> ``text`` (Markdown, CSV)
and ``plots`` / ``page`` -> ``products`` (the files ``synthbench leaderboard`` writes)."""

from synthbench.leaderboard.products import rebuild, write_products
from synthbench.leaderboard.tables import BreakEvenKeys, break_even, build, generator_labels
from synthbench.leaderboard.text import (
    break_even_table,
    format_number,
    measured_section,
    summary_table,
    to_markdown,
)

__all__ = [
    "BreakEvenKeys",
    "break_even",
    "break_even_table",
    "build",
    "format_number",
    "generator_labels",
    "measured_section",
    "rebuild",
    "summary_table",
    "to_markdown",
    "write_products",
]
