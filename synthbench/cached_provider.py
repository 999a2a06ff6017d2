"""Any synchronous ``Provider`` behind the request cache (``synthbench.requests``).

API providers get the cache through their ``RequestLayer``; a provider that answers in its own
process (the embedded model, ``hf/...``) is wrapped in ``CachedProvider`` instead, so a killed
run loses only the one ``complete`` call that was in flight. The cache key adds the identity of
the weights to everything ``cache_key`` already covers, so another model never answers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from synthbench.paths import cache_dir
from synthbench.requests import LayerSettings, Reply, ResponseCache, cache_key
from synthbench.types import Completion, GenerationRequest, Provider, SynthbenchError

WRAPPER_SCHEMA = 1  # part of every key: bump it when what a cached answer means changes


class CachedProvider:
    """Answers cached requests from the cache and sends only the misses to ``inner``, in one
    ``complete`` call (so its batching is kept); stores each answer as soon as that call
    returns. Every other attribute (``tokenize``, ``score_continuations``, ...) is ``inner``'s.

    ``weights`` identifies the weights (a checksum, a revision); ``identity`` adds anything
    else that decides an answer besides the request (the sampling scheme, the dtype). With the
    cache on, unknown weights are refused rather than risking answers of another model.
    """

    def __init__(self, inner: Provider, weights: str | None,
                 identity: Mapping[str, Any] | None = None,
                 settings: LayerSettings | None = None) -> None:
        self.settings = settings or LayerSettings.from_env(inner.model_id)
        if not weights and self.settings.use_cache:
            raise SynthbenchError(f"{inner.model_id}: the request cache needs the identity of "
                                  "its weights (a checksum or revision) and synthbench found "
                                  "none; set SYNTHBENCH_REQUEST_CACHE=off to run uncached")
        self.inner = inner
        self.identity = {"weights": weights, **(identity or {})}
        self.provider_name, _, self.model_name = inner.model_id.partition("/")
        self.stats: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self._cache: ResponseCache | None = None
        self._lock = threading.Lock()
        # Bound methods of ``inner`` on the instance, so that runtime ``Protocol`` checks
        # that look attributes up statically (Python 3.12+) also see them.
        for name in dir(inner):
            if not (name.startswith("_") or hasattr(type(self), name) or name in vars(self)):
                value = getattr(type(inner), name, None)
                if callable(value) and not isinstance(value, type):
                    vars(self)[name] = getattr(inner, name)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (e.g. while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return self.inner.capabilities

    @property
    def cache(self) -> ResponseCache | None:
        """The SQLite cache (opened on first use), or ``None`` with the cache turned off."""
        with self._lock:
            if self._cache is None and self.settings.use_cache:
                path = self.settings.cache_path or cache_dir() / "requests.sqlite"
                try:
                    self._cache = ResponseCache(path)
                except (OSError, sqlite3.Error) as exc:
                    raise SynthbenchError(
                        f"cannot open the request cache {path}: {exc}; name another file "
                        "with SYNTHBENCH_REQUEST_CACHE, or set it to off") from None
            return self._cache

    def key(self, request: GenerationRequest) -> str:
        """The request's content address: ``cache_key`` plus the weights' identity."""
        return cache_key(self.provider_name, self.model_name, request,
                         {"wrapper": WRAPPER_SCHEMA, "identity": self.identity})

    def cached(self, requests: Sequence[GenerationRequest]) -> list[Completion | None]:
        """What the cache already holds for ``requests`` (``None`` where it holds nothing);
        counts nothing and calls nothing."""
        cache = self.cache
        hits = [cache.get(self.key(r)) if cache is not None else None for r in requests]
        return [None if hit is None else hit.completion for hit in hits]

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """One completion per request, in order: hits from the cache, misses from ``inner``."""
        if not requests:
            return []
        cache = self.cache
        keys = [self.key(r) for r in requests]
        answers: list[Completion | None] = [None] * len(requests)
        if cache is not None:
            for index, key in enumerate(keys):
                hit = cache.get(key)
                if hit is not None:
                    answers[index] = hit.completion
        missing = [i for i, answer in enumerate(answers) if answer is None]
        self._count(requests=len(requests), cache_hits=len(requests) - len(missing),
                    provider_calls=len(missing))
        if missing:
            fresh = self.inner.complete([requests[i] for i in missing])
            if len(fresh) != len(missing):
                raise SynthbenchError(f"provider {self.model_id} answered {len(fresh)} of "
                                      f"{len(missing)} requests")
            for index, completion in zip(missing, fresh, strict=True):
                if cache is not None and not completion.failed:
                    cache.put(keys[index], Reply(completion))
                answers[index] = completion
        done = [a for a in answers if a is not None]
        with self._lock:
            self.served.update(a.model for a in done)
            self.stats["gave_up"] += sum(a.failed for a in done)
        return done

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "request_cache_schema": WRAPPER_SCHEMA}

    def request_stats(self) -> dict[str, dict[str, int]]:
        """Counters since the provider was built, as ``LayeredProvider`` keeps them:
        ``calls`` (requests, cache hits, requests sent to the model) and ``served``."""
        with self._lock:
            calls = {k: v for k, v in self.stats.items() if v}
            return {"calls": calls, "served": dict(self.served)}

    def close(self) -> None:
        """Close the cache, and ``inner`` where it can be closed (idempotent)."""
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def _count(self, **counts: int) -> None:
        with self._lock:
            self.stats.update(counts)
