"""What the filtering interventions of this package share: the parameters of exact and near
matching, and the report each gives (counts, the share removed, and the first removed texts
with the reason each went)."""

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


class Matching:
    """Exact (normalised text) and near (cosine >= ``tau``) matching, as ``dedup`` and
    ``copy_filter`` take it: validated once, reported by ``get_params``."""

    def __init__(self, tau: float = 0.95, exact: bool = True, near: bool = True) -> None:
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 < tau <= 1:
            raise ValueError(f"tau must be a number in (0, 1], got {tau!r}")
        if not isinstance(exact, bool) or not isinstance(near, bool):
            raise ValueError("exact and near must be true or false")
        self.tau = float(tau)
        self.exact = exact
        self.near = near

    def get_params(self) -> dict[str, Any]:
        return {"tau": self.tau, "exact": self.exact, "near": self.near}
