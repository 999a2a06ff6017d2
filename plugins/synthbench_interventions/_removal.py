"""The report every filtering intervention of this package gives: counts, the share removed,
and the first removed texts with the reason each went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthbench import Example, InterventionOutcome

SHOWN = 50  # removed texts listed in a report (all are counted)


def removal(examples: Sequence[Example], reasons: dict[int, dict[str, Any]],
            **summary: Any) -> InterventionOutcome:
    """Keep the examples without a reason, in order; report the others, ``reasons[i]`` beside
    each listed text, and ``summary`` (the step's own counts and settings)."""
    n = len(examples)
    removed = sorted(reasons)
    report = {"n_in": n, "n_out": n - len(removed), "removed": len(removed),
              "removed_rate": len(removed) / n if n else 0.0, **summary,
              "removed_texts": [{"index": i, "text": examples[i].text,
                                 "label": examples[i].label, **reasons[i]}
                                for i in removed[:SHOWN]]}
    return InterventionOutcome(tuple(e for i, e in enumerate(examples) if i not in reasons),
                               report)
