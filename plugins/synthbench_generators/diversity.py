"""Li et al.'s diversity prompt: one growing conversation per label that keeps asking for
something more diverse than what it already produced.

A conversation starts with the zero-shot prompt; every kept text becomes an assistant turn,
and after every ``every`` generations the next user turn is Li et al.'s "Can you provide
something more diverse compared to the previously generated data?" (the other turns ask
for another text of the label). The history is kept whole unless ``history`` caps it.

Each request needs the answer to the one before it, so the requests of one conversation
cannot be batched: every round sends one request per conversation, batched across labels
and across the ``conversations`` parallel conversations of a label. On a local model a
cell therefore takes about N / (labels × conversations) sequential rounds with prompts
that grow each round; raise ``conversations`` for speed, at the cost of shorter histories.

Choices where the paper is silent: the assistant turns hold the cleaned text that was kept
(not the raw completion); a failed turn (refusal, empty, unparsable) is counted and left
out of the history, and retried from the same history with a new seed while the retry
budget lasts (so is a request the provider failed to answer, counted as ``failed``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from synthbench import (
    Capability,
    Example,
    GenerationContext,
    GenerationCounts,
    GenerationOutcome,
    GenerationRequest,
    Label,
    Message,
    SynthbenchError,
    Task,
    Usage,
    parse_text,
    request_seed,
)
from synthbench_generators import ZeroShot, generation_prompt
from synthbench_generators.suppression import require

MORE_DIVERSE = ("Can you provide something more diverse compared to the previously "
                "generated data?")


@dataclass
class Conversation:
    """One label's chat: its messages so far and how many texts it still owes."""

    label: Label
    number: int
    owed: int
    messages: list[Message] = field(default_factory=list)
    kept: int = 0


class DiversityPrompt(ZeroShot):
    """Multi-turn generation asking for more diverse data after every ``every`` texts.

    :param every: generations between two diversity requests (1 = every turn).
    :param conversations: parallel conversations per label (each keeps its own history).
    :param history: exchanges kept besides the first (0 = the whole conversation).
    """

    requires = frozenset({Capability.MULTI_TURN})

    def __init__(self, every: int = 1, conversations: int = 1, history: int = 0,
                 style: str = "", **sampling: Any) -> None:
        for name, value, least in (("every", every, 1), ("conversations", conversations, 1),
                                   ("history", history, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise SynthbenchError(
                    f"diversity_prompt needs an integer {name} >= {least}, got {value!r}")
        super().__init__(style=style, **sampling)
        self.every = every
        self.conversations = conversations
        self.history = history

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "every": self.every,
                "conversations": self.conversations, "history": self.history}

    def next_turn(self, task: Task, chat: Conversation) -> Message:
        """The user turn that asks for the conversation's next text."""
        if chat.kept == 0:
            return Message("user", f"{task.context} "
                                   f"{generation_prompt(task, chat.label, self.style)}")
        if chat.kept % self.every == 0:
            return Message("user", MORE_DIVERSE)
        return Message("user", f"Write another {task.text_type} that is "
                               f"{chat.label.description}. Reply with the {task.text_type} only.")

    def sent_history(self, chat: Conversation) -> list[Message]:
        """The history as sent: whole, or the first exchange plus the last ``history``."""
        if not self.history or len(chat.messages) <= 2 * (self.history + 1):
            return chat.messages
        return chat.messages[:2] + chat.messages[-2 * self.history:]

    def generate(self, ctx: GenerationContext) -> GenerationOutcome:
        require("diversity_prompt", ctx, *sorted(self.requires))
        task = ctx.task
        chats: list[Conversation] = []
        for name in task.label_names:
            quota = ctx.per_label.get(name, 0)
            parallel = min(self.conversations, quota)
            for number in range(parallel):
                owed = quota // parallel + (number < quota % parallel)
                chats.append(Conversation(task.label(name), number, owed))
        counts = GenerationCounts(requested=sum(c.owed for c in chats))
        extra_left = math.ceil(self.retry_budget * counts.requested)
        examples: list[Example] = []
        usage = Usage()
        sent = 0
        rounds = 0
        while active := [c for c in chats if c.owed > 0]:
            turns = [self.next_turn(task, c) for c in active]
            requests = [GenerationRequest(
                messages=(*self.sent_history(c), turn), max_tokens=self.tokens_for(task),
                temperature=self.temperature, top_p=self.top_p,
                seed=request_seed(ctx.seed, c.label.name, c.number, sent + i),
                sample_index=sent + i) for i, (c, turn) in enumerate(zip(active, turns,
                                                                           strict=True))]
            completions = ctx.provider.complete(requests)
            if len(completions) != len(requests):
                raise SynthbenchError(f"provider {ctx.provider.model_id} answered "
                                      f"{len(completions)} of {len(requests)} requests")
            for i, (chat, turn, completion) in enumerate(zip(active, turns, completions,
                                                             strict=True)):
                usage = usage + completion.usage
                text, status = parse_text(completion.text, task.text_type)
                if text is not None:
                    counts.truncated += status == "truncated"
                    examples.append(Example(text, chat.label.name, {
                        "request": sent + i, "model": completion.model,
                        "finish_reason": completion.finish_reason,
                        "truncated": status == "truncated", "conversation": chat.number,
                        "turn": chat.kept, "diversity_turn": turn.content == MORE_DIVERSE}))
                    chat.messages += [turn, Message("assistant", text)]
                    chat.kept += 1
                    chat.owed -= 1
                    ctx.progress(1)
                    continue
                counts.reject("failed" if completion.failed else status)
                if extra_left > 0:
                    extra_left -= 1
                else:
                    chat.owed -= 1
            sent += len(requests)
            rounds += 1
        counts.requests_sent = sent
        counts.kept = len(examples)
        counts.shortfall = counts.requested - counts.kept
        return GenerationOutcome(tuple(examples), counts, usage,
                                 {"diversity_prompt": {"rounds": rounds,
                                                       "conversations": len(chats)}})

    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        """The first turn of a conversation (later turns depend on the replies)."""
        return (self.next_turn(task, Conversation(label, 0, 1)),)
