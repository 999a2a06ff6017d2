"""AttrPrompt (Yu et al., NeurIPS 2023): every request names one sampled value per attribute
dimension (subtopic, style, length, …), so the texts spread over the attribute space.

Where the dimensions come from, first match wins: the ``attributes`` parameter (a JSON
object of lists), the task's own ``Task.attributes``, or else the LLM, asked once per cell
for ``values`` values of each of ``dimensions`` (one call per dimension, the reply read as
a list). Choices where the paper is silent or too heavy for a small model: the values are
shared by all labels (AttrPrompt also has class-specific subtopics), nobody inspects them,
a dimension the LLM gave fewer than two usable values for is dropped (the raw reply is kept
in the stored meta), and ``length`` always joins with values derived from the task's word
limit. Whatever was used is stored with the results (``generator_meta`` in generation.json),
each text keeps the values it was asked for in its meta, and the calls that made the
values count in the cell's token usage.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from synthbench import (
    REFUSAL,
    GenerationContext,
    GenerationOutcome,
    GenerationRequest,
    Label,
    Message,
    PromptGenerator,
    SynthbenchError,
    Task,
    Usage,
    request_seed,
)
from synthbench_generators.seeding import split_items

DEFAULT_DIMENSIONS = ("subtopic", "writing style")
MAX_VALUE_WORDS = 8


def length_values(task: Task) -> tuple[str, ...]:
    """Three lengths inside the task's word limit."""
    limit = task.word_limit
    return (f"short (under {max(3, limit // 3)} words)", f"medium (about {max(5, limit // 2)} "
            f"words)", f"long (close to {limit} words)")


def clean_value(item: str) -> str | None:
    """One proposed attribute value: quotes, markup and a trailing explanation removed; None
    when nothing short and wordy is left."""
    value = re.split(r"\s[-–—]\s|:\s", item.strip(), maxsplit=1)[0]
    value = value.strip().strip("\"'“”*_`.,;").strip()
    words = re.findall(r"[A-Za-z]+", value)
    if not words or len(value.split()) > MAX_VALUE_WORDS or REFUSAL.match(value):
        return None
    return value


def read_values(reply: str, wanted: int) -> list[str]:
    """Up to ``wanted`` distinct cleaned values from a list reply (case-insensitive)."""
    values: list[str] = []
    for item in split_items(reply):
        value = clean_value(item)
        if value and value.lower() not in {v.lower() for v in values}:
            values.append(value)
    return values[:wanted]


def valid_attributes(attributes: object) -> bool:
    """A non-empty mapping of names to non-empty lists of non-blank strings."""
    return isinstance(attributes, Mapping) and bool(attributes) and all(
        isinstance(k, str) and isinstance(v, (list, tuple)) and bool(v)
        and all(isinstance(x, str) and x.strip() for x in v) for k, v in attributes.items())


class Attributed(PromptGenerator):
    """Zero-shot prompt plus one sampled value per attribute dimension.

    :param attributes: dimension -> values, overriding the task's and the LLM's.
    :param dimensions: dimensions the LLM proposes values for when none are declared.
    :param values: values asked of the LLM per dimension.
    """

    def __init__(self, attributes: Mapping[str, Sequence[str]] | None = None,
                 dimensions: Sequence[str] = DEFAULT_DIMENSIONS, values: int = 6,
                 **sampling: Any) -> None:
        if attributes is not None and not valid_attributes(attributes):
            raise SynthbenchError("attributed: attributes must be a JSON object of non-empty "
                                  'lists of strings, e.g. {"style": ["formal", "casual"]}')
        if isinstance(dimensions, str) or not all(
                isinstance(d, str) and d.strip() for d in dimensions):
            raise SynthbenchError(f"attributed: dimensions must be a list of names, "
                                  f"got {dimensions!r}")
        if not isinstance(values, int) or isinstance(values, bool) or values < 2:
            raise SynthbenchError(f"attributed needs an integer values >= 2, got {values!r}")
        super().__init__(**sampling)
        self.attributes = ({k: tuple(v) for k, v in attributes.items()}
                           if attributes is not None else None)
        self.dimensions = tuple(dimensions)
        self.values = values
        self.used: dict[str, tuple[str, ...]] = {}
        self.meta: dict[str, Any] = {}
        self.setup_usage = Usage()
        self.chosen: list[dict[str, str]] = []  # by request index, for each text's meta

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(),
                "attributes": ({k: list(v) for k, v in self.attributes.items()}
                               if self.attributes is not None else None),
                "dimensions": list(self.dimensions), "values": self.values}

    def start(self, ctx: GenerationContext) -> None:
        """Settle the dimensions once: declared ones, else proposed by the LLM."""
        self.setup_usage = Usage()
        self.chosen = []
        if self.attributes is not None:
            self.used, source = dict(self.attributes), "parameter"
            self.meta = {}
        elif ctx.task.attributes:
            self.used, source = {k: tuple(v) for k, v in ctx.task.attributes.items()}, "task"
            self.meta = {}
        else:
            self.used, source = self.propose(ctx), "llm"
        if source != "parameter" and "length" not in self.used:
            self.used["length"] = length_values(ctx.task)
        self.meta["source"] = source
        self.meta["attributes"] = {k: list(v) for k, v in self.used.items()}

    def propose(self, ctx: GenerationContext) -> dict[str, tuple[str, ...]]:
        """One call per dimension asking for a list of values; poor lists are dropped."""
        task = ctx.task
        requests = [GenerationRequest(
            (Message("user", f"{task.context} List {self.values} different {dimension} "
                             f"values for a {task.text_type}, as a numbered list with a few "
                             f"words per item."),),
            max_tokens=10 * self.values + 16, temperature=self.temperature, top_p=self.top_p,
            seed=request_seed(ctx.seed, "attributes", dimension), sample_index=i)
            for i, dimension in enumerate(self.dimensions)]
        completions = ctx.provider.complete(requests) if requests else []
        proposed: dict[str, tuple[str, ...]] = {}
        dropped: dict[str, str] = {}
        for dimension, completion in zip(self.dimensions, completions, strict=True):
            self.setup_usage = self.setup_usage + completion.usage
            values = read_values(completion.text, self.values)
            if len(values) >= 2:
                proposed[dimension] = tuple(values)
            else:
                dropped[dimension] = completion.text
        self.meta = {"requests": len(requests), "dropped": dropped}
        return proposed

    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        self.chosen.append({dim: rng.choice(values) for dim, values in self.used.items()})
        chosen = "; ".join(f"{dim}: {value}" for dim, value in self.chosen[-1].items())
        return (Message("user", f"{task.context} Write a {task.text_type} that is "
                                f"{label.description}, with these attributes: {chosen}. Use "
                                f"at most {task.word_limit} words. Reply with the "
                                f"{task.text_type} only."),)

    def generate(self, ctx: GenerationContext) -> GenerationOutcome:
        outcome = super().generate(ctx)
        examples = tuple(dataclasses.replace(e, meta={
            **e.meta, "attributes": self.chosen[e.meta["request"]]}) for e in outcome.examples)
        return dataclasses.replace(outcome, examples=examples,
                                   usage=outcome.usage + self.setup_usage)

    def outcome_meta(self) -> dict[str, Any]:
        return {"attributed": self.meta}
