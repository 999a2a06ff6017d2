"""The request layer under every API provider: cache, concurrency, rate limits, retries,
timeouts, budget and bookkeeping. Provider plugins only write a ``Backend`` (one SDK call).

- Cache: content-addressed SQLite (WAL) keyed by provider, model, messages, sampling
  parameters, the sample index and ``CACHE_SCHEMA``; never by speed settings. A response is
  stored the moment it arrives, so a killed run loses only what was in flight.
- Concurrency: a bounded number of requests in flight, and a token bucket per
  (provider, model) on requests and tokens per minute, tightened by 429s and rate-limit
  headers and eased back as calls succeed.
- Retries: this is the only retry layer (backends turn the SDK's own off). Full jitter,
  ``retry-after`` honoured, a timeout scaled to ``max_tokens`` that cancels a hung call;
  400/401/403/404/422 and a spent quota fail at once with one line.
- Budget: with ``spending_limit(usd)`` active, no call starts whose worst case would cross it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from synthbench.paths import cache_dir
from synthbench.pricing import Price
from synthbench.types import Completion, GenerationRequest, SynthbenchError, Usage

CACHE_SCHEMA = 1
FATAL_STATUSES = frozenset({400, 401, 403, 404, 422})
SPEND_CAP_MARKERS = ("insufficient_quota", "billing_hard_limit", "spend_limit", "credit balance",
                     "exceeded your current quota", "billing limit")
ERROR_PREFIX = "error: "  # Completion.failed
SECRET_ENV = re.compile(r"(API_KEY|_KEY|_TOKEN|_SECRET)$")


class CallError(Exception):
    """A failed call as a backend saw it. ``kind`` decides what the layer does:
    ``rate_limited``, ``server_error``, ``garbage``, ``timeout``, ``connection`` are retried;
    ``fatal`` and ``spend_cap`` stop the run."""

    RETRYABLE = frozenset({"rate_limited", "server_error", "garbage", "timeout", "connection"})

    def __init__(self, kind: str, message: str, status: int | None = None,
                 retry_after: float | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE


class _Halted(Exception):
    """A request that never started because an earlier one stopped the run."""


class BudgetReached(SynthbenchError):
    """The next call would cross ``--max-cost``; everything finished so far is kept."""


@dataclass(frozen=True)
class Reply:
    """One successful call: the completion, and the response headers (for rate limits)."""

    completion: Completion
    headers: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def served(self) -> str:
        """The served model, with the system fingerprint where the provider gave one."""
        model = self.completion.model
        return f"{model} {self.fingerprint}" if self.fingerprint else model


class Backend(Protocol):
    """One SDK behind one model: ``call`` sends one request with the SDK's retries off."""

    async def call(self, request: GenerationRequest, timeout: float) -> Reply: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class BatchState:
    """Where a provider's batch job is: finished or not, and its own words for it."""

    done: bool
    state: str


class BatchBackend(Backend, Protocol):
    """A backend with a batch API (OpenAI Batch, Anthropic Message Batches). Items are
    ``(custom id, request)``; results map custom ids to a reply or a failure."""

    async def submit_batch(self, items: Sequence[tuple[str, GenerationRequest]]) -> str: ...

    async def poll_batch(self, job_id: str) -> BatchState: ...

    async def collect_batch(self, job_id: str) -> dict[str, Reply | CallError]: ...


def redact(text: str) -> str:
    """``text`` with the value of every secret-looking environment variable blanked out."""
    for name, value in os.environ.items():
        if len(value) >= 8 and SECRET_ENV.search(name) and value in text:
            text = text.replace(value, "[redacted]")
    return text


