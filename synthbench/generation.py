"""The shared generation loop: one request per wanted text, parsed, counted, topped up.

Generators that write one text per request subclass ``PromptGenerator`` and only say how a
prompt looks. Nothing is dropped silently: every completion is kept or counted as a parse
failure, a refusal or an empty text, and the missing texts are requested again until a
bounded budget of extra requests is spent; what is still missing is the cell's shortfall.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from synthbench.errors import SynthbenchError
from synthbench.types import (
    CallSizeHint,
    Completion,
    Example,
    GenerationContext,
    GenerationCounts,
    GenerationOutcome,
    GenerationRequest,
    Label,
    Message,
    Task,
    Usage,
)

REFUSAL = re.compile(
    r"^\W*(as an ai\b|as a language model\b|as an assistant\b|"
    r"i('m| am) (sorry|afraid),? (but )?i (can('|no)t|cannot|am unable|'m unable|won't)\b|"
    r"(sorry,? )?(but )?i (can('|no)t|cannot|am unable to|'m unable to|won't) "
    r"(help|write|create|assist|comply|provide|generate|fulfil|produce|do that)\b)",
    re.IGNORECASE,
)
OPENER = re.compile(r"^\s*(sure|certainly|of course)\b[^.!:\n]*[.!]\s*", re.IGNORECASE)
HERE_IS = re.compile(r"^\s*here('s| is| are)\b[^:\n]*:\s*", re.IGNORECASE)
LABEL_WORDS = ("output", "text", "answer", "example", "response", "generated")
QUOTES = "\"'“”‘’«»`"
REQUESTS_PER_CALL = 32


def parse_text(raw: str, text_type: str = "") -> tuple[str | None, str]:
    """Clean one completion into a text, or say why it is not one.

    Returns ``(text, status)``; status is ``ok``, ``truncated`` (only the first paragraph
    was kept), ``refusal``, ``empty`` or ``parse_failure``. Strips a chat opener ("Sure, …"),
    a "Here is …:" line, a leading label that names the text type ("Review:", "Tweet 1:")
    and outer quotes; nothing else, so a real text that starts "Report:" keeps its words.
    """
    text = raw.strip()
    if not text:
        return None, "empty"
    if REFUSAL.match(text):
        return None, "refusal"
    text = HERE_IS.sub("", OPENER.sub("", text, count=1), count=1)
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text_type)} | set(LABEL_WORDS)
    label = re.match(r"^\s*([A-Za-z][A-Za-z ]{0,30}?)\s*\d*\s*:\s*", text)
    if label and set(label.group(1).lower().split()) <= words:
        text = text[label.end():]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    status = "truncated" if len(paragraphs) > 1 else "ok"
    text = paragraphs[0] if paragraphs else ""
    text = re.sub(r"\s+", " ", text.strip().strip(QUOTES).strip())
    if not text:
        return None, "empty"
    if len(re.findall(r"\w+", text)) < 2:
        return None, "parse_failure"
    return text, status


def _number(value: object) -> bool:
    """A finite int or float (not a bool, not NaN or infinity)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def request_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (the cell seed, the label, the attempt)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class PromptGenerator(ABC):
    """Base for generators that write one text per request.

    Subclasses may hook into the loop: ``start`` before the first request (check the
    provider's capabilities, reset state), ``adjust`` on every request before it is sent
    (e.g. add a logit bias), ``after_batch`` with each batch's completions, and
    ``outcome_meta`` for JSON data stored with the texts. ``requests_per_call`` is the
    batch size those hooks see; left at None, the provider's own ``requests_per_call``
    decides (an API provider takes hundreds at once, its request layer bounds what is in
    flight), else ``REQUESTS_PER_CALL``. ``requires`` names the provider capabilities the
    generator cannot work without; its plugin copies it into ``GeneratorSpec.requires``.

    :param temperature: sampling temperature (Chung et al. sweep 0.3, 0.7, 0.9, 1.3).
    :param top_p: nucleus sampling mass.
    :param max_tokens: tokens per completion; default 2 per word of the task's limit + 16.
    :param retry_budget: extra requests allowed, as a share of the texts asked for.
    """

    requests_per_call: int | None = None
    requires: frozenset[str] = frozenset()

    def __init__(self, temperature: float = 1.0, top_p: float = 1.0,
                 max_tokens: int | None = None, retry_budget: float = 1.0) -> None:
        if not _number(temperature) or temperature < 0:
            raise SynthbenchError(f"temperature must be a number >= 0, got {temperature!r}")
        if not _number(top_p) or not 0 < top_p <= 1:
            raise SynthbenchError(f"top_p must be a number in (0, 1], got {top_p!r}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise SynthbenchError(f"max_tokens must be an integer >= 1, got {max_tokens!r}")
        if not _number(retry_budget) or retry_budget < 0:
            raise SynthbenchError(f"retry_budget must be a number >= 0, got {retry_budget!r}")
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.max_tokens = max_tokens
        self.retry_budget = float(retry_budget)

    def get_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "retry_budget": self.retry_budget}

    @abstractmethod
    def messages_for(self, task: Task, label: Label, rng: random.Random,
                     ctx: GenerationContext) -> tuple[Message, ...]:
        """The conversation that asks for one text of ``label``."""

    def tokens_for(self, task: Task) -> int:
        return self.max_tokens or 2 * task.word_limit + 16

    def start(self, ctx: GenerationContext) -> None:
        """Called once before the first request; raise ``SynthbenchError`` to refuse."""
        return None

    def adjust(self, request: GenerationRequest) -> GenerationRequest:
        """The request as it is sent (default: unchanged)."""
        return request

    def after_batch(self, ctx: GenerationContext, completions: Sequence[Completion]) -> None:
        """Sees every completion of a batch, kept or not, once the batch is counted."""
        return None

    def outcome_meta(self) -> dict[str, Any]:
        """JSON data to store with the texts (``GenerationOutcome.meta``)."""
        return {}

    def generate(self, ctx: GenerationContext) -> GenerationOutcome:
        task = ctx.task
        self.start(ctx)
        rng = self.prompt_rng(ctx.seed)
        wanted = wanted_labels(task.label_names, ctx.per_label)
        counts = GenerationCounts(requested=len(wanted))
        extra_left = math.ceil(self.retry_budget * len(wanted))
        examples: list[Example] = []
        usage = Usage()
        pending = wanted[:]
        sent = 0
        while pending:
            size = self.requests_per_call or (
                ctx.provider.requests_per_call if isinstance(ctx.provider, CallSizeHint)
                else REQUESTS_PER_CALL)
            chunk, pending = pending[:size], pending[size:]
            requests = [self._request(task, name, sent + i, rng, ctx)
                        for i, name in enumerate(chunk)]
            completions = ctx.provider.complete(requests)
            if len(completions) != len(requests):
                raise SynthbenchError(
                    f"provider {ctx.provider.model_id} answered {len(completions)} of "
                    f"{len(requests)} requests"
                )
            for offset, (name, completion) in enumerate(zip(chunk, completions, strict=True)):
                usage = usage + completion.usage
                text, status = parse_text(completion.text, task.text_type)
                if text is not None:
                    counts.truncated += status == "truncated"
                    examples.append(Example(text, name, {
                        "request": sent + offset, "model": completion.model,
                        "finish_reason": completion.finish_reason,
                        "truncated": status == "truncated"}))
                    ctx.progress(1)
                    continue
                counts.reject("failed" if completion.failed else status)
                if extra_left > 0:
                    extra_left -= 1
                    pending.append(name)
            sent += len(chunk)
            self.after_batch(ctx, completions)
        counts.requests_sent = sent
        counts.kept = len(examples)
        counts.shortfall = counts.requested - counts.kept
        return GenerationOutcome(tuple(examples), counts, usage, self.outcome_meta())

    @staticmethod
    def prompt_rng(seed: int) -> random.Random:
        """The generator the prompts of a cell draw from, in request order."""
        return random.Random(request_seed(seed, "prompts"))

    def _request(self, task: Task, name: str, index: int, rng: random.Random,
                 ctx: GenerationContext) -> GenerationRequest:
        return self.adjust(GenerationRequest(
            messages=self.messages_for(task, task.label(name), rng, ctx),
            max_tokens=self.tokens_for(task), temperature=self.temperature, top_p=self.top_p,
            seed=request_seed(ctx.seed, name, index), sample_index=index,
        ))


