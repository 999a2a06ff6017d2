"""``copy_filter``: remove synthetic texts that copy a real training text, exactly (after
``normalise_text``) or nearly (MiniLM cosine >= ``tau``, the leakage threshold by default).

The reference is the whole train split, which holds every example a few-shot prompt can
quote, so copies of the prompt's examples go too. The detection is the train-copy metric's
(``copies_of_train``), so what this step removes is what ``metrics.train_copies`` counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from synthbench import Example, InterventionContext, InterventionOutcome, copies_of_train
from synthbench_interventions._removal import Matching, removal


class CopyFilter(Matching):
    """Removal of copies of the training data.

    :param tau: cosine at or above which a text is a near copy of a train text.
    :param exact: remove texts whose normalised form is a normalised train text.
    :param near: remove texts within ``tau`` of a train text.
    """

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        texts = [e.text for e in examples]
        train = [e.text for e in ctx.train]
        embedder = ctx.embedder()
        found = copies_of_train(texts, embedder.encode(texts), train, embedder.encode(train),
                                self.tau if self.near else 2.0, shown=len(texts))
        reasons = {p["synthetic"]: {"kind": "exact" if self.exact and p["kind"] == "exact"
                                    else "near", "cosine": p["cosine"],
                                    "train_index": p["train"], "train_text": p["train_text"]}
                   for p in found["pairs"] if (self.exact and p["kind"] == "exact")
                   or (self.near and p["cosine"] >= self.tau)}
        return removal(examples, reasons, exact_copies=sum(
            r["kind"] == "exact" for r in reasons.values()),
            near_copies=sum(r["kind"] == "near" for r in reasons.values()),
            tau=self.tau, embedder=embedder.name)
