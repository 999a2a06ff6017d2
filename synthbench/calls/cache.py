"""The request cache: completions by content address in one SQLite file, and its one front
end, used by API providers (through the request layer) and in-process models alike.

The key covers provider, model, messages, sampling parameters, the sample index and a schema
version, plus what else decides an answer (the weights of a local model, its engine), and
never what only changes speed. An answer is stored the moment it arrives, so a killed run
loses only what was in flight.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.calls.backend import Reply, redacted
from synthbench.calls.settings import CacheSettings
from synthbench.calls.wrapper import ProviderWrapper
from synthbench.errors import SynthbenchError
from synthbench.types import (
    Closeable,
    Completion,
    ContinuationScorer,
    GenerationRequest,
    Message,
    Provider,
    Usage,
)

CACHE_SCHEMA = 1
WRAPPER_SCHEMA = 1  # part of every in-process key: bump it when what an answer means changes


def cache_key(provider: str, model: str, request: GenerationRequest,
              extra: Mapping[str, Any] | None = None) -> str:
    """The content address of one request: all that decides its answer, nothing else."""
    payload = {
        "schema": CACHE_SCHEMA, "provider": provider, "model": model,
        "messages": [[m.role, m.content] for m in request.messages],
        "max_tokens": request.max_tokens, "temperature": request.temperature,
        "top_p": request.top_p, "seed": request.seed, "sample_index": request.sample_index,
        "logit_bias": [[int(t), float(b)] for t, b in request.logit_bias],
        "extra": dict(sorted((extra or {}).items())),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def connect(path: Path, tables: Sequence[str]) -> sqlite3.Connection:
    """A WAL connection to ``path`` with ``tables`` created; a missing or unwritable place is
    a one-line error naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=60, check_same_thread=False,
                             isolation_level=None)
        for statement in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", *tables):
            # Switching to WAL while another process opens the file can fail at once with
            # "database is locked" (the busy timeout does not cover it): try again.
            for attempt in range(200):
                try:
                    db.execute(statement)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 199:
                        raise
                    time.sleep(0.01 + random.random() * 0.04)
    except (OSError, sqlite3.Error) as exc:
        raise SynthbenchError(f"cannot open the request cache {path}: {exc}; name another file "
                              "with SYNTHBENCH_REQUEST_CACHE, or set it to off") from None
    return db


