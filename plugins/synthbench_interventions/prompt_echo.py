"""``prompt_echo``: remove texts that repeat the instruction instead of being an example of
the task, as small models often do with a few-shot prompt ("The example I have given is 1:
...", "Write a tweet that is ...").

Two signs, either enough: an instruction phrase from ``PHRASES`` (talk about examples, word
limits and writing), or a run of ``ngram`` words shared with the task's own wording that every
prompt carries (its context, description, and "<text type> that is <label description>"),
compared after ``normalise_text``. The phrases were kept for their rarity in real data: on the
shared real train splits of the 15 built-in tasks the step removes 153 of 101,292 texts
(0.15 %, mostly "Here is a"), against 1,216 of the 9,120 committed SmolLM2 few-shot texts
(13 %) and 225 of its 16,260 zero-shot texts (1.4 %).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from synthbench import Example, InterventionContext, InterventionOutcome, Task, normalise_text
from synthbench_interventions._removal import removal

PHRASES = {
    "numbered example": r"\bexamples? ?\d+\s*[:.)]",
    "the example": r"\bthe examples?\b",
    "example of a ... that": r"\bexamples? of an? \w+ that\b",
    "write a ... that/about": r"\bwrite an? (\w+ ){0,2}(that|about)\b",
    "here is a": r"\bhere (is|are) (a|an|some|the)\b",
    "word limit": r"\b(use at most|at most \d+ words)\b",
    "rewrite the example": r"\b(rewrite|modify) the example\b",
    "i have provided": r"\bi have (provided|given)\b",
    "imitate": r"\bimitate\b",
    "reply with": r"\breply with\b",
}
_PATTERNS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in PHRASES.items()}


def task_wording(task: Task) -> list[str]:
    """The task's own sentences a prompt quotes, normalised."""
    parts = [task.context, task.description]
    parts += [f"{task.text_type} that is {label.description}" for label in task.labels]
    return [normalise_text(p) for p in parts if p.strip()]


def ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class PromptEcho:
    """Removal of texts that echo the prompt.

    :param ngram: words in a row shared with the task's wording that make an echo.
    :param phrases: also remove texts with an instruction phrase.
    """

    def __init__(self, ngram: int = 6, phrases: bool = True) -> None:
        if isinstance(ngram, bool) or not isinstance(ngram, int) or ngram < 3:
            raise ValueError(f"ngram must be an integer >= 3, got {ngram!r}")
        if not isinstance(phrases, bool):
            raise ValueError("phrases must be true or false")
        self.ngram = ngram
        self.phrases = phrases

    def get_params(self) -> dict[str, Any]:
        return {"ngram": self.ngram, "phrases": self.phrases}

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        wording: set[tuple[str, ...]] = set()
        for sentence in task_wording(ctx.task):
            wording |= ngrams(sentence.split(), self.ngram)
        reasons: dict[int, dict[str, Any]] = {}
        for i, example in enumerate(examples):
            shared = ngrams(normalise_text(example.text).split(), self.ngram) & wording
            found = [name for name, pattern in _PATTERNS.items()
                     if self.phrases and pattern.search(example.text)]
            if shared or found:
                reasons[i] = {"phrases": found,
                              "shared_wording": " ".join(min(shared)) if shared else None}
        return removal(examples, reasons,
                       by_phrase={name: sum(name in r["phrases"] for r in reasons.values())
                                  for name in PHRASES},
                       by_wording=sum(r["shared_wording"] is not None
                                      for r in reasons.values()),
                       ngram=self.ngram, phrases=self.phrases)
