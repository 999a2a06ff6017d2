"""``label_replacement`` (Chung, Kamar & Amershi, ACL 2023): relabel generated texts; the
texts themselves never change.

``k="all"``: the oracle (a classifier trained on real data) relabels every text — Chung's
oracle study. ``k=<int>``: k texts are "inspected" and get the oracle's label (the human is
simulated by the oracle, as in Chung's oracle study: say so wherever results are shown);
on their MiniLM embeddings one linear SVC per class (one-vs-rest) is trained, and every
other text gets the label with the highest S = w·S_specified + (1 − w)·S_proxy, w = 0.3,
where S_specified is 1 for the label the text was generated for and 0 otherwise.

Choices where the paper is silent: S_proxy is the logistic sigmoid of the class's SVC
decision value (so it lies in [0, 1] like S_specified); a class with no inspected positive
scores 0 (all positive: 1); the inspected texts are the first k of one seeded permutation,
so the items inspected at k = 90 are among those at k = 180 and 270; a tie keeps the
intended label.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbench import Example, InterventionContext, InterventionOutcome, request_seed

SHOWN_CHANGES = 500  # changed rows listed in the report (all are counted)


class LabelReplacement:
    """Relabel with the oracle (``k="all"``) or with per-class proxies trained on k items.

    :param k: ``"all"`` or the number of inspected items (Chung: 90, 180, 270).
    :param weight_specified: w in S = w·S_specified + (1 − w)·S_proxy (Chung: 0.3).
    :param C: regularisation of the linear SVCs.
    """

    def __init__(self, k: int | str = "all", weight_specified: float = 0.3,
                 C: float = 1.0) -> None:
        if k != "all" and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ValueError(f"k must be 'all' or a positive integer, got {k!r}")
        if isinstance(weight_specified, bool) or not 0 <= weight_specified <= 1:
            raise ValueError(f"weight_specified must be in [0, 1], got {weight_specified!r}")
        if isinstance(C, bool) or not C > 0:
            raise ValueError(f"C must be > 0, got {C!r}")
        self.k = k
        self.weight_specified = float(weight_specified)
        self.C = float(C)

    def get_params(self) -> dict[str, Any]:
        return {"k": self.k, "weight_specified": self.weight_specified, "C": self.C}

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        texts = [e.text for e in examples]
        n = len(examples)
        oracle_labels = [str(x) for x in ctx.oracle().predict(texts)] if n else []
        order = list(range(n))
        random.Random(request_seed(ctx.seed, "label_replacement")).shuffle(order)
        report: dict[str, Any] = {"k": self.k, "n_in": n,
                                  "inspection": "simulated by the oracle (minilm_lr trained on "
                                                "real training data), as in Chung's oracle study"}
        if not isinstance(self.k, int) or self.k >= n:
            new = list(oracle_labels)
            source = ["oracle"] * n
            report["mode"] = "oracle"
        else:
            inspected = set(order[:self.k])
            proxy = self._proxy(ctx, examples, sorted(inspected), oracle_labels)
            new, source = [], []
            for i in range(n):
                if i in inspected:
                    new.append(oracle_labels[i])
                    source.append("inspected")
                else:
                    new.append(proxy[i])
                    source.append("proxy")
            rest = [i for i in range(n) if i not in inspected]
            report.update({
                "mode": "proxy", "n_inspected": len(inspected),
                "inspected": sorted(inspected),
                "inspected_label_counts": dict(sorted(Counter(
                    oracle_labels[i] for i in inspected).items())),
                "proxy_agreement_with_oracle": (
                    float(np.mean([new[i] == oracle_labels[i] for i in rest])) if rest
                    else None),
            })
        changed = [i for i in range(n) if new[i] != examples[i].label]
        report.update({
            "changed": len(changed), "changed_rate": len(changed) / n if n else 0.0,
            "transitions": dict(sorted(Counter(
                f"{examples[i].label} -> {new[i]}" for i in changed).items())),
            "label_counts_before": dict(sorted(Counter(e.label for e in examples).items())),
            "label_counts_after": dict(sorted(Counter(new).items())),
            "changes": [{"index": i, "from": examples[i].label, "to": new[i],
                         "source": source[i]} for i in changed[:SHOWN_CHANGES]],
        })
        out = tuple(
            Example(e.text, new[i], {**dict(e.meta),
                                      "intended_label": e.meta.get("intended_label", e.label),
                                      "label_source": source[i]})
            for i, e in enumerate(examples))
        return InterventionOutcome(out, report)

    def _proxy(self, ctx: InterventionContext, examples: Sequence[Example],
               inspected: list[int], oracle_labels: list[str]) -> list[str]:
        """The label of highest S for every text, from per-class SVCs on the inspected."""
        labels = list(ctx.task.label_names)
        vectors = ctx.embedder().encode([e.text for e in examples])
        train = vectors[inspected]
        proxy = np.zeros((len(examples), len(labels)))
        for column, label in enumerate(labels):
            target = np.array([oracle_labels[i] == label for i in inspected])
            if target.all() or not target.any():
                proxy[:, column] = 1.0 if target.all() else 0.0
                continue
            from sklearn.svm import LinearSVC

            svc = LinearSVC(C=self.C, random_state=0).fit(train, target)
            proxy[:, column] = 1.0 / (1.0 + np.exp(-svc.decision_function(vectors)))
        specified = np.array([[float(e.label == label) for label in labels] for e in examples])
        score = self.weight_specified * specified + (1 - self.weight_specified) * proxy
        picked = []
        for i, example in enumerate(examples):
            best = float(score[i].max())
            if example.label in labels and score[i, labels.index(example.label)] >= best:
                picked.append(example.label)
            else:
                picked.append(labels[int(np.argmax(score[i]))])
        return picked
