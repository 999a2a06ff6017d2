"""Batch mode: the requests the cache lacks go in one job of the provider's batch API (half
the price, hours). The job id is stored before polling, so a re-run polls and collects that
job instead of paying again; answers land in the request cache like online ones."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Mapping

from synthbench.calls.backend import BatchBackend, BatchState, Reply
from synthbench.calls.cache import connect
from synthbench.calls.errors import ERROR_PREFIX, BudgetReached, CallError
from synthbench.calls.layer import RequestLayer
from synthbench.errors import SynthbenchError
from synthbench.types import Completion, GenerationRequest, Usage


class BatchJobs:
    """Submitted batch jobs by the requests they hold, in the request cache's file."""

    def __init__(self, layer: RequestLayer) -> None:
        self._lock = threading.Lock()
        self._db = connect(layer.front.settings.file, [
            "CREATE TABLE IF NOT EXISTS batch_jobs (job_key TEXT PRIMARY KEY, "
            "job_id TEXT NOT NULL, model TEXT NOT NULL, created REAL NOT NULL)"])

    def find(self, job_key: str) -> str | None:
        """The id of the batch job already submitted for ``job_key``, if any."""
        with self._lock:
            row = self._db.execute("SELECT job_id FROM batch_jobs WHERE job_key = ?",
                                   (job_key,)).fetchone()
        return None if row is None else str(row[0])

    def save(self, job_key: str, job_id: str, model: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batch_jobs VALUES (?, ?, ?, ?)",
                             (job_key, job_id, model, time.time()))

    def drop(self, job_key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batch_jobs WHERE job_key = ?", (job_key,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


async def send_batch(layer: RequestLayer, requests: list[GenerationRequest]
                     ) -> list[Completion]:
    """One completion per request, in order, from the cache after one batch job."""
    backend, front = layer.backend, layer.front
    if not isinstance(backend, BatchBackend):
        raise SynthbenchError(f"{layer.model_id}: this provider has no batch API; "
                              "drop --mode batch")
    if not front.settings.enabled:
        raise SynthbenchError("--mode batch needs the request cache; unset "
                              "SYNTHBENCH_REQUEST_CACHE=off")
    keys = [front.key(r) for r in requests]
    missing: dict[str, GenerationRequest] = {}
    for key, request in zip(keys, requests, strict=True):
        front.count(requests=1)
        if front.get(key) is None:
            missing.setdefault(key, request)
        else:
            front.count(cache_hits=1)
    failures: dict[str, str] = {}
    if missing:
        jobs = BatchJobs(layer)
        try:
            failures = await _batch_job(layer, backend, jobs, missing)
        finally:
            jobs.close()
    out = []
    for key in keys:
        hit = front.get(key)
        if hit is None:
            out.append(Completion("", layer.model_id, Usage(),
                                  f"{ERROR_PREFIX}batch: {failures.get(key, 'no result')}"))
        else:
            front.serve(hit.served)
            out.append(hit.completion)
    return out


async def _batch_job(layer: RequestLayer, backend: BatchBackend, jobs: BatchJobs,
                     missing: Mapping[str, GenerationRequest]) -> dict[str, str]:
    """Submit (or find) the job for ``missing``, poll it, store its answers; the failures."""
    front, budget = layer.front, layer.limits.budget
    job_key = hashlib.sha256(json.dumps([layer.provider, layer.model, sorted(missing)])
                             .encode()).hexdigest()
    worst = sum(layer.worst_case_usd(r) or 0.0 for r in missing.values())
    job_id = jobs.find(job_key)
    if job_id is None:
        if budget is not None:
            if layer.price is None:
                raise SynthbenchError(f"--max-cost needs a price for {layer.model_id}, and "
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
            raise SynthbenchError(f"{layer.model_id}: batch submission failed: {exc}"
                                  ) from None
        jobs.save(job_key, job_id, layer.model_id)
        front.count(batches_submitted=1)
    else:
        front.count(batches_resumed=1)
        worst = 0.0  # a job submitted by an earlier run: only what it costs is counted
    layer.notify(f"{layer.model_id}: waiting for provider: batch {job_id} "
                 f"({len(missing)} requests)")
    errors = 0
    while True:
        try:
            state = await backend.poll_batch(job_id)
            errors = 0
        except CallError as exc:
            errors += 1
            if not exc.retryable or errors > layer.settings.max_retries:
                raise SynthbenchError(f"{layer.model_id}: polling batch {job_id} failed: "
                                      f"{exc}; run again to poll it again") from None
            state = BatchState(False, f"poll failed ({exc.kind})")
        front.count(batch_polls=1)
        if state.done:
            break
        await asyncio.sleep(layer.settings.batch_poll_s)
    results = await backend.collect_batch(job_id)
    failures: dict[str, str] = {}
    spent = 0.0
    for key in missing:
        result = results.get(key)
        if isinstance(result, Reply):
            front.put(key, result)
            if layer.price is not None:
                spent += layer.price.cost(result.completion.usage, batch=True)
        else:
            failures[key] = str(result) if result is not None else "missing from results"
            front.count(gave_up=1)
    jobs.drop(job_key)
    if budget is not None:
        budget.settle(worst, spent)
    layer.notify(f"{layer.model_id}: batch {job_id} {state.state}: "
                 f"{len(missing) - len(failures)} answers, {len(failures)} failed")
    return failures