def wanted_labels(label_names: Sequence[str], per_label: Mapping[str, int]) -> list[str]:
    """The label of each first request: round-robin over labels, so every batch holds all."""
    most = max(per_label.values(), default=0)
    return [name for i in range(most) for name in label_names if i < per_label.get(name, 0)]


def request_labels(label_names: Sequence[str], per_label: Mapping[str, int],
                   kept_requests: Collection[int], retry_budget: float) -> list[str]:
    """The label of every request ``PromptGenerator.generate`` sent, replayed from what it
    kept: a request whose index is not in ``kept_requests`` failed and, while the retry
    budget lasts, its label was queued again at the end, in request order."""
    labels = wanted_labels(label_names, per_label)
    extra_left = math.ceil(retry_budget * len(labels))
    index = 0
    while index < len(labels):
        if index not in kept_requests and extra_left > 0:
            extra_left -= 1
            labels.append(labels[index])
        index += 1
    return labels


@runtime_checkable
class ShowsExamples(Protocol):
    """A generator whose prompts quote real training examples, and can say which ones."""

    def prompt_examples(self, ctx: GenerationContext, kept_requests: Collection[int]
                        ) -> list[tuple[Example, ...]]:
        """The real examples quoted in each request's prompt, by request index, replayed from
        the cell's seed, train split and quota without calling any model (``ctx.provider``
        is not used); ``kept_requests``: the request indices of the texts generation kept."""


def word_cap(text: str, words: int) -> str:
    """The first ``words`` words of ``text`` (keeps few-shot prompts short)."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"


def examples_of(train: Sequence[Example], label: str) -> list[Example]:
    return [e for e in train if e.label == label]


def _norm_label(text: str) -> str:
    return re.sub(r"[\s_\-/]+", " ", text.lower()).strip()


def parse_label(reply: str, labels: Sequence[str]) -> str | None:
    """The label named first in ``reply`` (case and ``_ - /`` ignored; the longer name wins
    at one position, so "non_irony" is not read as "irony"); ``None`` when none is named."""
    text = f" {_norm_label(reply)} "
    best: tuple[int, int, str] | None = None
    for label in labels:
        match = re.search(rf"(?<![a-z0-9]){re.escape(_norm_label(label))}(?![a-z0-9])", text)
        if match is not None:
            candidate = (match.start(), -len(label), label)
            best = candidate if best is None or candidate < best else best
    return None if best is None else best[2]