def classify_status(status: int, body: str, headers: Mapping[str, str]) -> CallError:
    """Map an HTTP error to what the layer should do with it."""
    lowered = body.lower()
    short = " ".join(body.split())[:200]
    retry_after = retry_after_seconds(headers)
    if status == 429 and any(marker in lowered for marker in SPEND_CAP_MARKERS):
        return CallError("spend_cap", f"the provider's spend cap or quota is reached (429): "
                         f"{short}", status)
    if status == 429:
        return CallError("rate_limited", "rate limited (429)", status, retry_after, headers)
    if status in FATAL_STATUSES:
        return CallError("fatal", f"the provider refused the request ({status}): {short}",
                         status)
    if status == 408 or status >= 500 or status == 409:
        return CallError("server_error", f"server error ({status})", status, retry_after,
                         headers)
    return CallError("fatal", f"unexpected HTTP status {status}: {short}", status)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _duration(text: str) -> float | None:
    """OpenAI's reset durations ("1s", "6m0s", "20ms") or an RFC 3339 time, in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if parts and "".join(a + b for a, b in parts) == text.strip():
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(a) * scale[b] for a, b in parts)
    with contextlib.suppress(ValueError):
        import datetime

        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return max(0.0, when.timestamp() - time.time())
    return None


def estimate_input_tokens(request: GenerationRequest) -> int:
    """A provider-neutral estimate: ~4 characters a token, plus a few per message."""
    return sum(len(m.content) // 4 + 4 for m in request.messages) + 3


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


class ResponseCache:
    """Completions by content address in SQLite (WAL: many readers, concurrent writers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False,
                                   isolation_level=None)
        setup = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                 "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                 "value TEXT NOT NULL, created REAL NOT NULL)",
                 "CREATE TABLE IF NOT EXISTS batch_jobs (job_key TEXT PRIMARY KEY, "
                 "job_id TEXT NOT NULL, model TEXT NOT NULL, created REAL NOT NULL)")
        for statement in setup:
            # Switching to WAL while another process opens the file can fail at once with
            # "database is locked" (the busy timeout does not cover it): try again.
            for attempt in range(200):
                try:
                    self._db.execute(statement)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 199:
                        raise
                    time.sleep(0.01 + random.random() * 0.04)

    def batch_job(self, job_key: str) -> str | None:
        """The id of the batch job already submitted for ``job_key``, if any."""
        with self._lock:
            row = self._db.execute("SELECT job_id FROM batch_jobs WHERE job_key = ?",
                                   (job_key,)).fetchone()
        return None if row is None else str(row[0])

    def save_batch_job(self, job_key: str, job_id: str, model: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batch_jobs VALUES (?, ?, ?, ?)",
                             (job_key, job_id, model, time.time()))

    def drop_batch_job(self, job_key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batch_jobs WHERE job_key = ?", (job_key,))

    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return Reply(Completion(data["text"], data["model"], Usage(**data["usage"]),
                                data["finish_reason"]), fingerprint=data.get("fingerprint", ""))

    def put(self, key: str, reply: Reply) -> None:
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


def _number_env(name: str, environ: Mapping[str, str], model_id: str) -> float | None:
    """A number from ``name``: either one value, or ``model=value`` pairs, comma-separated."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    chosen: str | None = None
    for part in raw.split(","):
        key, sep, value = part.strip().rpartition("=")
        if not sep:
            chosen = chosen if chosen is not None else value
        elif key.strip() == model_id:
            chosen = value
    if chosen is None:
        return None
    try:
        number = float(chosen)
    except ValueError:
        raise SynthbenchError(f"{name}={raw!r}: expected a number or model=number pairs"
                              ) from None
    if number <= 0:
        raise SynthbenchError(f"{name}: expected a positive number, got {chosen!r}")
    return number


@dataclass(frozen=True)
class LayerSettings:
    """How the layer sends; none of it reaches a cache key or a result."""

    concurrency: int = 32
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_retries: int = 4
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    timeout_base_s: float = 30.0
    timeout_per_token_s: float = 0.1
    cache_path: Path | None = None
    use_cache: bool = True
    mode: str = "online"  # or "batch": the provider's batch API, half the price, slow
    batch_poll_s: float = 30.0

    @classmethod
    def from_env(cls, model_id: str, environ: Mapping[str, str] | None = None
                 ) -> LayerSettings:
        """``SYNTHBENCH_CONCURRENCY``, ``SYNTHBENCH_RPM``, ``SYNTHBENCH_TPM`` (a number or
        ``provider/model=number`` pairs), ``SYNTHBENCH_MAX_RETRIES``,
        ``SYNTHBENCH_REQUEST_TIMEOUT`` (base seconds) and ``SYNTHBENCH_REQUEST_CACHE``
        (a path, or ``off``)."""
        env = os.environ if environ is None else environ
        settings = cls()
        concurrency = _number_env("SYNTHBENCH_CONCURRENCY", env, model_id)
        retries = env.get("SYNTHBENCH_MAX_RETRIES", "").strip()
        timeout = _number_env("SYNTHBENCH_REQUEST_TIMEOUT", env, model_id)
        cache = env.get("SYNTHBENCH_REQUEST_CACHE", "").strip()
        if retries and not retries.isdigit():
            raise SynthbenchError(f"SYNTHBENCH_MAX_RETRIES must be an integer >= 0, "
                                  f"got {retries!r}")
        mode = env.get("SYNTHBENCH_REQUEST_MODE", "").strip() or settings.mode
        if mode not in ("online", "batch"):
            raise SynthbenchError(f"SYNTHBENCH_REQUEST_MODE must be online or batch, "
                                  f"got {mode!r}")
        poll = _number_env("SYNTHBENCH_BATCH_POLL", env, model_id)
        return replace(
            settings, mode=mode, batch_poll_s=poll or settings.batch_poll_s,
            concurrency=int(concurrency) if concurrency else settings.concurrency,
            requests_per_minute=_number_env("SYNTHBENCH_RPM", env, model_id),
            tokens_per_minute=_number_env("SYNTHBENCH_TPM", env, model_id),
            max_retries=int(retries) if retries else settings.max_retries,
            timeout_base_s=timeout or settings.timeout_base_s,
            use_cache=cache.lower() != "off",
            cache_path=Path(cache).expanduser() if cache and cache.lower() != "off" else None,
        )

    def timeout_for(self, max_tokens: int) -> float:
        return self.timeout_base_s + self.timeout_per_token_s * max_tokens


class TokenBucket:
    """Requests and tokens per minute for one (provider, model), shared by every thread.

    Each send reserves a request and its tokens and is told how long to wait first, so the
    sends come out evenly spaced at the rate with a burst of at most ``BURST_S`` seconds.
    A 429 pauses the bucket for its ``retry-after`` and cuts the rate by a tenth (learning a
    rate from the recent sends when none was set); each success gives back 2 % of the
    ceiling. Rate-limit headers lower the ceiling and pause the bucket when the provider
    says nothing is left.
    """

    BURST_S = 0.5

    def __init__(self, rpm: float | None, tpm: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ceiling = {"requests": rpm, "tokens": tpm}
        self.rate = {"requests": rpm, "tokens": tpm}
        self.level: dict[str, float] = {k: self._burst(v) for k, v in self.rate.items()}
        self.stamp = clock()
        self.paused_until = 0.0
        self.sent: deque[float] = deque()  # send times of the last minute
        self._lock = threading.Lock()

    def _burst(self, per_minute: float | None) -> float:
        return max(1.0, (per_minute or 0) / 60 * self.BURST_S)

    def _refill(self, now: float) -> None:
        elapsed, self.stamp = now - self.stamp, now
        for kind, rate in self.rate.items():
            if rate:
                self.level[kind] = min(self._burst(rate), self.level[kind] + elapsed * rate / 60)

    def reserve(self, tokens: int) -> float:
        """Take one request and ``tokens``; return the seconds to wait before sending."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            wait = max(0.0, self.paused_until - now)
            for kind, amount in (("requests", 1.0), ("tokens", float(tokens))):
                rate = self.rate[kind]
                if rate:
                    amount = min(amount, self._burst(rate))
                    self.level[kind] -= amount
                    wait = max(wait, -self.level[kind] * 60 / rate)
            self.sent.append(now + wait)
            while self.sent and self.sent[0] <= now - 60:
                self.sent.popleft()
            return wait

    def throttled(self, retry_after: float | None) -> None:
        """A 429: pause, and cut the rate (learning one from recent sends if none is set)."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            self.paused_until = max(self.paused_until, now + (retry_after or 0.0))
            if self.rate["requests"] is None:
                recent = len([t for t in self.sent if t > now - 60])
                elapsed = max(1.0, min(60.0, now - min(self.sent, default=now)))
                learned = max(1.0, recent / elapsed * 60)
                self.ceiling["requests"] = learned
                self.rate["requests"] = learned
                self.level["requests"] = 0.0
            for kind, rate in self.rate.items():
                ceiling = self.ceiling[kind]
                if rate and ceiling:
                    self.rate[kind] = max(ceiling * 0.1, rate * 0.9)

    def succeeded(self) -> None:
        with self._lock:
            for kind, rate in self.rate.items():
                ceiling = self.ceiling[kind]
                if rate and ceiling:
                    self.rate[kind] = min(ceiling, rate + ceiling * 0.02)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read OpenAI's ``x-ratelimit-*`` and Anthropic's ``anthropic-ratelimit-*``."""
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            now = self.clock()
            for kind in ("requests", "tokens"):
                for prefix in ("x-ratelimit-", "anthropic-ratelimit-"):
                    limit = lowered.get(f"{prefix}limit-{kind}" if prefix[0] == "x"
                                        else f"{prefix}{kind}-limit")
                    remaining = lowered.get(f"{prefix}remaining-{kind}" if prefix[0] == "x"
                                            else f"{prefix}{kind}-remaining")
                    reset = lowered.get(f"{prefix}reset-{kind}" if prefix[0] == "x"
                                        else f"{prefix}{kind}-reset")
                    with contextlib.suppress(ValueError):
                        if limit is not None:
                            self._cap(kind, float(limit))
                        if remaining is not None and float(remaining) < 1 and reset:
                            seconds = _duration(reset)
                            if seconds is not None:
                                self.paused_until = max(self.paused_until, now + seconds)

    def _cap(self, kind: str, limit: float) -> None:
        ceiling = self.ceiling[kind]
        if limit > 0 and (ceiling is None or limit < ceiling):
            self.ceiling[kind] = limit
            rate = self.rate[kind]
            self.rate[kind] = limit if rate is None else min(rate, limit)
            self.level[kind] = min(self.level[kind], self._burst(limit))


_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(provider: str, model: str, settings: LayerSettings) -> TokenBucket:
    """The one bucket of (provider, model) in this process."""
    with _BUCKETS_LOCK:
        key = (provider, model)
        if key not in _BUCKETS:
            _BUCKETS[key] = TokenBucket(settings.requests_per_minute,
                                        settings.tokens_per_minute)
        return _BUCKETS[key]


class Budget:
    """Dollars the run may spend; calls reserve their worst case before they start."""

    def __init__(self, max_usd: float) -> None:
        self.max_usd = max_usd
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, worst_usd: float) -> bool:
        with self._lock:
            if self.spent + self.reserved + worst_usd > self.max_usd + 1e-12:
                return False
            self.reserved += worst_usd
            return True

    def settle(self, worst_usd: float, actual_usd: float) -> None:
        with self._lock:
            self.reserved -= worst_usd
            self.spent += actual_usd


