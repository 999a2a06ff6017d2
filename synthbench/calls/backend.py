"""What an API plugin implements under the request layer: a ``Backend`` that sends one
request, optionally a ``BatchBackend``, the ``Reply`` and ``BatchState`` they return, and the
``Price`` of a model, which a ``Priced`` provider states."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from synthbench.calls.errors import redact
from synthbench.types import Completion, GenerationRequest, Usage

BATCH_DISCOUNT = 0.5  # both OpenAI's Batch API and Anthropic's Message Batches halve the price


@dataclass(frozen=True)
class Reply:
    """One successful API call: the completion, and the response headers (rate limits)."""

    completion: Completion
    headers: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def served(self) -> str:
        """The served model, with the system fingerprint where the provider gave one."""
        model = self.completion.model
        return f"{model} {self.fingerprint}" if self.fingerprint else model


def redacted(reply: Reply) -> Reply:
    """``reply`` with every secret blanked from what a provider wrote (text, served model,
    fingerprint, finish reason): a server that echoes the key in a successful answer must not
    reach the texts, the request cache or the page."""
    completion = reply.completion
    return Reply(dataclasses.replace(completion, text=redact(completion.text),
                                     model=redact(completion.model),
                                     finish_reason=redact(completion.finish_reason)),
                 reply.headers, redact(reply.fingerprint))


@dataclass(frozen=True)
class BatchState:
    """Where a provider's batch job is: finished or not, and its own words for it."""

    done: bool
    state: str


class Backend(Protocol):
    """One SDK behind one API model: ``call`` sends one request with the SDK's retries off and
    raises ``synthbench.CallError`` on failure; the request layer does everything else."""

    async def call(self, request: GenerationRequest, timeout: float) -> Reply: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BatchBackend(Protocol):
    """A backend with a batch API (OpenAI Batch, Anthropic Message Batches). Items are
    ``(custom id, request)``; results map custom ids to a reply or a ``CallError``."""

    async def submit_batch(self, items: Sequence[tuple[str, GenerationRequest]]) -> str: ...

    async def poll_batch(self, job_id: str) -> BatchState: ...

    async def collect_batch(self, job_id: str) -> dict[str, Any]: ...


@runtime_checkable
class Priced(Protocol):
    """A provider that knows what a call costs (``None``: unknown) and whether it is sent at
    the batch discount."""

    @property
    def price(self) -> Price | None: ...

    @property
    def batch(self) -> bool: ...


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens: fresh input, input served from the prompt cache, output."""

    input: float
    output: float
    cached_input: float | None = None
    source: str = ""

    def cost(self, usage: Usage, batch: bool = False) -> float:
        """Dollars for ``usage``; cached input at its own rate (the input rate if none)."""
        cached = self.input if self.cached_input is None else self.cached_input
        fresh = max(0, usage.input_tokens - usage.cached_input_tokens)
        usd = (fresh * self.input + usage.cached_input_tokens * cached
               + usage.output_tokens * self.output) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, stated: Any) -> Price | None:
        """A price as ``as_dict`` wrote it (e.g. in a stored ``describe()``), else ``None``."""
        if not isinstance(stated, Mapping) or "input" not in stated or "output" not in stated:
            return None
        cached = stated.get("cached_input")
        return cls(float(stated["input"]), float(stated["output"]),
                   None if cached is None else float(cached), str(stated.get("source", "")))
