"""A measured proxy for per-instance agreement where a task has no annotators: the judge
labels each test text, and its own (dis)agreement with itself stands in for the crowd's.

Estimators (always labelled a proxy wherever they appear):
- ``sample``: K labels sampled from the judge at temperature 1 (``sample_index`` 0..K-1);
  a_i = max_y count(y) / K_i over the K_i replies that name a label (Li's formula with the
  judge's samples as annotators); a text with no parsable reply gets no value (``None``).
- ``logprobs`` (default where the judge can score replies): a_i = max_y p(y), p the softmax
  of the label names' summed log-probabilities — the value the sampling estimator tends to
  as K grows, without its sampling noise, at the cost of one scoring pass per text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.generation import parse_label
from synthbench.subjectivity.agreement import li_agreement
from synthbench.subjectivity.scoring import CachedScorer, can_score
from synthbench.types import Example, GenerationRequest, Message, Provider, Task

WORDS = 60  # texts are cut to this many words in the prompt


def label_messages(task: Task, text: str) -> tuple[Message, ...]:
    """A zero-shot labelling prompt: the labels with descriptions, then the text."""
    labels = "\n".join(f"- {label.name}: {label.description}" for label in task.labels)
    words = text.split()
    shown = " ".join(words[:WORDS]) + (" …" if len(words) > WORDS else "")
    return (Message("system", f"You label each {task.text_type} with exactly one of these "
                              f"labels:\n{labels}\nReply with the label name only."),
            Message("user", f"{task.text_type.capitalize()}: {shown}"))


def proxy_agreement(provider: Provider, task: Task, examples: Sequence[Example], k: int = 5,
                    method: str = "auto", seed: int = 0,
                    progress: Callable[[int], None] = lambda n: None
                    ) -> tuple[list[float | None], dict[str, Any]]:
    """Proxy a_i for each example, and a description of the estimator (for the record)."""
    if method == "auto":
        method = "logprobs" if can_score(provider) else "sample"
    if method not in ("logprobs", "sample") or k < 1:
        raise SynthbenchError("proxy agreement: method must be auto, logprobs or sample, "
                              "and k >= 1")
    names = list(task.label_names)
    values: list[float | None] = []
    info: dict[str, Any] = {"proxy": True, "judge": provider.model_id, "method": method,
                            "source": f"proxy: {provider.model_id} ({method}"
                                      + (f", k={k})" if method == "sample" else ")")}
    if method == "logprobs":
        scorer = CachedScorer(provider)
        try:
            for example in examples:
                scores = scorer.score(label_messages(task, example.text), names)
                top = max(scores)
                weights = [math.exp(s - top) for s in scores]
                values.append(max(weights) / sum(weights))
                progress(1)
        finally:
            scorer.close()
        info.update(calls=scorer.calls, cache_hits=scorer.hits)
        return values, info
    unparsable = 0
    for start in range(0, len(examples), 8):
        chunk = examples[start:start + 8]
        requests = [GenerationRequest(label_messages(task, e.text), max_tokens=8,
                                      temperature=1.0, seed=seed, sample_index=j)
                    for e in chunk for j in range(k)]
        replies = provider.complete(requests)
        for i in range(len(chunk)):
            found = [parse_label(c.text, names) for c in replies[i * k:(i + 1) * k]
                     if not c.failed]
            labels = [f for f in found if f is not None]
            unparsable += k - len(labels)
            values.append(li_agreement(labels) if labels else None)
        progress(len(chunk))
    info.update(k=k, unparsable_replies=unparsable)
    return values, info
