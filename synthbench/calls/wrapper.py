"""``ProviderWrapper``: a provider that answers through another one (a cache, a recorder, a
dry-run stand-in). The model id, capabilities, provenance, tokenizer and call size are the
inner one's, so wrapping never changes which requests a generator groups into a call."""

from __future__ import annotations

from typing import Any

from synthbench.calls.backend import Price, Priced
from synthbench.errors import SynthbenchError
from synthbench.generation import REQUESTS_PER_CALL
from synthbench.types import CallSizeHint, Provider, Tokenizer


class ProviderWrapper:
    """Forwards what describes the inner provider; subclasses say how ``complete`` answers."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return self.inner.capabilities

    @property
    def requests_per_call(self) -> int:
        """The inner provider's call size (``CallSizeHint``), else the generators' default."""
        inner = self.inner
        return inner.requests_per_call if isinstance(inner, CallSizeHint) else REQUESTS_PER_CALL

    @property
    def price(self) -> Price | None:
        """The inner provider's stated price (``Priced``), else unknown, so a cached or
        stand-in provider is costed like the one it wraps."""
        return self.inner.price if isinstance(self.inner, Priced) else None

    @property
    def batch(self) -> bool:
        return isinstance(self.inner, Priced) and self.inner.batch

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def tokenize(self, text: str) -> list[int]:
        """The inner provider's token ids (``Capability.TOKENIZE`` says whether it has any)."""
        if not isinstance(self.inner, Tokenizer):
            raise SynthbenchError(f"{self.model_id} has no tokenizer")
        return self.inner.tokenize(text)
