"""Log-probability scoring of given replies behind the request cache.

``ContinuationScorer.score_continuations`` runs the model every time; wrapped here, each
(judge, weights identity, messages, continuations) is scored once and stored in the same
SQLite request cache the providers use (``SYNTHBENCH_REQUEST_CACHE`` moves it or turns it
off), so a re-run makes no model call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthbench.calls.backend import Reply
from synthbench.calls.cache import CachedProvider, ResponseCache
from synthbench.calls.settings import CacheSettings
from synthbench.errors import SynthbenchError
from synthbench.types import Capability, Completion, ContinuationScorer, Message, Provider

SCORE_SCHEMA = 1


def can_score(provider: Provider) -> bool:
    return Capability.LOGPROBS in provider.capabilities and isinstance(provider,
                                                                        ContinuationScorer)


def weights_identity(provider: Provider) -> Any:
    """What besides the model id decides a provider's answers (the weights checksum, dtype and
    sampling of a locally served model); ``None`` for API models, whose id is enough."""
    return provider.identity if isinstance(provider, CachedProvider) else None


@dataclass
class CachedScorer:
    """Scores replies through ``provider`` once each; ``hits`` and ``calls`` count what a
    run took from the cache and what it asked the model."""

    provider: Provider
    cache: CacheSettings = field(default_factory=CacheSettings)
    hits: int = 0
    calls: int = 0
    _cache: ResponseCache | None = field(default=None, repr=False)
    _open: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not can_score(self.provider):
            raise SynthbenchError(f"{self.provider.model_id} cannot score replies "
                                  "(no log-probabilities)")

    def key(self, messages: Sequence[Message], continuations: Sequence[str]) -> str:
        payload = {"kind": "synthbench-continuation-scores", "schema": SCORE_SCHEMA,
                   "model": self.provider.model_id, "identity": weights_identity(self.provider),
                   "messages": [[m.role, m.content] for m in messages],
                   "continuations": list(continuations)}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def _store(self) -> ResponseCache | None:
        if not self._open:
            self._open = True
            if self.cache.enabled:
                self._cache = ResponseCache(self.cache.file)
        return self._cache

    def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        """The summed log-probability of each continuation as the reply to ``messages``."""
        cache, key = self._store(), self.key(messages, continuations)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            self.hits += 1
            return [float(v) for v in json.loads(hit.completion.text)]
        assert isinstance(self.provider, ContinuationScorer)
        scores = [float(v) for v in self.provider.score_continuations(messages, continuations)]
        self.calls += 1
        if cache is not None:
            cache.put(key, Reply(Completion(json.dumps(scores), self.provider.model_id,
                                            finish_reason="scores")))
        return scores

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._cache, self._open = None, False