class ResponseCache:
    """Completions by content address in SQLite (WAL: many readers, concurrent writers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect(path, ["CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                                  "value TEXT NOT NULL, created REAL NOT NULL)"])

    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return redacted(Reply(Completion(data["text"], data["model"], Usage(**data["usage"]),
                                         data["finish_reason"]),
                              fingerprint=data.get("fingerprint", "")))

    def put(self, key: str, reply: Reply) -> None:
        reply = redacted(reply)
        completion = reply.completion
        value = json.dumps({"text": completion.text, "model": completion.model,
                            "fingerprint": reply.fingerprint,
                            "finish_reason": completion.finish_reason,
                            "usage": {"input_tokens": completion.usage.input_tokens,
                                      "output_tokens": completion.usage.output_tokens,
                                      "cached_input_tokens":
                                          completion.usage.cached_input_tokens}})
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
                             (key, value, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CacheFront:
    """One model's view of the cache: its keys, lookups and stores, and the counters of its
    calls (``stats``) and of who served them (``served``). Opens the file on first use."""

    def __init__(self, provider: str, model: str, settings: CacheSettings,
                 extra: Mapping[str, Any] | None = None) -> None:
        self.provider = provider
        self.model = model
        self.settings = settings
        self.extra = dict(extra or {})
        self.stats: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self._store: ResponseCache | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> ResponseCache | None:
        """The SQLite cache, or ``None`` with the cache turned off."""
        with self._lock:
            if self._store is None and self.settings.enabled:
                self._store = ResponseCache(self.settings.file)
            return self._store

    def key(self, request: GenerationRequest) -> str:
        return cache_key(self.provider, self.model, request, self.extra)

    def get(self, key: str) -> Reply | None:
        store = self.store
        return None if store is None else store.get(key)

    def put(self, key: str, reply: Reply) -> None:
        store = self.store
        if store is not None:
            store.put(key, reply)

    def cached(self, requests: Sequence[GenerationRequest]) -> list[Completion | None]:
        """What the cache already holds for ``requests`` (``None`` where it holds nothing);
        counts nothing and calls nothing."""
        hits = [self.get(self.key(r)) for r in requests]
        return [None if hit is None else hit.completion for hit in hits]

    def count(self, **counts: int) -> None:
        with self._lock:
            self.stats.update(counts)

    def serve(self, served: str) -> None:
        with self._lock:
            self.served[served] += 1

    def request_stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"calls": {k: v for k, v in self.stats.items() if v},
                    "served": dict(self.served)}

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class CachedProvider(ProviderWrapper):
    """An in-process provider (a local model) behind the request cache: hits come from the
    cache, misses go to ``inner`` in one ``complete`` call (so its batching is kept) and are
    stored as soon as that call returns.

    ``weights`` identifies the weights (a checksum, a revision); ``identity`` adds anything
    else that decides an answer besides the request (the engine, the sampling scheme, the
    dtype). With the cache on, unknown weights are refused rather than risking answers of
    another model. Tokenizing and scoring pass through to ``inner`` (uncached: they are
    deterministic and cheap next to generation); ``capabilities`` say which it has.
    """

    def __init__(self, inner: Provider, weights: str | None,
                 identity: Mapping[str, Any] | None = None,
                 cache: CacheSettings | None = None) -> None:
        settings = cache if cache is not None else CacheSettings()
        if not weights and settings.enabled:
            raise SynthbenchError(f"{inner.model_id}: the request cache needs the identity of "
                                  "its weights (a checksum or revision) and synthbench found "
                                  "none; set SYNTHBENCH_REQUEST_CACHE=off to run uncached")
        super().__init__(inner)
        self.identity = {"weights": weights, **(identity or {})}
        provider, _, model = inner.model_id.partition("/")
        self.front = CacheFront(provider, model, settings,
                                {"wrapper": WRAPPER_SCHEMA, "identity": self.identity})

    def key(self, request: GenerationRequest) -> str:
        """The request's content address: ``cache_key`` plus the weights' identity."""
        return self.front.key(request)

    def cached(self, requests: Sequence[GenerationRequest]) -> list[Completion | None]:
        return self.front.cached(requests)

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """One completion per request, in order: hits from the cache, misses from ``inner``."""
        if not requests:
            return []
        keys = [self.key(r) for r in requests]
        answers: list[Completion | None] = []
        for key in keys:
            hit = self.front.get(key)
            answers.append(None if hit is None else hit.completion)
        missing = [i for i, answer in enumerate(answers) if answer is None]
        self.front.count(requests=len(requests), cache_hits=len(requests) - len(missing),
                         provider_calls=len(missing))
        if missing:
            fresh = self.inner.complete([requests[i] for i in missing])
            if len(fresh) != len(missing):
                raise SynthbenchError(f"provider {self.model_id} answered {len(fresh)} of "
                                      f"{len(missing)} requests")
            for index, completion in zip(missing, fresh, strict=True):
                if not completion.failed:
                    self.front.put(keys[index], Reply(completion))
                answers[index] = completion
        done = [a for a in answers if a is not None]
        for answer in done:
            self.front.serve(answer.model)
        self.front.count(gave_up=sum(a.failed for a in done))
        return done

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        if not isinstance(self.inner, ContinuationScorer):
            raise SynthbenchError(f"{self.model_id} cannot score continuations")
        return self.inner.score_continuations(messages, continuations)

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "request_cache_schema": WRAPPER_SCHEMA}

    def request_stats(self) -> dict[str, dict[str, int]]:
        """Counters since the provider was built: ``calls`` (requests, cache hits, requests
        sent to the model) and ``served``."""
        return self.front.request_stats()

    def close(self) -> None:
        """Close the cache, and ``inner`` where it can be closed (idempotent)."""
        self.front.close()
        if isinstance(self.inner, Closeable):
            self.inner.close()
