"""``dedup``: drop exact duplicates (after normalising the text) and near duplicates
(embedding cosine >= ``tau``), keeping every matched pair so a user can see why a text went.

Choices where METHOD.md §4 is silent: the first occurrence is kept (generation order); a
duplicate is dropped whatever its label (two labels on one text is a duplicate too, and the
pair records both labels); a near duplicate is matched only against texts already kept, so
chains (a≈b≈c with a≉c) drop b and keep c.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbench import Example, InterventionContext, InterventionOutcome, normalise_text
from synthbench_interventions._removal import Matching

BLOCK = 512  # rows of the similarity matrix computed at once; never n x n in memory


normalise = normalise_text  # NFKC, case folded, non-alphanumeric runs made one space


class Dedup(Matching):
    """Exact and near-duplicate removal.

    :param tau: cosine similarity at or above which two texts are near duplicates.
    :param exact: drop texts whose normalised form was seen before.
    :param near: drop texts within ``tau`` of a kept text (MiniLM embeddings).
    """

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        pairs: list[dict[str, Any]] = []
        kept: list[int] = []
        first: dict[str, int] = {}
        for index, example in enumerate(examples):
            form = normalise(example.text)
            if self.exact and form in first:
                pairs.append(_pair("exact", examples, first[form], index, 1.0))
                continue
            first.setdefault(form, index)
            kept.append(index)
        exact_dropped = len(examples) - len(kept)
        embedder_name = None
        if self.near and len(kept) > 1:
            embedder = ctx.embedder()
            embedder_name = embedder.name
            vectors = embedder.encode([examples[i].text for i in kept])
            survivors = self._near(vectors)
            for position, (match, cosine) in enumerate(survivors):
                if match is not None:
                    pairs.append(_pair("near", examples, kept[match], kept[position], cosine))
            kept = [kept[p] for p, (match, _) in enumerate(survivors) if match is None]
        n = len(examples)
        near_dropped = n - exact_dropped - len(kept)
        report = {
            "n_in": n, "n_out": len(kept),
            "exact_duplicates": exact_dropped, "near_duplicates": near_dropped,
            "exact_rate": exact_dropped / n if n else 0.0,
            "near_rate": near_dropped / n if n else 0.0,
            "cross_label_pairs": sum(p["kept_label"] != p["dropped_label"] for p in pairs),
            "tau": self.tau, "embedder": embedder_name,
            "pairs": sorted(pairs, key=lambda p: p["dropped"]),
        }
        return InterventionOutcome(tuple(examples[i] for i in kept), report)

    def _near(self, vectors: np.ndarray[Any, Any]) -> list[tuple[int | None, float]]:
        """Per row: the most similar earlier *kept* row at cosine >= tau, or None (kept)."""
        n = len(vectors)
        matched: list[tuple[int | None, float]] = []
        alive = np.ones(n, dtype=bool)
        for start in range(0, n, BLOCK):
            block = vectors[start:start + BLOCK] @ vectors[:start + BLOCK].T
            for offset in range(block.shape[0]):
                row = start + offset
                sims = np.where(alive[:row], block[offset, :row], -np.inf)
                best = int(np.argmax(sims)) if row else -1
                if row and sims[best] >= self.tau:
                    alive[row] = False
                    matched.append((best, float(sims[best])))
                else:
                    matched.append((None, 0.0))
        return matched


def _pair(kind: str, examples: Sequence[Example], kept: int, dropped: int,
          cosine: float) -> dict[str, Any]:
    return {"kind": kind, "kept": kept, "dropped": dropped, "cosine": round(cosine, 4),
            "kept_text": examples[kept].text, "dropped_text": examples[dropped].text,
            "kept_label": examples[kept].label, "dropped_label": examples[dropped].label}
