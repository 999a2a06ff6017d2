"""Li et al.'s zero-shot and few-shot generators (METHOD.md section 3).

The prompts follow Li et al.'s structure: a context prompt ("Imagine you are …") and a
generation prompt that names the label, the text type and a word limit; the few-shot prompt
adds k real examples of the label, drawn afresh for every request, and their constraint
"imitate, but do not simply modify or rewrite". The wording is synthbench's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from typing import Any

from synthbench import (
    Example,
    GenerationContext,
    GeneratorSpec,
    Label,
    Message,
    PromptGenerator,
    SynthbenchError,
    Task,
    examples_of,
    hookimpl,
    request_labels,
    word_cap,
)

IMITATE = ("You should imitate the example I have provided, but you cannot simply modify or "
           "rewrite the example I have given.")


def generation_prompt(task: Task, label: Label, style: str) -> str:
    """Li et al.'s generation prompt: label, optional style, word limit, text only."""
    style_part = f" Write it in this style: {style}." if style else ""
    return (f"Write a {task.text_type} that is {label.description}.{style_part} "
            f"Use at most {task.word_limit} words. Reply with the {task.text_type} only.")


class ZeroShot(PromptGenerator):
    """Context prompt + generation prompt; uses no real data."""

    def __init__(self, style: str = "", **sampling: Any) -> None:
        super().__init__(**sampling)
        self.style = style

    def get_params(self) -> dict[str, object]:
        return {**super().get_params(), "style": self.style}

    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        return (Message("user", f"{task.context} {generation_prompt(task, label, self.style)}"),)


class FewShot(ZeroShot):
    """Zero-shot plus k real training examples of the label, sampled afresh per request.

    Examples are cut to twice the task's word limit so prompts stay short on small models.
    """

    def __init__(self, k: int = 3, style: str = "", **sampling: Any) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise SynthbenchError(f"few_shot needs an integer k >= 1 examples, got {k!r}")
        super().__init__(style=style, **sampling)
        self.k = k

    def get_params(self) -> dict[str, object]:
        return {**super().get_params(), "k": self.k}

    def shown(self, train: Sequence[Example], label: str, rng: random.Random) -> list[Example]:
        """The k examples of ``label`` one prompt quotes (the one draw from ``rng``)."""
        pool = examples_of(train, label)
        if not pool:
            raise SynthbenchError(f"few_shot: no real training example of label {label!r}")
        return rng.sample(pool, min(self.k, len(pool)))

    def prompt_examples(self, ctx: GenerationContext, kept_requests: Collection[int]
                        ) -> list[tuple[Example, ...]]:
        """Each request's quoted examples, replayed: the same draws in the same order."""
        rng = self.prompt_rng(ctx.seed)
        return [tuple(self.shown(ctx.train, name, rng))
                for name in request_labels(ctx.task.label_names, ctx.per_label, kept_requests,
                                           self.retry_budget)]

    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        shown = self.shown(ctx.train, label.name, rng)
        listed = "\n".join(f"Example {i}: {word_cap(e.text, 2 * task.word_limit)}"
                           for i, e in enumerate(shown, 1))
        content = (f"{task.context} Here are examples of a {task.text_type} that is "
                   f"{label.description}:\n{listed}\n{IMITATE} "
                   f"{generation_prompt(task, label, self.style)}")
        return (Message("user", content),)


@hookimpl
def synthbench_register_generators(register: Callable[[GeneratorSpec], None]) -> None:
    register(GeneratorSpec("zero_shot", ZeroShot,
                           "Li et al.: context + label + word limit, no real data",
                           real_data=False))
    register(GeneratorSpec("few_shot", FewShot,
                           "Li et al.: zero-shot plus k real examples per request (k=3)",
                           real_data=True))
    from synthbench_generators.attributed import Attributed
    from synthbench_generators.diversity import DiversityPrompt
    from synthbench_generators.seeding import ExampleSeeding
    from synthbench_generators.suppression import LogitSuppression

    register(GeneratorSpec("diversity_prompt", DiversityPrompt,
                           "Li et al.: one conversation per label, asking for more diverse "
                           "data after every `every` texts (multi-turn, sequential)",
                           requires=DiversityPrompt.requires, real_data=False))
    register(GeneratorSpec("logit_suppression", LogitSuppression,
                           "Chung et al.: zero-shot with a logit bias against the 100 most "
                           "generated tokens, updated after every batch (needs logit_bias)",
                           requires=LogitSuppression.requires, real_data=False))
    register(GeneratorSpec("example_seeding", ExampleSeeding,
                           "Chung et al.: Prompt A with one example per label, 18 real seeds "
                           "first, then generated ones; items_per_call texts a call",
                           real_data=True))
    register(GeneratorSpec("attributed", Attributed,
                           "AttrPrompt: one sampled value per attribute dimension a request; "
                           "dimensions from -G attributes, the task, or the LLM once",
                           real_data=False))
