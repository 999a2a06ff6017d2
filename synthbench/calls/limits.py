"""Limits shared by every call of a run: a token bucket per (provider, model) and the budget.

The runner makes one ``Limits`` and hands it, inside the ``CallContext``, to every provider
it builds; nothing here is a module global, so two runs in one process never share a bucket
or a budget by accident, and a later executor can put ``Limits`` behind one shared owner.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from synthbench.calls.errors import reset_seconds


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
                            seconds = reset_seconds(reset)
                            if seconds is not None:
                                self.paused_until = max(self.paused_until, now + seconds)

    def _cap(self, kind: str, limit: float) -> None:
        ceiling = self.ceiling[kind]
        if limit > 0 and (ceiling is None or limit < ceiling):
            self.ceiling[kind] = limit
            rate = self.rate[kind]
            self.rate[kind] = limit if rate is None else min(rate, limit)
            self.level[kind] = min(self.level[kind], self._burst(limit))


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


class Limits:
    """The run's token buckets (one per provider and model, made on first use) and its
    budget (``None``: no ``--max-cost``)."""

    def __init__(self, max_usd: float | None = None) -> None:
        self.budget = Budget(max_usd) if max_usd is not None else None
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, provider: str, model: str, rpm: float | None,
               tpm: float | None) -> TokenBucket:
        """The one bucket of (provider, model); its rates are set by whoever asks first."""
        with self._lock:
            key = (provider, model)
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(rpm, tpm)
            return self._buckets[key]