_BUDGET: Budget | None = None


@contextlib.contextmanager
def spending_limit(max_usd: float | None) -> Iterator[Budget | None]:
    """Within this block, API calls of every layer stop before the total crosses ``max_usd``."""
    global _BUDGET
    previous = _BUDGET
    _BUDGET = Budget(max_usd) if max_usd is not None else None
    try:
        yield _BUDGET
    finally:
        _BUDGET = previous


class RequestLayer:
    """Sends requests of one (provider, model) through a backend with all of the above.

    ``run`` is synchronous: the calls run on the layer's own event loop in a background
    thread, so several providers (models) run at the same time from several threads.
    """

    def __init__(self, provider: str, model: str, backend_factory: Callable[[], Backend],
                 price: Price | None = None, settings: LayerSettings | None = None,
                 cache_extra: Mapping[str, Any] | None = None) -> None:
        self.provider = provider
        self.model = model
        self.model_id = f"{provider}/{model}"
        self.settings = settings or LayerSettings.from_env(self.model_id)
        self.price = price
        self.cache_extra = dict(cache_extra or {})
        self._backend_factory = backend_factory
        self._backend: Backend | None = None
        self._cache: ResponseCache | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self.notify: Callable[[str], None] = lambda line: print(
            f"synthbench: {line}", file=sys.stderr, flush=True)

    @property
    def cache(self) -> ResponseCache | None:
        if self._cache is None and self.settings.use_cache:
            path = self.settings.cache_path or cache_dir() / "requests.sqlite"
            self._cache = ResponseCache(path)
        return self._cache

    def key(self, request: GenerationRequest) -> str:
        return cache_key(self.provider, self.model, request, self.cache_extra)

    def cached(self, requests: Sequence[GenerationRequest]) -> list[Completion | None]:
        """What the cache already holds for ``requests`` (``None`` where it holds nothing)."""
        cache = self.cache
        hits = [cache.get(self.key(r)) if cache is not None else None for r in requests]
        return [None if hit is None else hit.completion for hit in hits]

    @property
    def batch(self) -> bool:
        return self.settings.mode == "batch"

    def worst_case_usd(self, request: GenerationRequest) -> float | None:
        if self.price is None:
            return None
        usage = Usage(estimate_input_tokens(request), request.max_tokens)
        return self.price.cost(usage, self.batch)

    def run(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """One completion per request, in order; a request that failed every attempt comes
        back as an empty completion whose ``finish_reason`` starts with ``"error: "``."""
        if not requests:
            return []
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self._run_all(list(requests)), loop)
        return future.result()

    def close(self) -> None:
        """Close the backend and stop the loop (idempotent)."""
        if self._loop is not None and self._backend is not None:
            backend = self._backend
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(backend.aclose(), self._loop).result(10)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(5)
        self._loop = self._thread = self._backend = None
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, daemon=True,
                                          name=f"synthbench-requests-{self.model_id}")
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _run_all(self, requests: list[GenerationRequest]) -> list[Completion]:
        if self._backend is None:
            self._backend = self._backend_factory()
        if self.batch:
            return await self._run_batch(requests)
        semaphore = asyncio.Semaphore(max(1, self.settings.concurrency))
        bucket = bucket_for(self.provider, self.model, self.settings)
        halt = asyncio.Event()
        tasks = [asyncio.ensure_future(self._one(r, semaphore, bucket, halt))
                 for r in requests]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        if not halt.is_set() and any(t.done() and t.exception() for t in tasks):
            halt.set()  # an unexpected error: stop as for a fatal one
        if halt.is_set():
            # A fatal error cancels the calls in flight; a budget stop lets them finish.
            errors = [t.exception() for t in tasks if t.done() and not t.cancelled()]
            first = next(e for e in errors if e is not None and not isinstance(e, _Halted))
            assert isinstance(first, Exception)
            if not isinstance(first, BudgetReached):
                for task in tasks:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise first
        return [t.result() for t in tasks]

    async def _one(self, request: GenerationRequest, semaphore: asyncio.Semaphore,
                   bucket: TokenBucket, halt: asyncio.Event) -> Completion:
        key = self.key(request)
        self.stats["requests"] += 1
        cache = self.cache
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            self.stats["cache_hits"] += 1
            self.served[hit.served] += 1
            return hit.completion
        async with semaphore:
            if halt.is_set():
                raise _Halted()
            try:
                return await self._send(request, key, bucket)
            except (SynthbenchError, CallError):
                halt.set()
                raise

    async def _send(self, request: GenerationRequest, key: str,
                    bucket: TokenBucket) -> Completion:
        assert self._backend is not None
        budget, worst = _BUDGET, self.worst_case_usd(request)
        if budget is not None:
            if worst is None:
                raise SynthbenchError(f"--max-cost needs a price for {self.model_id}, and "
                                      "synthbench has none; drop --max-cost or use a priced model")
            if not budget.reserve(worst):
                raise BudgetReached(
                    f"stopped before crossing --max-cost ${budget.max_usd:g}: spent "
                    f"${budget.spent:.4f}; everything finished is kept (run again with a "
                    "higher --max-cost to go on)")
        tokens = estimate_input_tokens(request) + request.max_tokens
        timeout = self.settings.timeout_for(request.max_tokens)
        last: CallError | None = None
        try:
            for attempt in range(self.settings.max_retries + 1):
                wait = bucket.reserve(tokens)
                if wait > 0:
                    await asyncio.sleep(wait)
                self.stats["provider_calls"] += 1
                try:
                    reply = await asyncio.wait_for(self._backend.call(request, timeout), timeout)
                except asyncio.TimeoutError:
                    last = CallError("timeout", f"no answer within {timeout:g} s")
                except CallError as exc:
                    last = exc
                else:
                    bucket.observe(reply.headers)
                    bucket.succeeded()
                    if budget is not None and worst is not None and self.price is not None:
                        budget.settle(worst, self.price.cost(reply.completion.usage))
                        worst = None
                    cache = self.cache
                    if cache is not None:
                        cache.put(key, reply)
                    self.served[reply.served] += 1
                    return reply.completion
                self.stats[f"failed_{last.kind}"] += 1
                if not last.retryable:
                    raise SynthbenchError(f"{self.model_id}: {last}")
                if last.kind == "rate_limited":
                    bucket.throttled(last.retry_after)
                elif last.headers:
                    bucket.observe(last.headers)
                if attempt < self.settings.max_retries:
                    self.stats["retries"] += 1
                    await asyncio.sleep(self._backoff(attempt, last.retry_after))
        finally:
            if budget is not None and worst is not None:
                budget.settle(worst, 0.0)
        assert last is not None
        self.stats["gave_up"] += 1
        return Completion("", self.model_id, Usage(), f"{ERROR_PREFIX}{last.kind}: {last}")

    async def _run_batch(self, requests: list[GenerationRequest]) -> list[Completion]:
        """Batch mode: the requests the cache lacks go in one batch job, whose id is stored
        before polling, so a re-run polls and collects that job instead of paying again."""
        backend, cache = self._backend, self.cache
        if not all(hasattr(backend, name) for name in ("submit_batch", "poll_batch",
                                                        "collect_batch")):
            raise SynthbenchError(f"{self.model_id}: this provider has no batch API; "
                                  "drop --mode batch")
        if cache is None:
            raise SynthbenchError("--mode batch needs the request cache; unset "
                                  "SYNTHBENCH_REQUEST_CACHE=off")
        keys = [self.key(r) for r in requests]
        missing: dict[str, GenerationRequest] = {}
        for key, request in zip(keys, requests, strict=True):
            self.stats["requests"] += 1
            if cache.get(key) is None:
                missing.setdefault(key, request)
            else:
                self.stats["cache_hits"] += 1
        failures = await self._batch_job(backend, cache, missing) if missing else {}
        out = []
        for key in keys:
            hit = cache.get(key)
            if hit is None:
                out.append(Completion("", self.model_id, Usage(),
                                      f"{ERROR_PREFIX}batch: {failures.get(key, 'no result')}"))
            else:
                self.served[hit.served] += 1
                out.append(hit.completion)
        return out

    async def _batch_job(self, backend: Any, cache: ResponseCache,
                         missing: Mapping[str, GenerationRequest]) -> dict[str, str]:
        job_key = hashlib.sha256(json.dumps([self.provider, self.model, sorted(missing)])
                                 .encode()).hexdigest()
        budget = _BUDGET
        worst = sum(self.worst_case_usd(r) or 0.0 for r in missing.values())
        job_id = cache.batch_job(job_key)
        if job_id is None:
            if budget is not None:
                if self.price is None:
                    raise SynthbenchError(f"--max-cost needs a price for {self.model_id}, and "
                                          "synthbench has none")
                if not budget.reserve(worst):
                    raise BudgetReached(
                        f"stopped before crossing --max-cost ${budget.max_usd:g}: the next "
                        f"batch of {len(missing)} requests could cost ${worst:.4f}; "
                        "everything finished is kept")
            try:
                job_id = await backend.submit_batch(sorted(missing.items()))
            except CallError as exc:
                if budget is not None:
                    budget.settle(worst, 0.0)
                raise SynthbenchError(f"{self.model_id}: batch submission failed: {exc}"
                                      ) from None
            cache.save_batch_job(job_key, job_id, self.model_id)
            self.stats["batches_submitted"] += 1
        else:
            self.stats["batches_resumed"] += 1
            worst = 0.0  # a job submitted by an earlier run: only what it costs is counted
        self.notify(f"{self.model_id}: waiting for provider: batch {job_id} "
                    f"({len(missing)} requests)")
        errors = 0
        while True:
            try:
                state = await backend.poll_batch(job_id)
                errors = 0
            except CallError as exc:
                errors += 1
                if not exc.retryable or errors > self.settings.max_retries:
                    raise SynthbenchError(f"{self.model_id}: polling batch {job_id} failed: "
                                          f"{exc}; run again to poll it again") from None
                state = BatchState(False, f"poll failed ({exc.kind})")
            self.stats["batch_polls"] += 1
            if state.done:
                break
            await asyncio.sleep(self.settings.batch_poll_s)
        results: dict[str, Reply | CallError] = await backend.collect_batch(job_id)
        failures: dict[str, str] = {}
        spent = 0.0
        for key in missing:
            result = results.get(key)
            if isinstance(result, Reply):
                cache.put(key, result)
                if self.price is not None:
                    spent += self.price.cost(result.completion.usage, batch=True)
            else:
                failures[key] = str(result) if result is not None else "missing from results"
                self.stats["gave_up"] += 1
        cache.drop_batch_job(job_key)
        if budget is not None:
            budget.settle(worst, spent)
        self.notify(f"{self.model_id}: batch {job_id} {state.state}: "
                    f"{len(missing) - len(failures)} answers, {len(failures)} failed")
        return failures

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter; at least ``retry-after`` when the provider sent one."""
        ceiling = min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2 ** attempt)
        jitter = random.uniform(0, ceiling)
        if retry_after is not None:
            return retry_after + random.uniform(0, min(ceiling, 1.0))
        return jitter


class LayeredProvider:
    """A ``synthbench.types.Provider`` whose calls go through a ``RequestLayer``.

    ``requests_per_call`` tells generators to hand over many requests at once: the layer
    keeps the in-flight count and rate limits, and a small call would idle at its slowest
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

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        return self.layer.run(requests)

    def describe(self) -> dict[str, Any]:
        price = self.layer.price
        return {"model": self.model_id, "request_cache_schema": CACHE_SCHEMA,
                "request_mode": self.layer.settings.mode,
                "price_per_million_tokens": None if price is None else price.as_dict(),
                **self._provenance}

    def request_stats(self) -> dict[str, dict[str, int]]:
        """Counters since the provider was built: ``calls`` (requests, cache hits, provider
        calls, retries, failures by kind) and ``served`` (model and fingerprint -> responses)."""
        return {"calls": dict(self.layer.stats), "served": dict(self.layer.served)}

    def close(self) -> None:
        self.layer.close()
