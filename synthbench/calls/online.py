"""Online mode: every request the cache lacks is sent on its own, concurrently.

A bounded number of requests is in flight; each waits for its (provider, model) token bucket,
is retried with full jitter (``retry-after`` honoured) under a timeout scaled to its
``max_tokens``, and reserves its worst-case price from the budget before it starts. A call
that fails every attempt counts at that worst case: what a failed call was billed is unknown,
and the budget must hold anyway. 400/401/403/404/422 and a spent quota stop the run.
"""

from __future__ import annotations

import asyncio
import random

from synthbench.calls.backend import redacted
from synthbench.calls.errors import ERROR_PREFIX, BudgetReached, CallError, Halted
from synthbench.calls.layer import RequestLayer, estimate_input_tokens
from synthbench.calls.limits import TokenBucket
from synthbench.calls.settings import SendSettings
from synthbench.errors import SynthbenchError
from synthbench.types import Completion, GenerationRequest, Usage


async def send_online(layer: RequestLayer, requests: list[GenerationRequest]
                      ) -> list[Completion]:
    """One completion per request, in order; the first fatal error stops the rest."""
    semaphore = asyncio.Semaphore(max(1, layer.settings.concurrency))
    bucket = layer.limits.bucket(layer.provider, layer.model,
                                 layer.settings.requests_per_minute,
                                 layer.settings.tokens_per_minute)
    halt = asyncio.Event()
    tasks = [asyncio.ensure_future(_one(layer, r, semaphore, bucket, halt)) for r in requests]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    if not halt.is_set() and any(t.done() and t.exception() for t in tasks):
        halt.set()  # an unexpected error: stop as for a fatal one
    if halt.is_set():
        # A fatal error cancels the calls in flight; a budget stop lets them finish.
        errors = [t.exception() for t in tasks if t.done() and not t.cancelled()]
        first = next(e for e in errors if e is not None and not isinstance(e, Halted))
        if not isinstance(first, BudgetReached):
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise first
    return [t.result() for t in tasks]


async def _one(layer: RequestLayer, request: GenerationRequest, semaphore: asyncio.Semaphore,
               bucket: TokenBucket, halt: asyncio.Event) -> Completion:
    key = layer.front.key(request)
    layer.front.count(requests=1)
    hit = layer.front.get(key)
    if hit is not None:
        layer.front.count(cache_hits=1)
        layer.front.serve(hit.served)
        return hit.completion
    async with semaphore:
        if halt.is_set():
            raise Halted()
        try:
            return await _send(layer, request, key, bucket)
        except (SynthbenchError, CallError):
            halt.set()
            raise


def _reserve(layer: RequestLayer, worst: float | None) -> None:
    """Take the call's worst case from the budget, or stop the run before it is sent."""
    budget = layer.limits.budget
    if budget is None:
        return
    if worst is None:
        raise SynthbenchError(f"--max-cost needs a price for {layer.model_id}, and synthbench "
                              "has none; drop --max-cost or use a priced model")
    if not budget.reserve(worst):
        raise BudgetReached(
            f"stopped before crossing --max-cost ${budget.max_usd:g}: spent "
            f"${budget.spent:.4f}; everything finished is kept (run again with a higher "
            "--max-cost to go on)")


async def _send(layer: RequestLayer, request: GenerationRequest, key: str,
                bucket: TokenBucket) -> Completion:
    budget, worst = layer.limits.budget, layer.worst_case_usd(request)
    _reserve(layer, worst)
    tokens = estimate_input_tokens(request) + request.max_tokens
    timeout = layer.settings.timeout_for(request.max_tokens)
    last: CallError | None = None
    charged = 0.0  # what the budget is settled at if no attempt succeeds
    try:
        for attempt in range(layer.settings.max_retries + 1):
            wait = bucket.reserve(tokens)
            if wait > 0:
                await asyncio.sleep(wait)
            layer.front.count(provider_calls=1)
            charged = worst or 0.0
            try:
                reply = await asyncio.wait_for(layer.backend.call(request, timeout), timeout)
            except asyncio.TimeoutError:
                last = CallError("timeout", f"no answer within {timeout:g} s")
            except CallError as exc:
                last = exc
            else:
                reply = redacted(reply)
                bucket.observe(reply.headers)
                bucket.succeeded()
                if budget is not None and worst is not None and layer.price is not None:
                    budget.settle(worst, layer.price.cost(reply.completion.usage, layer.batch))
                    worst = None
                layer.front.put(key, reply)
                layer.front.serve(reply.served)
                return reply.completion
            layer.front.count(**{f"failed_{last.kind}": 1})
            if not last.retryable:
                raise SynthbenchError(f"{layer.model_id}: {last}")
            if last.kind == "rate_limited":
                bucket.throttled(last.retry_after)
            elif last.headers:
                bucket.observe(last.headers)
            if attempt < layer.settings.max_retries:
                layer.front.count(retries=1)
                await asyncio.sleep(backoff(layer.settings, attempt, last.retry_after))
    finally:
        if budget is not None and worst is not None:
            budget.settle(worst, charged)
    assert last is not None, "the loop runs at least once"
    layer.front.count(gave_up=1)
    return Completion("", layer.model_id, Usage(), f"{ERROR_PREFIX}{last.kind}: {last}")


def backoff(settings: SendSettings, attempt: int, retry_after: float | None) -> float:
    """Full jitter; at least ``retry-after`` when the provider sent one."""
    ceiling = min(settings.backoff_cap_s, settings.backoff_base_s * 2 ** attempt)
    if retry_after is not None:
        return retry_after + random.uniform(0, min(ceiling, 1.0))
    return random.uniform(0, ceiling)
