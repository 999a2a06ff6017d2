"""``RequestLayer``: what one API model's calls share — its backend, its view of the cache,
its send settings, the run's limits, and an event loop in a background thread, so callers stay
synchronous while calls run concurrently (several models at once from several threads).
``online.py`` and ``batch.py`` are the two ways it sends."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from synthbench.calls.backend import Backend, Price
from synthbench.calls.cache import CacheFront
from synthbench.calls.context import CallContext
from synthbench.types import Completion, GenerationRequest, Usage


def estimate_input_tokens(request: GenerationRequest) -> int:
    """A provider-neutral estimate: ~4 characters a token, plus a few per message."""
    return sum(len(m.content) // 4 + 4 for m in request.messages) + 3


class RequestLayer:
    """Sends requests of one (provider, model) through a backend: cache, concurrency, rate
    limits, retries, timeouts and the budget, with the run's ``CallContext``."""

    def __init__(self, provider: str, model: str, backend_factory: Callable[[], Backend],
                 calls: CallContext, price: Price | None = None,
                 cache_extra: Mapping[str, Any] | None = None) -> None:
        self.provider = provider
        self.model = model
        self.model_id = f"{provider}/{model}"
        self.settings = calls.send_settings(self.model_id)
        self.limits = calls.limits
        self.notify = calls.notify
        self.price = price
        self.front = CacheFront(provider, model, calls.cache, cache_extra)
        self._backend_factory = backend_factory
        self._backend: Backend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def backend(self) -> Backend:
        """The SDK client, made on first use (inside the layer's loop)."""
        if self._backend is None:
            self._backend = self._backend_factory()
        return self._backend

    @property
    def batch(self) -> bool:
        return self.settings.batch

    def worst_case_usd(self, request: GenerationRequest) -> float | None:
        """The most ``request`` can cost: its estimated input and all of ``max_tokens``."""
        if self.price is None:
            return None
        return self.price.cost(Usage(estimate_input_tokens(request), request.max_tokens),
                               self.batch)

    def run(self, send: Callable[[RequestLayer, list[GenerationRequest]],
                                 Coroutine[Any, Any, list[Completion]]],
            requests: Sequence[GenerationRequest]) -> list[Completion]:
        """``send(self, requests)`` on the layer's loop, waited for."""
        if not requests:
            return []
        future = asyncio.run_coroutine_threadsafe(send(self, list(requests)),
                                                  self._ensure_loop())
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
        self.front.close()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, daemon=True,
                                          name=f"synthbench-requests-{self.model_id}")
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop
