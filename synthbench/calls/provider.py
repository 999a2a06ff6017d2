"""The adapter between an API plugin's ``Backend`` and the ``Provider`` protocol: every call
goes through the model's ``RequestLayer``, online or through the provider's batch API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synthbench.calls.backend import Price
from synthbench.calls.batch import send_batch
from synthbench.calls.cache import CACHE_SCHEMA
from synthbench.calls.layer import RequestLayer
from synthbench.calls.online import send_online
from synthbench.types import Completion, GenerationRequest


class LayeredProvider:
    """A ``synthbench.Provider`` whose calls go through a ``RequestLayer``.

    ``requests_per_call`` (``CallSizeHint``) tells generators to hand over many requests at
    once: the layer bounds what is in flight, and a small call would idle at its slowest
    request. A constant, so it never changes which requests a cell sends."""

    requests_per_call = 1024

    def __init__(self, layer: RequestLayer, capabilities: frozenset[str],
                 provenance: Mapping[str, Any] | None = None) -> None:
        self.layer = layer
        self._capabilities = capabilities
        self._provenance = dict(provenance or {})

    @property
    def model_id(self) -> str:
        return self.layer.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    @property
    def price(self) -> Price | None:
        return self.layer.price

    @property
    def batch(self) -> bool:
        return self.layer.batch

    def cached(self, requests: Sequence[GenerationRequest]) -> list[Completion | None]:
        """What the cache already holds for ``requests``; counts and calls nothing."""
        return self.layer.front.cached(requests)

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """One completion per request, in order; a request that failed every attempt comes
        back as an empty completion whose ``finish_reason`` starts with ``"error: "``."""
        return self.layer.run(send_batch if self.batch else send_online, requests)

    def describe(self) -> dict[str, Any]:
        price = self.layer.price
        return {"model": self.model_id, "request_cache_schema": CACHE_SCHEMA,
                "request_mode": self.layer.settings.mode,
                "price_per_million_tokens": None if price is None else price.as_dict(),
                **self._provenance}

    def request_stats(self) -> dict[str, dict[str, int]]:
        """Counters since the provider was built: ``calls`` (requests, cache hits, provider
        calls, retries, failures by kind) and ``served`` (model and fingerprint -> responses)."""
        stats = self.layer.front.request_stats()
        return {"calls": {k: v for k, v in self.layer.front.stats.items()},
                "served": stats["served"]}

    def close(self) -> None:
        self.layer.close()
