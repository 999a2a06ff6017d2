"""The embedded model behind the request cache (``CachedProvider``): on the real SmolLM2-135M,
a cached answer equals a fresh one, a second run calls the model zero times, another model
identity misses, and ``kill -9`` of ``synthbench run --model local`` then the same command
gives the texts of an uninterrupted run, regenerating at most one chunk."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from synthbench.calls import CachedProvider, CacheSettings, CallContext
from synthbench.errors import SynthbenchError
from synthbench.testing import MockProvider, RecordingProvider
from synthbench.types import (
    Closeable,
    Completion,
    ContinuationScorer,
    GenerationRequest,
    Message,
    Provider,
    Tokenizer,
    Usage,
)
from synthbench_local import folder_fingerprint, hf_provider, local_provider, weights_identity
from synthbench_local.embedded import GGUF_SHA256, converted_dir
from synthbench_local.engine import REQUESTS_PER_CALL as ENGINE_REQUESTS_PER_CALL

# The runner sends the fast engine this many requests per call (one full batch).
REQUESTS_PER_CALL = ENGINE_REQUESTS_PER_CALL["cpu"]
N_TEXTS = REQUESTS_PER_CALL + 36  # two calls: the kill lands in the second

SYNTHBENCH = str(Path(sys.executable).parent / "synthbench")


def ask(text: str, seed: int, sample_index: int = 0, max_tokens: int = 8) -> GenerationRequest:
    return GenerationRequest((Message("user", text),), max_tokens=max_tokens, temperature=1.0,
                             seed=seed, sample_index=sample_index)


REQUESTS = [ask("Write a one-line movie review.", 1, i) for i in range(3)] + [
    ask("Write a one-line text message to a friend.", 2),
    ask("Write a one-line news headline.", 3),
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("request-cache") / "requests.sqlite"


@pytest.fixture(scope="module")
def local(database: Path) -> Iterator[CachedProvider]:
    """``--model local`` as the plugin builds it, with the cache in ``database``; on one
    thread (on a busy machine two threads spin-wait for each other at ~10x the CPU)."""
    import torch

    patch = pytest.MonkeyPatch()
    patch.setenv("OMP_NUM_THREADS", "1")  # the fast engine's threads, read when it is built
    provider = local_provider("", CallContext(cache=CacheSettings(database),
                                              provider_options={"device": "cpu"}))
    patch.undo()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield provider
    torch.set_num_threads(threads)
    provider.close()


def wrap(local: CachedProvider, path: Path | None, weights: str | None = None
         ) -> tuple[CachedProvider, RecordingProvider]:
    """A new wrapper (own connection) over the same loaded model, counting model calls."""
    spy = RecordingProvider(local.inner)
    settings = CacheSettings(path, enabled=path is not None)
    return CachedProvider(spy, weights or local.identity["weights"],
                          {k: v for k, v in local.identity.items() if k != "weights"},
                          settings), spy


def texts(completions: Sequence[Completion]) -> list[str]:
    return [c.text for c in completions]


def test_second_run_calls_the_model_zero_times_and_equals_an_uncached_run(
        local: CachedProvider, database: Path) -> None:
    before = local.request_stats()["calls"]
    first = local.complete(REQUESTS)  # cache on: generated and stored
    calls = local.request_stats()["calls"]
    assert calls.get("provider_calls", 0) - before.get("provider_calls", 0) == 5
    uncached, spy_off = wrap(local, None)
    reference = uncached.complete(REQUESTS)  # cache off: generated again
    assert len(spy_off.calls) == 1 and uncached.request_stats()["calls"] == {
        "requests": 5, "provider_calls": 5}
    assert first == reference  # text, model, usage and finish reason
    assert len(set(texts(reference[:3]))) > 1  # sample_index tells the repeats apart

    again, spy = wrap(local, database)  # a new run: a new connection to the same file
    assert again.complete(REQUESTS) == reference
    assert spy.calls == []
    assert again.request_stats() == {
        "calls": {"requests": 5, "cache_hits": 5},
        "served": {"local/smollm2-135m-instruct": 5}}

    fresh = ask("Write a one-line product review.", 4)
    out = again.complete([REQUESTS[0], fresh, REQUESTS[3]])
    assert spy.calls == [[fresh]]  # only the miss reaches the model
    assert [out[0], out[2]] == [reference[0], reference[3]]  # answers in request order
    assert again.cached([fresh]) == [out[1]]  # stored as soon as it came back


def test_another_model_identity_never_answers_from_the_cache(
        local: CachedProvider, database: Path) -> None:
    local.complete(REQUESTS[:2])
    assert None not in wrap(local, database)[0].cached(REQUESTS[:2])
    other, spy = wrap(local, database, weights="gguf-sha256:" + "0" * 64)
    assert other.cached(REQUESTS[:2]) == [None, None]
    resampled = CachedProvider(local.inner, local.identity["weights"],
                               {**local.identity, "sampling": "another sampler"},
                               CacheSettings(database))
    assert resampled.cached(REQUESTS[:2]) == [None, None]
    other.complete(REQUESTS[:1])
    assert spy.calls == [REQUESTS[:1]]
    assert other.request_stats()["calls"] == {"requests": 1, "provider_calls": 1}


def test_weights_identity_of_the_embedded_model_and_of_a_folder(
        local: CachedProvider, tmp_path: Path) -> None:
    assert local.identity["weights"] == f"gguf-sha256:{GGUF_SHA256}"
    assert local.identity["engine"]["engine"] == "ctranslate2"
    assert local.identity["fallback"]["dtype"] == "float32"
    assert weights_identity(local.inner) == local.identity["weights"]
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    before = folder_fingerprint(folder)
    assert folder_fingerprint(folder) == before
    (folder / "model.safetensors").write_bytes(b"other weights")
    assert folder_fingerprint(folder) != before

    import torch

    threads = torch.get_num_threads()
    served = hf_provider(str(converted_dir(GGUF_SHA256)), CallContext())  # same weights, as hf/
    torch.set_num_threads(threads)  # building a provider sets it to every core again
    weights = served.identity["weights"]
    assert weights.startswith(f"folder:{converted_dir(GGUF_SHA256).resolve()}:")
    assert served.key(REQUESTS[0]) != local.key(REQUESTS[0])


def test_tokenizing_scoring_and_provenance_are_the_wrapped_providers(
        local: CachedProvider) -> None:
    assert isinstance(local, Provider) and isinstance(local, ContinuationScorer)
    assert isinstance(local, Tokenizer) and isinstance(local, Closeable)
    assert local.model_id == "local/smollm2-135m-instruct"
    assert local.capabilities == local.inner.capabilities
    assert local.tokenize("hello world") == local.inner.tokenize("hello world")
    info = local.describe()
    assert info["gguf_sha256"] == GGUF_SHA256 and "request_cache_schema" in info
    messages = (Message("user", "Is the sky blue? Answer yes or no."),)
    assert local.score_continuations(messages, ["yes", "no"]) == \
        local.inner.score_continuations(messages, ["yes", "no"])
    assert not hasattr(local, "no_such_method")


def test_unknown_weights_are_refused_while_the_cache_is_on(tmp_path: Path) -> None:
    with pytest.raises(SynthbenchError, match="SYNTHBENCH_REQUEST_CACHE=off") as err:
        CachedProvider(MockProvider(), None, cache=CacheSettings(tmp_path / "c"))
    assert "\n" not in str(err.value)
    off = CachedProvider(MockProvider(), None, cache=CacheSettings(enabled=False))
    assert len(off.complete(REQUESTS)) == 5
    (tmp_path / "file").write_text("not a folder")
    unwritable = CachedProvider(MockProvider(), "mock-weights",
                                cache=CacheSettings(tmp_path / "file" / "c.db"))
    with pytest.raises(SynthbenchError, match="cannot open the request cache") as err:
        unwritable.complete(REQUESTS)
    assert "\n" not in str(err.value)


class Crashing:
    """A provider that dies in its call number ``crash_on`` (as a killed run would), or whose
    answers all failed (``failed=True``)."""

    def __init__(self, crash_on: int | None = None, failed: bool = False) -> None:
        self.inner = MockProvider()
        self.crash_on = crash_on
        self.failed = failed
        self.calls = 0

    model_id = "mock/crashing"
    capabilities = frozenset({"seed"})

    def describe(self) -> dict[str, object]:
        return {"model": self.model_id}

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        self.calls += 1
        if self.failed:
            return [Completion("", self.model_id, Usage(), "error: timeout: no answer")
                    for _ in requests]
        if self.calls == self.crash_on:
            raise KeyboardInterrupt
        return self.inner.complete(requests)


def test_answers_are_kept_per_call_and_failures_are_never_cached(tmp_path: Path) -> None:
    settings = CacheSettings(tmp_path / "cache.sqlite")
    crashing = CachedProvider(Crashing(crash_on=2), "mock-weights", cache=settings)
    first = crashing.complete(REQUESTS[:2])
    with pytest.raises(KeyboardInterrupt):
        crashing.complete(REQUESTS[2:])
    again = Crashing()
    resumed = CachedProvider(again, "mock-weights", cache=settings)
    assert resumed.complete(REQUESTS) == [*first, *MockProvider().complete(REQUESTS[2:])]
    assert again.inner.requests == REQUESTS[2:]  # the first call's answers were kept

    failing = CachedProvider(Crashing(failed=True), "mock-weights",
                             cache=CacheSettings(tmp_path / "failed.sqlite"))
    assert all(c.failed for c in failing.complete(REQUESTS[:2]))
    assert failing.cached(REQUESTS[:2]) == [None, None]
    assert failing.request_stats()["calls"]["gave_up"] == 2


def command(shared_data: Path, out: Path) -> list[str]:
    return [SYNTHBENCH, "run", "--model", "local", "--task", "relation_classification",
            "--n", str(N_TEXTS), "-G", "max_tokens=8", "--classifier", "tfidf_lr",
            "--oracle-size", "100", "--data-dir", str(shared_data), "--out", str(out),
            "--no-progress"]


def one_core() -> None:
    """Pin a subprocess to one core: the same texts, at a tenth of the CPU time that two
    threads of the model burn spin-waiting when the machine is busy."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(str(path), timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def generation(out: Path) -> tuple[str, dict[str, object]]:
    [cell] = list((out / "cells").iterdir())
    result = json.loads((cell / "result.json").read_text())
    return (cell / "synthetic.jsonl").read_text(), result


