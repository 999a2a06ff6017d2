"""Chung et al.'s example seeding with their Prompt A, several texts per call.

The example pool starts with ``seeds`` (18) real training examples, balanced over labels.
Every call shows one example per label in Prompt A's form ("Write a {text type} to cover
all following elements / Elements: {label phrase} / {Text type}: "…"") and then asks for
``items_per_call`` new texts of one label. Once a label has generated texts, its example is
drawn from those ("later prompts draw one previously generated example per label"); until
then from its real seeds. The pool grows after every round of calls, so the requests of a
round share one pool; a round is ``parallel`` calls per label still owed texts.

Counts are per text, not per call: a call that asks for k texts adds k to what must end
kept, refused, empty, unparsable or failed (the provider never answered); items missing
from a shorter list are parse failures, items beyond k are dropped and reported as
``surplus``. ``retry_budget`` bounds the texts asked again. Chung asked for 20 items per
call, the default; a model as small as SmolLM2-135M returns fewer, often unnumbered, so on
it use ``items_per_call=1`` (the prompt then ends in one open item and the reply is the
text). The context prompt of Li et al. is not used (Prompt A has
none); examples are cut to twice the task's word limit.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from synthbench import (
    REFUSAL,
    Example,
    GenerationContext,
    GenerationCounts,
    GenerationOutcome,
    GenerationRequest,
    Label,
    Message,
    PromptGenerator,
    SynthbenchError,
    Task,
    Usage,
    balanced_quota,
    parse_text,
    request_seed,
    word_cap,
)

ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.):]|[-*•])\s*(.*)$")
ECHO = re.compile(r"^\W*(elements\s*:|write (a|an|\d+) .*(cover all|elements))", re.IGNORECASE)


def prompt_a_block(task: Task, label: Label, text: str | None) -> str:
    """One Prompt A item: the instruction, the label phrase, and the text (open if None)."""
    head = (f"Write a {task.text_type} to cover all following elements\n"
            f"Elements: {label.description}")
    name = task.text_type[:1].upper() + task.text_type[1:]
    return f'{head}\n{name}: "{text}"' if text is not None else f"{head}\n{name}:"


def split_items(raw: str) -> list[str]:
    """A reply's list items. When some lines are numbered or bulleted, those are the items
    (a line right below one continues it; a preamble before the first and lines after a
    blank line are chatter, not items); otherwise every non-empty line is an item."""
    lines = raw.splitlines()
    if not any(ITEM.match(line) for line in lines):
        return [line.strip() for line in lines if line.strip()]
    items: list[str] = []
    open_item = False
    for line in lines:
        match = ITEM.match(line)
        if match:
            items.append(match.group(1).strip())
            open_item = True
        elif line.strip() and open_item:
            items[-1] = f"{items[-1]} {line.strip()}"
        else:
            open_item = False
    return items


class ExampleSeeding(PromptGenerator):
    """Prompt A with one example per label, real at first, then previously generated.

    :param seeds: real examples that start the pool, balanced over labels (Chung: 18).
    :param items_per_call: texts asked for in one call (Chung: 20; 1 for small models).
    :param parallel: calls per label in one round (one round shares one pool).
    """

    def __init__(self, seeds: int = 18, items_per_call: int = 20, parallel: int = 1,
                 **sampling: Any) -> None:
        for name, value in (("seeds", seeds), ("items_per_call", items_per_call),
                            ("parallel", parallel)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SynthbenchError(
                    f"example_seeding needs an integer {name} >= 1, got {value!r}")
        super().__init__(**sampling)
        self.seeds = seeds
        self.items_per_call = items_per_call
        self.parallel = parallel

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "seeds": self.seeds,
                "items_per_call": self.items_per_call, "parallel": self.parallel}

    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        """A one-item prompt seeded from the real pool (what the first round sends)."""
        return self.prompt(task, label, 1, self.seed_pool(task, ctx, rng), {}, rng)

    def seed_pool(self, task: Task, ctx: GenerationContext, rng: random.Random
                  ) -> dict[str, list[Example]]:
        """``seeds`` real examples, balanced over labels, drawn with the cell's seed."""
        pool: dict[str, list[Example]] = {}
        for name, count in balanced_quota(task.label_names, self.seeds).items():
            real = [e for e in ctx.train if e.label == name]
            pool[name] = rng.sample(real, min(count, len(real)))
        if not any(pool.values()):
            raise SynthbenchError(f"example_seeding: task {task.id} has no real training "
                                  "examples to seed the pool")
        return pool

    def prompt(self, task: Task, label: Label, items: int, seeds: dict[str, list[Example]],
               generated: dict[str, list[Example]], rng: random.Random) -> tuple[Message, ...]:
        """One example per label (generated when there is one, else real), shuffled, then
        the open item(s) of ``label``."""
        blocks = []
        for other in rng.sample(list(task.labels), len(task.labels)):
            source = generated.get(other.name) or seeds.get(other.name)
            if source:
                shown = word_cap(rng.choice(source).text, 2 * task.word_limit)
                blocks.append(prompt_a_block(task, other, shown))
        if items == 1:
            blocks.append(prompt_a_block(task, label, None))
        else:
            blocks.append(
                f"Write {items} different texts, each a {task.text_type} to cover all "
                f"following elements, as a numbered list from 1. to {items}., one a line\n"
                f"Elements: {label.description}")
        return (Message("user", "\n\n".join(blocks)),)

    def generate(self, ctx: GenerationContext) -> GenerationOutcome:
        task = ctx.task
        rng = random.Random(request_seed(ctx.seed, "example_seeding"))
        seeds = self.seed_pool(task, ctx, rng)
        generated: dict[str, list[Example]] = {name: [] for name in task.label_names}
        owed = {name: ctx.per_label.get(name, 0) for name in task.label_names}
        counts = GenerationCounts(requested=sum(owed.values()))
        may_ask = counts.requested + math.ceil(self.retry_budget * counts.requested)
        asked = surplus = rounds = 0
        examples: list[Example] = []
        usage = Usage()
        while True:
            plan: list[tuple[str, int]] = []
            for name in task.label_names:
                left = owed[name]
                for _ in range(self.parallel):
                    take = min(self.items_per_call, left, may_ask - asked)
                    if take < 1:
                        break
                    plan.append((name, take))
                    left -= take
                    asked += take
            if not plan:
                break
            requests = [GenerationRequest(
                messages=self.prompt(task, task.label(name), k, seeds, generated, rng),
                max_tokens=self.tokens_for(task) * k, temperature=self.temperature,
                top_p=self.top_p, seed=request_seed(ctx.seed, name, counts.requests_sent + i),
                sample_index=counts.requests_sent + i) for i, (name, k) in enumerate(plan)]
            completions = ctx.provider.complete(requests)
            if len(completions) != len(requests):
                raise SynthbenchError(f"provider {ctx.provider.model_id} answered "
                                      f"{len(completions)} of {len(requests)} requests")
            fresh: list[Example] = []
            for i, ((name, k), completion) in enumerate(zip(plan, completions, strict=True)):
                usage = usage + completion.usage
                results = ([(None, "failed")] * k if completion.failed
                           else self.parse(completion.text, k, task))
                surplus += max(0, len(results) - k)
                for text, status in results[:k]:
                    if text is None:
                        counts.reject(status)
                        continue
                    counts.truncated += status == "truncated"
                    fresh.append(Example(text, name, {
                        "request": counts.requests_sent + i, "model": completion.model,
                        "finish_reason": completion.finish_reason,
                        "truncated": status == "truncated", "round": rounds}))
                    owed[name] -= 1
                    ctx.progress(1)
                counts.parse_failures += max(0, k - len(results))
            counts.requests_sent += len(requests)
            rounds += 1
            examples += fresh
            for example in fresh:
                generated[example.label].append(example)
        counts.kept = len(examples)
        counts.shortfall = counts.requested - counts.kept
        meta = {"example_seeding": {
            "seeds": {name: [e.text for e in pool] for name, pool in seeds.items()},
            "items_asked": asked, "surplus": surplus, "rounds": rounds}}
        return GenerationOutcome(tuple(examples), counts, usage, meta)

    @staticmethod
    def parse(raw: str, items: int, task: Task) -> list[tuple[str | None, str]]:
        """``(text, status)`` per item; a refused or empty reply counts for all ``items``.
        A single text is the whole reply unless the reply is a list anyway."""
        if not raw.strip():
            return [(None, "empty")] * items
        if REFUSAL.match(raw.strip()):
            return [(None, "refusal")] * items
        if items == 1 and not any(ITEM.match(line) for line in raw.splitlines()):
            return [ExampleSeeding.parse_item(raw, task)]
        return [ExampleSeeding.parse_item(item, task) for item in split_items(raw)]

    @staticmethod
    def parse_item(raw: str, task: Task) -> tuple[str | None, str]:
        """One text, or a parse failure when the model only echoed Prompt A's scaffolding
        ("Elements: positive", "Write a … to cover all following elements")."""
        text, status = parse_text(raw, task.text_type)
        if text is not None and ECHO.match(text):
            return None, "parse_failure"
        return text, status
