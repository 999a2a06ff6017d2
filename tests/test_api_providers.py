"""The API providers and the request layer, through the real openai / anthropic / litellm
clients against the loopback fake server in ``fake_llm_server.py``.

Every test binds 127.0.0.1 only, sends a bounded number of requests and bounds its time
through short layer timeouts and short server hangs.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from synthbench.calls import (
    BudgetReached,
    CacheSettings,
    CallContext,
    LayeredProvider,
    Limits,
    SendSettings,
    TokenBucket,
    cache_key,
    classify_status,
)
from synthbench.calls.cache import ResponseCache
from synthbench.errors import SynthbenchError
from synthbench.generation import parse_text
from synthbench.plugins import load_plugins
from synthbench.types import Capability, GenerationContext, GenerationRequest, Message

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, Faults, ServerConfig

CANARY = "sk-canary-" + "7f3a9c2e5b1d4f60a8e2c9b7d3f1a6e4"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
          ) -> Iterator[Callable[..., FakeLLMServer]]:
    """Start a fake server (stopped after the test) and point both SDKs at it, with the
    canary as the key."""
    servers: list[FakeLLMServer] = []

    def start(**config: object) -> FakeLLMServer:
        server = FakeLLMServer(ServerConfig(**config)).__enter__()  # type: ignore[arg-type]
        servers.append(server)
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("OPENAI_API_BASE", server.openai_url)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_url)
        monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
        return server

    yield start
    for server in servers:
        server.stop()


def fast(tmp_path: Path, limits: Limits | None = None,
         notify: Callable[[str], None] = lambda line: None, **changes: object) -> CallContext:
    """A call context with a cache in ``tmp_path`` and short timeouts and backoffs."""
    send = dict(concurrency=8, max_retries=3, backoff_base_s=0.02, backoff_cap_s=0.2,
                timeout_base_s=2.0, timeout_per_token_s=0.0)
    send.update(changes)
    return CallContext(cache=CacheSettings(tmp_path / "requests.sqlite"),
                       send=SendSettings(**send),  # type: ignore[arg-type]
                       limits=limits or Limits(), notify=notify)


def build(provider: str, model: str, calls: CallContext) -> LayeredProvider:
    """A provider through its plugin's factory, with the given call context."""
    from synthbench_api import anthropic_provider, litellm_provider, openai_provider

    factory = {"openai": openai_provider, "anthropic": anthropic_provider,
               "litellm": litellm_provider}[provider]
    return factory(model, calls)


