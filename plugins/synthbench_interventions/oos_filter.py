"""``oos_filter`` (Chung, Kamar & Amershi, ACL 2023): remove out-of-scope texts with a binary
classifier trained on a small sample marked in or out of scope.

No human is in the loop, so the marking comes from an LLM judge — the cell's own provider —
given the task's definition (its name, description, text type and labels with their
descriptions; the exact prompt is in the report) and asked for "yes" or "no", greedily.
Choices where the paper is silent: ``n_judged`` texts are a seeded random sample; the first
"yes"/"no" word of a reply is the verdict, anything else is counted as unparsable and left
out of training; a judged text marked out of scope is removed by its verdict; the others
are removed when a logistic regression on MiniLM embeddings (balanced class weights) gives
P(in scope) < ``threshold``. When the verdicts hold only one class no classifier can be
trained: only the judged out-of-scope texts go, and the report says so.
Chung found this intervention ineffective; it is measured anyway.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbench import (
    Example,
    GenerationRequest,
    InterventionContext,
    InterventionOutcome,
    Message,
    Task,
    Usage,
    request_seed,
    word_cap,
)

VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
SHOWN = 50  # removed texts and unparsable replies listed in the report (all are counted)


def judge_messages(task: Task, text: str) -> tuple[Message, ...]:
    """The judge's prompt: the task's definition, then one text to mark."""
    labels = "\n".join(f"- {label.name}: {label.description}" for label in task.labels)
    about = f" {task.description}" if task.description else ""
    system = (f"You check training data for the text classification task {task.name!r}."
              f"{about} Every text must be a {task.text_type} that belongs to one of these "
              f"classes:\n{labels}\nA text is out of scope if it is not such a "
              f"{task.text_type} (for example instructions, a list, an answer to a question, "
              "or a text about something else). Answer with one word: yes or no.")
    user = (f"{task.text_type.capitalize()}: {word_cap(text, 120)}\n\n"
            f"Is this an in-scope {task.text_type} for this task? Answer yes or no.")
    return (Message("system", system), Message("user", user))


def parse_verdict(reply: str) -> bool | None:
    """True for in scope ("yes"), False for out of scope ("no"), None when neither."""
    match = VERDICT.search(reply)
    return None if match is None else match.group(1).lower() == "yes"


class OosFilter:
    """Out-of-scope filtering with an LLM judge and a classifier.

    :param n_judged: texts the judge marks (bounded, seeded sample).
    :param threshold: texts with P(in scope) below it are removed.
    :param max_tokens: tokens of each verdict.
    """

    def __init__(self, n_judged: int = 40, threshold: float = 0.5, max_tokens: int = 4) -> None:
        if isinstance(n_judged, bool) or not isinstance(n_judged, int) or n_judged < 2:
            raise ValueError(f"n_judged must be an integer >= 2, got {n_judged!r}")
        if isinstance(threshold, bool) or not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        self.n_judged = n_judged
        self.threshold = float(threshold)
        self.max_tokens = max_tokens

    def get_params(self) -> dict[str, Any]:
        return {"n_judged": self.n_judged, "threshold": self.threshold,
                "max_tokens": self.max_tokens}

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        n = len(examples)
        rng = random.Random(request_seed(ctx.seed, "oos_filter"))
        judged = sorted(rng.sample(range(n), min(self.n_judged, n)))
        provider = ctx.provider()
        requests = [GenerationRequest(judge_messages(ctx.task, examples[i].text),
                                      max_tokens=self.max_tokens, temperature=0.0,
                                      seed=ctx.seed, sample_index=i) for i in judged]
        completions = provider.complete(requests) if requests else []
        usage = Usage()
        for completion in completions:
            usage = usage + completion.usage
        verdicts = {i: parse_verdict(c.text) for i, c in zip(judged, completions, strict=True)}
        marked = {i: v for i, v in verdicts.items() if v is not None}
        in_scope = np.ones(n, dtype=bool)
        for i, verdict in marked.items():
            in_scope[i] = verdict
        p_in: list[float] = []
        classes = set(marked.values())
        trained = len(classes) == 2
        if trained:
            vectors = ctx.embedder().encode([e.text for e in examples])
            rows = sorted(marked)
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(class_weight="balanced", max_iter=2000)
            model.fit(vectors[rows], [marked[i] for i in rows])
            column = list(model.classes_).index(True)
            p_in = [float(p) for p in model.predict_proba(vectors)[:, column]]
            for i in range(n):
                if i not in marked:
                    in_scope[i] = p_in[i] >= self.threshold
        removed = [i for i in range(n) if not in_scope[i]]
        report = {
            "n_in": n, "n_out": n - len(removed), "removed": len(removed),
            "removed_rate": len(removed) / n if n else 0.0,
            "judge": provider.model_id, "n_judged": len(judged),
            "verdicts": {"in_scope": sum(v is True for v in verdicts.values()),
                         "out_of_scope": sum(v is False for v in verdicts.values()),
                         "unparsable": sum(v is None for v in verdicts.values())},
            "unparsable_replies": [c.text for i, c in zip(judged, completions, strict=True)
                                   if verdicts[i] is None][:SHOWN],
            "classifier_trained": trained,
            "note": None if trained else (
                "the judge's parsable verdicts hold one class or none; no classifier was "
                "trained and only texts judged out of scope were removed"),
            "removed_by": {"judge": sum(1 for i in removed if i in marked),
                           "classifier": sum(1 for i in removed if i not in marked)},
            "removed_texts": [{"index": i, "text": examples[i].text, "label": examples[i].label,
                               "p_in_scope": round(p_in[i], 4) if p_in else None}
                              for i in removed[:SHOWN]],
            "judge_prompt": [{"role": m.role, "content": m.content}
                             for m in judge_messages(ctx.task, "{text}")],
        }
        kept = tuple(e for i, e in enumerate(examples) if in_scope[i])
        return InterventionOutcome(kept, report, usage)
