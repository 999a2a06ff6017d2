"""Helpers for plugin authors and tests: conformance checks and a deterministic mock LLM.

``check_task`` and ``check_classifier`` play the part of scikit-learn's ``check_estimator``:
call them from a plugin's own tests. ``MockProvider`` answers instantly and reproducibly,
for fast tests of everything around the LLM; the real path is tested with real models.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthbench.calls.wrapper import ProviderWrapper
from synthbench.data import TaskData, load_task_data
from synthbench.generation import request_seed
from synthbench.plugins import validate_task
from synthbench.types import (
    ClassifierSpec,
    Completion,
    GenerationRequest,
    Provider,
    Task,
    Usage,
)


class MockProvider:
    """A fake LLM: plays back ``script`` in a cycle, or else writes seeded word salad drawn
    from the prompt's last message (so label words reach the texts). Same request, same
    answer. Records every request it received in ``requests``."""

    def __init__(self, name: str = "echo", script: Sequence[str] | None = None) -> None:
        self.name = name or "echo"
        self.script = list(script) if script else None
        self.requests: list[GenerationRequest] = []

    @property
    def model_id(self) -> str:
        return f"mock/{self.name}"

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"seed", "multi_turn", "batch"})

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id, "scripted": self.script is not None}

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for request in requests:
            self.requests.append(request)
            prompt = request.messages[-1].content
            if self.script is not None:
                text = self.script[(len(self.requests) - 1) % len(self.script)]
            else:
                rng = random.Random(request_seed(prompt, request.seed, request.sample_index))
                words = re.findall(r"[A-Za-z]{3,}", prompt) or ["text"]
                text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))
            out.append(Completion(text, self.model_id,
                                  Usage(len(prompt.split()), len(text.split()))))
        return out


def check_task(task: Task, data_dir: Path | None = None) -> TaskData | None:
    """Raise if ``task`` is malformed; with ``data_dir``, also load and validate its data."""
    validate_task(task)
    if data_dir is None:
        return None
    return load_task_data(task, data_dir)


def check_classifier(spec: ClassifierSpec) -> None:
    """Raise AssertionError unless ``spec`` builds a clonable sklearn-style text classifier."""
    from sklearn.base import clone

    estimator = spec.factory(0)
    if not isinstance(estimator.get_params(), dict):
        raise AssertionError(f"{spec.id}: get_params() must return a dict")
    fresh = clone(estimator)
    texts = ["good great fine", "great good nice", "bad awful poor", "awful bad terrible"] * 3
    labels = ["pos", "pos", "neg", "neg"] * 3
    if fresh.fit(texts, labels) is not fresh:
        raise AssertionError(f"{spec.id}: fit() must return self")
    if sorted(fresh.classes_) != ["neg", "pos"]:
        raise AssertionError(f"{spec.id}: classes_ must list the labels seen in fit()")
    predicted = list(fresh.predict(["good great", "awful bad"]))
    if len(predicted) != 2 or not set(predicted) <= {"neg", "pos"}:
        raise AssertionError(f"{spec.id}: predict() must return one known label per text")


class RecordingProvider(ProviderWrapper):
    """Passes every call to ``inner`` unchanged and records it: ``calls`` (the requests of
    each call), ``requests`` (all of them, in order) and ``completions``; its id,
    capabilities, provenance and tokenizer are the inner provider's."""

    def __init__(self, inner: Provider) -> None:
        super().__init__(inner)
        self.calls: list[list[GenerationRequest]] = []
        self.requests: list[GenerationRequest] = []
        self.completions: list[Completion] = []

    @property
    def answers(self) -> list[str]:
        return [c.text for c in self.completions]

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        self.calls.append(list(requests))
        self.requests += requests
        completions = self.inner.complete(requests)
        self.completions += completions
        return completions