def test_kill_9_of_a_local_run_then_the_same_command_resumes(
        shared_data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "requests.sqlite"
    env = {**os.environ, "SYNTHBENCH_REQUEST_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "resumed"
    process = subprocess.Popen(command(shared_data, out), env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, preexec_fn=one_core)
    deadline = time.monotonic() + 600
    while cached_rows(cache) < REQUESTS_PER_CALL:
        assert process.poll() is None, f"the run ended before the kill: {process.stderr}"
        assert time.monotonic() < deadline, "the first chunk never reached the cache"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    at_kill = cached_rows(cache)
    assert at_kill >= REQUESTS_PER_CALL
    assert not (out / "cells").exists() or not any((out / "cells").rglob("generation.json"))
    dry = subprocess.run([*command(shared_data, out), "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=600, preexec_fn=one_core)
    assert dry.returncode == 0, dry.stderr[-2000:]
    total = next(line for line in dry.stdout.splitlines() if line.startswith("total"))
    requests, from_cache = map(int, total.split()[1:3])
    assert from_cache == at_kill and requests >= N_TEXTS  # the dry run counts the stored answers

    resumed = subprocess.run(command(shared_data, out), env=env, capture_output=True,
                             text=True, timeout=600, preexec_fn=one_core)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    reference = subprocess.run(command(shared_data, tmp_path / "reference"),
                               env={**env, "SYNTHBENCH_REQUEST_CACHE": "off"},
                               capture_output=True, text=True, timeout=600,
                               preexec_fn=one_core)
    assert reference.returncode == 0, reference.stderr[-2000:]

    texts, result = generation(out)
    ref_texts, ref_result = generation(tmp_path / "reference")
    assert texts == ref_texts
    for part in ("classifiers", "metrics", "n_synthetic", "cost"):
        assert result[part] == ref_result[part], part
    gen, ref_gen = result["generation"], ref_result["generation"]
    assert isinstance(gen, dict) and isinstance(ref_gen, dict)
    assert gen["counts"] == ref_gen["counts"] and gen["usage"] == ref_gen["usage"]
    sent = gen["counts"]["requests_sent"]
    calls = gen["requests"]["calls"]
    assert ref_gen["requests"]["calls"] == {"requests": sent, "provider_calls": sent}
    # The resumed run took every answer the killed one stored, and sent the model only the
    # rest: at most the chunk that was in flight at the kill plus chunks never started.
    assert calls["cache_hits"] == at_kill
    assert calls.get("provider_calls", 0) == sent - at_kill <= REQUESTS_PER_CALL
    assert calls["requests"] == sent
