"""Baselines that use no synthetic data: the provider itself classifies the real test split.

``llm_few_shot`` is the reference of Chung et al.'s break-even: the smallest number k of
inspected items at which label replacement makes a classifier trained on synthetic data
beat the LLM classifying in context. Choices the papers leave open, made here:

- the k real examples are label-balanced, drawn once per seed from the training split and
  given as user/assistant turns (the text, then its label name), after a system message
  that lists the labels with their descriptions;
- the test texts are a seeded random sample of ``n_test`` rows of the real test split (the
  class mix of the split is kept; macro-F1 and accuracy are over that sample);
- texts are cut to ``word_limit`` words in the prompt, so long reviews fit a small model;
- with ``Capability.LOGPROBS`` the label whose name has the highest summed log-probability
  as the reply wins (no length normalisation: that is the probability of writing exactly
  that name); otherwise the reply is generated greedily and the label name that appears
  first in it wins; a reply naming no label counts as wrong and as ``unparsable``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from synthbench import (
    Capability,
    ContinuationScorer,
    Example,
    GenerationRequest,
    Message,
    Provider,
    SynthbenchError,
    Task,
    Usage,
    balanced_quota,
    parse_label,
    request_seed,
    sample_per_label,
    word_cap,
)

METHODS = ("auto", "logprobs", "text")


@dataclass(frozen=True)
class LlmFewShot:
    """The provider classifies ``n_test`` real test texts with ``k`` real examples shown."""

    k: int = 8
    n_test: int = 200
    method: str = "auto"
    word_limit: int = 60
    max_tokens: int = 8

    def __post_init__(self) -> None:
        if self.k < 0 or self.n_test < 1 or self.word_limit < 1 or self.max_tokens < 1:
            raise ValueError("k must be >= 0; n_test, word_limit and max_tokens >= 1")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")

    def get_params(self) -> dict[str, Any]:
        return asdict(self)

    def method_for(self, provider: Provider) -> str:
        """``logprobs`` where the provider can score replies, else ``text`` (``auto``)."""
        can_score = (Capability.LOGPROBS in provider.capabilities
                     and isinstance(provider, ContinuationScorer))
        if self.method == "logprobs" and not can_score:
            raise SynthbenchError(f"llm_few_shot method=logprobs: provider {provider.model_id} "
                                  "cannot score label log-probabilities; use method=text")
        if self.method == "auto":
            return "logprobs" if can_score else "text"
        return self.method

    def messages(self, task: Task, shots: Sequence[Example], text: str) -> tuple[Message, ...]:
        """The prompt for one test text: instructions, the shots as turns, the text."""
        labels = "\n".join(f"- {label.name}: {label.description}" for label in task.labels)
        system = (f"You classify each {task.text_type} into exactly one of these labels:\n"
                  f"{labels}\nReply with the label name only.")
        turns = [Message("system", system)]
        for shot in shots:
            turns += [Message("user", self._show(task, shot.text)),
                      Message("assistant", shot.label)]
        turns.append(Message("user", self._show(task, text)))
        return tuple(turns)

    def _show(self, task: Task, text: str) -> str:
        return f"{task.text_type.capitalize()}: {word_cap(text, self.word_limit)}"

    def run(self, provider: Provider, task: Task, train: Sequence[Example],
            test: Sequence[Example], seed: int) -> dict[str, Any]:
        """Classify the sample and return scores, counts and what was used, as JSON data."""
        started = time.perf_counter()
        method = self.method_for(provider)
        shots = sample_per_label(train, balanced_quota(task.label_names, self.k),
                                 random.Random(request_seed(seed, "llm_few_shot", "shots")))
        rows = list(test)
        sample = random.Random(request_seed(seed, "llm_few_shot", "test")).sample(
            rows, min(self.n_test, len(rows)))
        usage = Usage()
        if method == "logprobs":
            assert isinstance(provider, ContinuationScorer)
            predicted = []
            for example in sample:
                scores = provider.score_continuations(
                    self.messages(task, shots, example.text), task.label_names)
                predicted.append(task.label_names[max(range(len(scores)),
                                                      key=scores.__getitem__)])
            unparsable = 0
        else:
            requests = [GenerationRequest(self.messages(task, shots, e.text),
                                          max_tokens=self.max_tokens, temperature=0.0,
                                          seed=seed, sample_index=i)
                        for i, e in enumerate(sample)]
            completions = provider.complete(requests)
            found = [parse_label(c.text, task.label_names) for c in completions]
            unparsable = sum(label is None for label in found)
            predicted = [label or "" for label in found]
            for completion in completions:
                usage = usage + completion.usage
        from sklearn.metrics import accuracy_score, f1_score

        truth = [e.label for e in sample]
        return {
            "id": "llm_few_shot",
            "params": self.get_params(),
            "method": method,
            "model": provider.model_id,
            "n_test": len(sample),
            "n_shots": len(shots),
            "macro_f1": float(f1_score(truth, predicted, labels=list(task.label_names),
                                       average="macro", zero_division=0)),
            "accuracy": float(accuracy_score(truth, predicted)),
            "unparsable": unparsable,
            "predicted_counts": {label: predicted.count(label) for label in task.label_names},
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
            "seconds": round(time.perf_counter() - started, 3),
        }