def unique(name: str = "m") -> str:
    """A model name no other test shares (rate-limit buckets are per provider and model)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def ask(i: int, temperature: float = 1.0, text: str = "a short movie review") -> \
        GenerationRequest:
    return GenerationRequest((Message("system", "You write data."),
                              Message("user", f"Write {text} about cats.")),
                             max_tokens=40, temperature=temperature, seed=7, sample_index=i)


def test_openai_through_the_sdk_records_served_model_usage_and_seed(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    model = unique("gpt-4o-mini")
    provider = build("openai", model, fast(tmp_path))
    request = GenerationRequest((Message("user", "Write a short review."),), max_tokens=30,
                                seed=3, sample_index=1, logit_bias=((1234, -100.0),))
    [completion] = provider.complete([request])
    assert parse_text(completion.text)[0] is not None
    assert completion.model == f"{model}-2026-01-01"
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
    assert completion.usage.cached_input_tokens == completion.usage.input_tokens // 4
    [sent] = server.log
    assert sent.path == "/v1/chat/completions"
    assert sent.body["logit_bias"] == {"1234": -100.0}
    assert sent.body["max_completion_tokens"] == 30 and isinstance(sent.body["seed"], int)
    stats = provider.request_stats()
    assert stats["served"] == {f"{model}-2026-01-01 fp_fake01": 1}
    assert {Capability.SEED, Capability.LOGIT_BIAS} <= provider.capabilities
    assert provider.describe()["price_per_million_tokens"]["input"] == 0.15
    provider.close()


def test_anthropic_through_the_sdk_sends_system_apart(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    model = unique("claude-3-5-haiku")
    provider = build("anthropic", model, fast(tmp_path))
    [completion] = provider.complete([ask(0, temperature=0.7)])
    assert parse_text(completion.text)[0] is not None
    assert completion.model == f"{model}-2026-01-01"
    assert completion.usage.cached_input_tokens > 0
    [sent] = server.log
    assert sent.path == "/v1/messages" and sent.body["system"] == "You write data."
    assert [m["role"] for m in sent.body["messages"]] == ["user"]
    assert sent.body["temperature"] == 0.7
    assert Capability.LOGIT_BIAS not in provider.capabilities
    assert Capability.SEED not in provider.capabilities
    provider.close()


def test_litellm_reaches_the_named_model_without_fallbacks(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(faults=Faults(server_error=0.3))
    model = unique("gpt-4o-mini")
    provider = build("litellm", f"openai/{model}", fast(tmp_path))
    completions = provider.complete([ask(i, text=f"review number {i}") for i in range(6)])
    assert all(parse_text(c.text)[0] for c in completions)
    assert {entry.model for entry in server.log} == {model}
    assert provider.describe()["fallbacks"] == "none"
    attempts = collections.Counter(entry.fingerprint for entry in server.log)
    assert max(attempts.values()) <= 4  # litellm's own retries are off: ours only
    provider.close()


def test_n_samples_are_n_cache_entries_and_a_rerun_calls_nothing(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    settings = fast(tmp_path)
    model = unique()
    first = build("openai", model, settings)
    texts = [c.text for c in first.complete([ask(i) for i in range(8)])]
    assert len(server.log) == 8
    assert len(set(texts)) == 8, "samples at T > 0 collapsed into one"
    first.close()
    again = build("openai", model, settings)
    assert [c.text for c in again.complete([ask(i) for i in range(8)])] == texts
    assert len(server.log) == 8
    assert again.request_stats()["calls"]["cache_hits"] == 8
    again.close()


def test_cache_key_covers_what_decides_the_answer_and_nothing_else() -> None:
    base = ask(0)
    key = cache_key("openai", "m", base)
    assert key == cache_key("openai", "m", ask(0))
    assert key != cache_key("openai", "m", ask(1))
    assert key != cache_key("openai", "m", ask(0, temperature=0.5))
    assert key != cache_key("openai", "other", base)
    assert key != cache_key("anthropic", "m", base)
    # SendSettings (concurrency, timeouts, retries) never reach the key: it has no input.
    assert "concurrency" not in cache_key.__code__.co_varnames


def test_cache_is_safe_with_concurrent_writers(tmp_path: Path) -> None:
    import threading

    from synthbench.calls.backend import Reply
    from synthbench.types import Completion, Usage

    path = tmp_path / "shared.sqlite"

    def write(worker: int) -> None:
        cache = ResponseCache(path)
        for i in range(50):
            cache.put(f"{worker}:{i}", Reply(Completion(f"text {worker} {i}", "m",
                                                        Usage(1, 2, 0))))
        cache.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    cache = ResponseCache(path)
    assert len(cache) == 200
    hit = cache.get("3:49")
    assert hit is not None and hit.completion.text == "text 3 49"
    cache.close()


def test_fault_mix_every_text_is_kept_or_counted_and_retries_are_bounded(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(faults=Faults(rate_limit_with_retry_after=0.10,
                                 rate_limit_without_retry_after=0.10, server_error=0.10,
                                 garbage=0.05, hang=0.02, retry_after_s=0.05),
                   hang_s=2.0)
    settings = fast(tmp_path, timeout_base_s=0.6, max_retries=3)
    provider = build("openai", unique(), settings)
    plugins = load_plugins()
    task = plugins.tasks.get("sst2")
    generator = plugins.generators.get("zero_shot").factory(retry_budget=0.0)
    per_label = {name: 30 for name in task.label_names}
    started = time.monotonic()
    outcome = generator.generate(GenerationContext(task=task, provider=provider, train=(),
                                                   per_label=per_label, seed=0))
    assert time.monotonic() - started < 60
    counts = outcome.counts
    assert counts.requested == counts.requests_sent == 60
    assert counts.kept + counts.failed + counts.parse_failures + counts.refusals \
        + counts.empty == 60
    requests = [e.meta["request"] for e in outcome.examples]
    assert len(requests) == len(set(requests)), "an example was duplicated"
    attempts = collections.Counter(entry.fingerprint for entry in server.log)
    assert len(attempts) == 60
    assert settings.send is not None
    assert max(attempts.values()) <= 1 + settings.send.max_retries
    outcomes = server.outcomes()
    for fault in ("429_retry_after", "429_no_header", "5xx", "garbage"):
        assert outcomes.get(fault, 0) > 0, f"the mix never injected {fault}: {outcomes}"
    calls = provider.request_stats()["calls"]
    assert calls["provider_calls"] == len(server.log)
    assert calls.get("gave_up", 0) == counts.failed
    assert calls["failed_garbage"] == outcomes["garbage"]
    provider.close()


def test_a_hung_request_is_cancelled_and_retried_then_counted(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(faults=Faults(hang=1.0), hang_s=5.0)
    provider = build("openai", unique(), fast(tmp_path, timeout_base_s=0.3, max_retries=1))
    started = time.monotonic()
    [completion] = provider.complete([ask(0)])
    assert time.monotonic() - started < 3
    assert completion.failed and "timeout" in completion.finish_reason
    assert len(server.log) == 2
    provider.close()


def test_retry_after_is_honoured(serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(faults=Faults(rate_limit_with_retry_after=1.0, retry_after_s=0.4))
    provider = build("openai", unique(), fast(tmp_path, max_retries=2))
    [completion] = provider.complete([ask(0)])
    assert completion.failed and "rate_limited" in completion.finish_reason
    times = [entry.at for entry in server.log]
    assert len(times) == 3
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.4
    provider.close()


@pytest.mark.parametrize("provider_id", ["openai", "anthropic"])
def test_wrong_key_fails_fast_in_one_line_without_the_key(
        serve: Callable[..., FakeLLMServer], tmp_path: Path, provider_id: str) -> None:
    server = serve(api_key="sk-the-right-key-0000")
    provider = build(provider_id, unique(), fast(tmp_path, concurrency=2))
    with pytest.raises(SynthbenchError) as caught:
        provider.complete([ask(i) for i in range(10)])
    message = str(caught.value)
    assert "401" in message and "\n" not in message
    assert CANARY not in message and CANARY[-12:] not in message
    assert CANARY[-4:] not in message, "the masked key's tail was echoed"
    assert len(server.log) <= 2, "a 401 was retried or sent on"
    provider.close()
    assert CANARY.encode() not in (tmp_path / "requests.sqlite").read_bytes()


def test_spend_cap_429_stops_at_once(serve: Callable[..., FakeLLMServer],
                                     tmp_path: Path) -> None:
    server = serve(spend_cap=True)
    provider = build("openai", unique(), fast(tmp_path, concurrency=1))
    with pytest.raises(SynthbenchError, match="spend cap or quota"):
        provider.complete([ask(i) for i in range(5)])
    assert len(server.log) == 1
    provider.close()


def worst_case(tmp_path: Path, model: str) -> float:
    """The most one ``ask`` can cost on ``model``."""
    probe = build("openai", model, fast(tmp_path))
    worst = probe.layer.worst_case_usd(ask(0))
    probe.close()
    assert worst is not None
    return worst


def test_max_cost_stops_before_crossing_and_keeps_what_is_done(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    model = unique("gpt-4o")  # $2.50 / $10 per million tokens
    limits = Limits(worst_case(tmp_path, model) * 3.5)
    settings = fast(tmp_path, limits, concurrency=1)
    provider = build("openai", model, settings)
    with pytest.raises(BudgetReached) as caught:
        provider.complete([ask(i) for i in range(10)])
    budget = limits.budget
    assert budget is not None and budget.spent <= budget.max_usd
    assert "everything finished is kept" in str(caught.value)
    sent = len(server.log)
    assert 3 <= sent < 10
    provider.close()
    again = build("openai", model, fast(tmp_path, concurrency=1))
    again.complete([ask(i) for i in range(sent)])
    assert len(server.log) == sent, "finished answers were not kept"
    again.close()


def test_a_call_that_fails_every_attempt_counts_at_its_worst_case(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(faults=Faults(server_error=1.0))
    model = unique("gpt-4o")
    worst = worst_case(tmp_path, model)
    limits = Limits(worst * 2.5)
    provider = build("openai", model, fast(tmp_path, limits, concurrency=1, max_retries=1))
    with pytest.raises(BudgetReached):
        provider.complete([ask(i) for i in range(5)])
    assert len(server.log) == 2 * 2, "two requests of two attempts each fit the budget"
    assert limits.budget is not None
    assert limits.budget.spent == pytest.approx(2 * worst)
    provider.close()


def test_token_bucket_spaces_sends_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rpm=600, tpm=None, clock=lambda: now[0])
    waits = [bucket.reserve(10) for _ in range(25)]
    assert waits[:5] == [0.0] * 5  # the half-second burst
    assert waits[-1] == pytest.approx((25 - 5) / 10)
    bucket.throttled(retry_after=2.0)
    assert bucket.rate["requests"] == pytest.approx(540)
    assert bucket.reserve(1) >= 2.0


def test_rate_limit_headers_tighten_the_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rpm=None, tpm=None, clock=lambda: now[0])
    bucket.observe({"x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "1.5s"})
    assert bucket.ceiling["requests"] == 120
    assert bucket.reserve(1) >= 1.5
    bucket.observe({"anthropic-ratelimit-tokens-limit": "40000"})
    assert bucket.ceiling["tokens"] == 40000


def test_status_classification() -> None:
    assert classify_status(429, "{}", {"retry-after": "3"}).retry_after == 3
    assert classify_status(429, '{"code": "insufficient_quota"}', {}).kind == "spend_cap"
    for status in (400, 401, 403, 404, 422):
        assert classify_status(status, "{}", {}).kind == "fatal"
    for status in (500, 502, 503, 529):
        assert classify_status(status, "{}", {}).retryable


def test_missing_key_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = build("openai", unique(), fast(tmp_path))
    with pytest.raises(SynthbenchError, match="set OPENAI_API_KEY"):
        provider.complete([ask(0)])
    provider.close()


def test_missing_sdk_gives_a_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench_api import anthropic_provider

    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(SynthbenchError, match="pip install 'anthropic=="):
        anthropic_provider("claude-3-5-haiku-latest", CallContext.from_environ(os.environ))


def test_tokenize_offline_from_a_bundled_encoding(tmp_path: Path) -> None:
    provider = build("openai", "gpt-4o-mini", fast(tmp_path))
    assert Capability.TOKENIZE in provider.capabilities
    ids = provider.tokenize("hello world")  # type: ignore[attr-defined]
    assert ids and all(isinstance(i, int) for i in ids)
    unknown = build("openai", unique("not-a-tiktoken-model"), fast(tmp_path))
    assert Capability.TOKENIZE not in unknown.capabilities
    with pytest.raises(SynthbenchError, match="no offline encoding"):
        unknown.tokenize("hello")  # type: ignore[attr-defined]


@pytest.mark.parametrize("provider_id", ["openai", "anthropic"])
def test_batch_mode_goes_through_the_batch_api_once(
        serve: Callable[..., FakeLLMServer], tmp_path: Path, provider_id: str) -> None:
    server = serve(batch_delay_s=0.3)
    lines: list[str] = []
    settings = fast(tmp_path, notify=lines.append, mode="batch", batch_poll_s=0.05)
    provider = build(provider_id, unique(), settings)
    completions = provider.complete([ask(i, temperature=0.9) for i in range(6)])
    assert all(parse_text(c.text)[0] for c in completions)
    assert len({c.text for c in completions}) == 6
    assert server.batch_creations() == 1
    assert not [e for e in server.log if e.path in ("/v1/chat/completions", "/v1/messages")]
    assert sum(e.outcome == "batch_item" for e in server.log) == 6
    assert any("waiting for provider" in line for line in lines)
    assert Capability.BATCH_API in provider.capabilities
    assert provider.describe()["request_mode"] == "batch"
    before = len(server.log)
    assert provider.complete([ask(i, temperature=0.9) for i in range(6)]) == completions
    assert len(server.log) == before
    provider.close()


def test_a_rerun_polls_the_stored_batch_instead_of_resubmitting(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve(batch_delay_s=0.2, failing_polls=1)
    settings = fast(tmp_path, mode="batch", batch_poll_s=0.05, max_retries=0)
    model = unique()
    first = build("openai", model, settings)
    with pytest.raises(SynthbenchError, match="run again to poll it again"):
        first.complete([ask(i) for i in range(4)])
    first.close()
    again = build("openai", model, settings)
    completions = again.complete([ask(i) for i in range(4)])
    assert all(parse_text(c.text)[0] for c in completions)
    assert server.batch_creations() == 1, "the batch was submitted twice"
    assert again.request_stats()["calls"]["batches_resumed"] == 1
    again.close()


def test_prices_match_families_and_batch_halves_them() -> None:
    from synthbench.types import Usage
    from synthbench_api.prices import price_for

    mini = price_for("openai/gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.input == 0.15
    assert price_for("openai/gpt-4o-2024-08-06") == price_for("openai/gpt-4o")
    assert price_for("openai/unknown-model") is None
    usage = Usage(1_000_000, 1_000_000, 400_000)
    assert mini.cost(usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.60)
    assert mini.cost(usage, batch=True) == pytest.approx(mini.cost(usage) / 2)
    stated = price_for("litellm/x", {"input": 1, "output": 2})
    assert stated is not None and stated.output == 2


def test_logit_suppression_sends_openai_token_ids_and_anthropic_refuses(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    plugins = load_plugins()
    task = plugins.tasks.get("sst2")
    spec = plugins.generators.get("logit_suppression")
    per_label = {name: 4 for name in task.label_names}
    openai = build("openai", "gpt-4o-mini", fast(tmp_path))
    outcome = spec.factory(batch=4, top_tokens=5).generate(GenerationContext(
        task=task, provider=openai, train=(), per_label=per_label, seed=0))
    assert outcome.counts.kept == 8
    biases = [entry.body.get("logit_bias") for entry in server.log]
    assert biases[:4] == [None] * 4  # nothing counted before the first batch
    later = biases[4]
    assert isinstance(later, dict) and len(later) == 5
    assert all(key.isdigit() and value < 0 for key, value in later.items())
    openai.close()
    anthropic = build("anthropic", unique(), fast(tmp_path))
    with pytest.raises(SynthbenchError) as caught:
        spec.factory().generate(GenerationContext(task=task, provider=anthropic, train=(),
                                                  per_label=per_label, seed=0))
    assert "logit_bias" in str(caught.value) and "\n" not in str(caught.value)
    anthropic.close()


def test_anthropic_refuses_a_temperature_above_one_instead_of_clipping_it(
        serve: Callable[..., FakeLLMServer], tmp_path: Path) -> None:
    server = serve()
    provider = build("anthropic", unique(), fast(tmp_path))
    with pytest.raises(SynthbenchError, match=r"temperature from 0 to 1, got 1\.3"):
        provider.complete([ask(0, temperature=1.3)])
    assert server.log == []
    provider.close()


@pytest.mark.parametrize("provider_id", ["openai", "anthropic"])
def test_a_key_echoed_in_a_successful_reply_reaches_no_text_cache_or_count(
        serve: Callable[..., FakeLLMServer], tmp_path: Path, provider_id: str) -> None:
    serve(echo_key=True)
    provider = build(provider_id, unique(), fast(tmp_path))
    completions = provider.complete([ask(i) for i in range(3)])
    assert all("[redacted]" in c.text for c in completions), "the server did not echo the key"
    for piece in (CANARY, CANARY[-4:], CANARY[:7], f"{CANARY[:3]}...{CANARY[-4:]}"):
        assert all(piece not in c.text and piece not in c.model for c in completions), piece
        assert piece not in json.dumps(provider.request_stats())
    provider.close()
    stored = (tmp_path / "requests.sqlite").read_bytes()
    assert CANARY.encode() not in stored and CANARY[-4:].encode() not in stored


@pytest.mark.parametrize("provider_id", ["openai", "anthropic"])
def test_a_400_echoing_the_key_tail_is_one_line_without_it(
        serve: Callable[..., FakeLLMServer], tmp_path: Path, provider_id: str) -> None:
    serve(echo_key_400=True)
    provider = build(provider_id, unique(), fast(tmp_path))
    with pytest.raises(SynthbenchError) as caught:
        provider.complete([ask(0)])
    message = str(caught.value)
    assert "400" in message and "\n" not in message and "[redacted]" in message
    assert CANARY[-6:] not in message and CANARY[-4:] not in message
    assert CANARY[:6] not in message
    provider.close()
