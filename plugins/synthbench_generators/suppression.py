"""Chung et al.'s logit suppression: push the model away from the tokens it has overused.

After each batch of requests, the tokens of everything generated so far are counted with the
provider's own tokenizer; the ``top_tokens`` most frequent get a logit bias of
−strength × (their share of all generated tokens, in %), floored at −strength (Chung: 100
tokens, 7.5). The next batch is sent with that bias. Choices where the paper is silent:
the raw completions are counted (refusals and failed parses too, since the model wrote
them), the prompt is the zero-shot prompt, and a batch is ``batch`` requests (default 20,
Chung's items per call). Needs ``Capability.LOGIT_BIAS`` and ``Capability.TOKENIZE``; a
provider without them is refused before any request is sent.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from synthbench import (
    Capability,
    Completion,
    GenerationContext,
    GenerationRequest,
    SynthbenchError,
    Tokenizer,
)
from synthbench_generators import ZeroShot

Bias = tuple[tuple[int, float], ...]


def suppression_bias(counts: Counter[int], top_tokens: int = 100,
                     strength: float = 7.5) -> Bias:
    """The bias of Chung et al.: −strength × share in %, floored at −strength, for the
    ``top_tokens`` most frequent token ids in ``counts`` (ties in first-seen order)."""
    total = sum(counts.values())
    if total == 0:
        return ()
    return tuple((token, round(max(-strength * 100.0 * count / total, -strength), 4))
                 for token, count in counts.most_common(top_tokens))


def require(generator: str, ctx: GenerationContext, *needed: str) -> None:
    """Refuse with one line when the provider lacks a capability the generator needs."""
    missing = [c for c in needed if c not in ctx.provider.capabilities]
    if Capability.TOKENIZE in needed and Capability.TOKENIZE not in missing \
            and not isinstance(ctx.provider, Tokenizer):
        missing.append(Capability.TOKENIZE)
    if missing:
        raise SynthbenchError(
            f"generator {generator} needs a provider with {', '.join(needed)}; "
            f"{ctx.provider.model_id} lacks {', '.join(missing)}")


class LogitSuppression(ZeroShot):
    """Zero-shot prompts whose decoding is biased against the most generated tokens so far.

    :param top_tokens: how many of the most frequent tokens are suppressed (Chung: 100).
    :param strength: bias per percent of share, and the floor of the bias (Chung: 7.5).
    :param batch: requests sent between two updates of the bias (Chung: 20 per call).
    """

    requires = frozenset({Capability.LOGIT_BIAS, Capability.TOKENIZE})

    def __init__(self, top_tokens: int = 100, strength: float = 7.5, batch: int = 20,
                 style: str = "", **sampling: Any) -> None:
        for name, value in (("top_tokens", top_tokens), ("batch", batch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SynthbenchError(
                    f"logit_suppression needs an integer {name} >= 1, got {value!r}")
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) \
                or not 0 < strength < float("inf"):
            raise SynthbenchError(f"logit_suppression needs a number strength > 0, "
                                  f"got {strength!r}")
        super().__init__(style=style, **sampling)
        self.top_tokens = top_tokens
        self.strength = float(strength)
        self.requests_per_call = batch
        self.counts: Counter[int] = Counter()
        self.bias: Bias = ()
        self.updates = 0
        self._tokenize: Callable[[str], list[int]] | None = None

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "top_tokens": self.top_tokens,
                "strength": self.strength, "batch": self.requests_per_call}

    def start(self, ctx: GenerationContext) -> None:
        require("logit_suppression", ctx, *sorted(self.requires))
        assert isinstance(ctx.provider, Tokenizer), "require() checked it"
        self._tokenize = ctx.provider.tokenize
        self.counts = Counter()
        self.bias = ()
        self.updates = 0

    def adjust(self, request: GenerationRequest) -> GenerationRequest:
        return dataclasses.replace(request, logit_bias=self.bias)

    def after_batch(self, ctx: GenerationContext, completions: Sequence[Completion]) -> None:
        assert self._tokenize is not None, "start() sets the tokenizer"
        for completion in completions:
            self.counts.update(self._tokenize(completion.text))
        self.bias = suppression_bias(self.counts, self.top_tokens, self.strength)
        self.updates += 1

    def outcome_meta(self) -> dict[str, Any]:
        return {"logit_suppression": {
            "counted_tokens": sum(self.counts.values()),
            "updates": self.updates,
            "final_bias": [[token, value] for token, value in self.bias],
        }}
