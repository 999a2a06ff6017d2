"""What the two local providers (transformers, ``provider.py``; CTranslate2, ``fast.py``)
share: their capabilities, request checks, token counting and the tokenizer-side surface.

Imports neither torch nor CTranslate2, so either engine module can build on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from synthbench import Capability, GenerationRequest, Message, Price, SynthbenchError

LOCAL_PRICE = Price(0.0, 0.0, 0.0, "local model: no per-token price")  # runs on your machine

CAPABILITIES = frozenset({Capability.SEED, Capability.MULTI_TURN, Capability.BATCH,
                          Capability.LOGIT_BIAS, Capability.TOKENIZE, Capability.LOGPROBS})


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def count_generated(tokens: Sequence[int], eos_ids: frozenset[int]) -> int:
    """Generated tokens up to and including the first end-of-sequence token (padding after)."""
    for position, token in enumerate(tokens):
        if token in eos_ids:
            return position + 1
    return len(tokens)


def check_request(request: GenerationRequest) -> None:
    """Refuse, in one line, a request no local engine can answer."""
    if not request.messages:
        raise SynthbenchError("a generation request needs at least one message")
    if request.max_tokens < 1:
        raise SynthbenchError(f"max_tokens must be at least 1, got {request.max_tokens}")
    if request.temperature < 0:
        raise SynthbenchError(f"temperature must be >= 0, got {request.temperature}")
    if not 0.0 < request.top_p <= 1.0:
        raise SynthbenchError(f"top_p must be in (0, 1], got {request.top_p}")


class LocalProvider:
    """The provider surface both local engines serve alike: model id, capabilities, the
    tokenizer, token ids and chat-templated prompt ids. Subclasses set ``_model_id`` and
    ``_tokenizer``."""

    _model_id: str

    @property
    def price(self) -> Price:
        """Zero: the model runs here, so a dry run costs it at $0 rather than unknown."""
        return LOCAL_PRICE

    @property
    def batch(self) -> bool:
        return False
    _tokenizer: Any

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return CAPABILITIES

    @property
    def tokenizer(self) -> Any:
        """The loaded tokenizer of the model."""
        return self._tokenizer

    def tokenize(self, text: str) -> list[int]:
        """The model's own token ids of ``text`` (no special tokens), as ``logit_bias`` takes."""
        return [int(i) for i in self._tokenizer.encode(text, add_special_tokens=False)]

    def chat_ids(self, messages: Sequence[Message], generation_prompt: bool = True
                 ) -> list[int]:
        """The token ids of ``messages`` under the model's chat template, ending with the
        assistant's turn opened when ``generation_prompt``."""
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        encoded = self._tokenizer.apply_chat_template(
            conversation, add_generation_prompt=generation_prompt, return_dict=True)
        return [int(i) for i in encoded["input_ids"]]
