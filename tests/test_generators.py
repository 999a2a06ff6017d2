"""The generators of Li et al. and Chung et al. beyond zero/few-shot, on the real local model
(tiny n, short completions) and on the deterministic mock where only the flow is checked."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from synthbench import Capability, Completion, GenerationContext, GenerationRequest, SynthbenchError
from synthbench.calls import CallContext
from synthbench.cli import main
from synthbench.data import TaskData, balanced_quota, load_task_data
from synthbench.models import resolve_model
from synthbench.plugins import load_plugins
from synthbench.run.grid import generator_grid
from synthbench.testing import MockProvider, RecordingProvider
from synthbench.types import Message, Provider, Task
from synthbench_generators.attributed import Attributed, read_values
from synthbench_generators.diversity import MORE_DIVERSE, DiversityPrompt
from synthbench_generators.seeding import ExampleSeeding, split_items
from synthbench_generators.suppression import LogitSuppression, suppression_bias

TOKENS = 16  # completion length on the real model: enough for a sentence, cheap on CPU


@pytest.fixture(scope="module")
def sst2(shared_data: Path) -> tuple[Task, TaskData]:
    task = load_plugins().tasks.get("sst2")
    return task, load_task_data(task, shared_data)


@pytest.fixture(scope="module")
def local() -> Provider:
    """The embedded SmolLM2-135M through the plugin registry, as ``--model local`` builds it."""
    return resolve_model(load_plugins(), "local", CallContext.from_environ(os.environ))


class WordBiasMock(MockProvider):
    """The mock plus logit bias and a word-level tokenizer, to check the suppression flow."""

    def __init__(self) -> None:
        super().__init__("bias")
        self.vocab: dict[str, int] = {}
        self.answers: list[str] = []

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        completions = super().complete(requests)
        self.answers += [c.text for c in completions]
        return completions

    @property
    def capabilities(self) -> frozenset[str]:
        return super().capabilities | {Capability.LOGIT_BIAS, Capability.TOKENIZE}

    def tokenize(self, text: str) -> list[int]:
        return [self.vocab.setdefault(w, len(self.vocab)) for w in text.split()]


def ctx_for(task: Task, data: TaskData, provider: Provider, n: int, seed: int = 0
            ) -> GenerationContext:
    return GenerationContext(task, provider, data.train, balanced_quota(task.label_names, n),
                             seed)


def share_of(provider: Provider, texts: Sequence[str], tokens: set[int]) -> float:
    ids = [i for text in texts for i in provider.tokenize(text)]  # type: ignore[attr-defined]
    return sum(i in tokens for i in ids) / len(ids)


# --- logit suppression ---------------------------------------------------------------------

def test_suppression_bias_follows_chung() -> None:
    counts = Counter({7: 1, 3: 2, 9: 397})  # shares 0.25 %, 0.5 %, 99.25 %
    assert suppression_bias(counts) == ((9, -7.5), (3, -3.75), (7, -1.875))
    assert suppression_bias(counts, top_tokens=2) == ((9, -7.5), (3, -3.75))
    assert suppression_bias(counts, strength=1.0) == ((9, -1.0), (3, -0.5), (7, -0.25))
    assert suppression_bias(Counter()) == ()
    many = Counter({i: 1 for i in range(300)})
    assert len(suppression_bias(many)) == 100


def test_logit_suppression_refuses_a_provider_without_logit_bias(sst2: Any) -> None:
    task, data = sst2
    provider = MockProvider()
    with pytest.raises(SynthbenchError) as err:
        LogitSuppression().generate(ctx_for(task, data, provider, 4))
    message = str(err.value)
    assert "\n" not in message
    assert "logit_suppression" in message and "mock/echo" in message
    assert "lacks logit_bias, tokenize" in message
    assert provider.requests == [], "refused before any request"


def test_logit_suppression_updates_the_bias_after_each_batch(sst2: Any) -> None:
    task, data = sst2
    provider = WordBiasMock()
    outcome = LogitSuppression(batch=4, top_tokens=5).generate(
        ctx_for(task, data, provider, 12))
    assert outcome.counts.kept == 12
    batches = [provider.requests[i:i + 4] for i in range(0, 12, 4)]
    assert all(r.logit_bias == () for r in batches[0])
    for number, batch in enumerate(batches[1:], 1):
        assert len({r.logit_bias for r in batch}) == 1, "one bias per batch"
        seen: Counter[int] = Counter()
        for answer in provider.answers[:4 * number]:
            seen.update(provider.tokenize(answer))
        assert batch[0].logit_bias == suppression_bias(seen, 5)
        assert all(-7.5 <= value < 0 for _, value in batch[0].logit_bias)
    meta = outcome.meta["logit_suppression"]
    assert meta["updates"] == 3 and len(meta["final_bias"]) == 5


def test_local_logit_bias_is_per_request_in_a_batch(local: Provider) -> None:
    """On the model itself (behind no request cache, which would answer the repeated request
    without generating): a biased and an unbiased request share one batch."""
    model = getattr(local, "inner", local)  # the TransformersProvider behind the cache
    ask = GenerationRequest((Message("user", "Write a short positive movie review."),),
                            max_tokens=16, temperature=0.0)
    (alone,) = model.complete([ask])
    banned = set(model.tokenize(alone.text))
    biased = GenerationRequest(ask.messages, 16, 0.0,
                               logit_bias=tuple((i, -100.0) for i in sorted(banned)))
    with_bias, without = model.complete([biased, ask])
    assert without.text == alone.text, "a neighbour's bias must not leak into a request"
    assert with_bias.text.strip() and with_bias.text != alone.text
    assert not set(model.tokenize(with_bias.text)) & banned
    (through_cache,) = local.complete([biased])  # the cache keys the bias too
    assert through_cache.text == with_bias.text
    with pytest.raises(SynthbenchError, match="vocabulary"):
        local.complete([GenerationRequest(ask.messages, 4, logit_bias=((10**7, -1.0),))])


def test_logit_suppression_lowers_the_share_of_suppressed_tokens(sst2: Any,
                                                                 local: Provider) -> None:
    """The first batch goes out without bias; the second carries the bias computed from the
    first. Sent again without it (same prompts, same seeds), the suppressed tokens are far
    more frequent than with it."""
    task, data = sst2
    spy = RecordingProvider(local)
    outcome = LogitSuppression(batch=4, max_tokens=TOKENS).generate(ctx_for(task, data, spy, 8))
    assert outcome.counts.requests_sent >= 8 and outcome.counts.kept >= 6
    assert all(r.logit_bias == () for r in spy.requests[:4])
    second = spy.requests[4:8]
    first_tokens = Counter(i for answer in spy.answers[:4] for i in spy.tokenize(answer))
    bias = suppression_bias(first_tokens)
    assert all(r.logit_bias == bias for r in second) and bias
    assert len(bias) == min(100, len(first_tokens))
    unbiased = local.complete([dataclasses.replace(r, logit_bias=()) for r in second])
    suppressed = {token for token, _ in bias}
    with_bias = share_of(local, spy.answers[4:8], suppressed)
    without = share_of(local, [c.text for c in unbiased], suppressed)
    assert with_bias < 0.5 * without, (with_bias, without)


# --- diversity prompt ----------------------------------------------------------------------

def assert_growing_conversations(requests: Sequence[GenerationRequest], outcome: Any,
                                 every: int) -> None:
    """Each request carries the whole conversation of its label so far: the first prompt,
    then every kept text of that conversation as an assistant turn, in order."""
    texts: dict[str, list[str]] = {}
    for example in outcome.examples:
        texts.setdefault(example.label, []).append(example.text)
    assert outcome.counts.requests_sent == len(requests)
    first_prompts = {r.messages[0].content for r in requests}
    assert len(first_prompts) == 2  # one conversation per label
    for label, kept in texts.items():
        mine = [r for r in requests if f"is {label}." in r.messages[0].content]
        lengths = [len(r.messages) for r in mine]
        assert lengths == sorted(lengths) and lengths[-1] >= 2 * (len(kept) - 1) + 1
        for request in mine:
            replies = [m.content for m in request.messages if m.role == "assistant"]
            assert replies == kept[:len(replies)]
            assert [m.role for m in request.messages] == ["user", "assistant"] * len(
                replies) + ["user"]
            for turn, message in enumerate(request.messages[2::2], 1):
                assert (message.content == MORE_DIVERSE) == (turn % every == 0)


def test_diversity_prompt_sends_the_growing_conversation_to_the_real_model(
        sst2: Any, local: Provider) -> None:
    task, data = sst2
    spy = RecordingProvider(local)
    outcome = DiversityPrompt(max_tokens=TOKENS).generate(ctx_for(task, data, spy, 6))
    assert outcome.counts.kept >= 4
    assert outcome.counts.kept + outcome.counts.shortfall == 6
    assert_growing_conversations(spy.requests, outcome, every=1)
    last = spy.requests[-1].messages
    assert last[-1].content == MORE_DIVERSE and len(last) >= 3
    assert outcome.meta["diversity_prompt"]["rounds"] >= 3


def test_diversity_prompt_every_history_and_counts(sst2: Any) -> None:
    task, data = sst2
    provider = MockProvider()
    outcome = DiversityPrompt(every=2).generate(ctx_for(task, data, provider, 10))
    assert outcome.counts.kept == 10 and outcome.counts.requests_sent == 10
    assert_growing_conversations(provider.requests, outcome, every=2)
    assert [e.meta["diversity_turn"] for e in outcome.examples if e.label == "positive"] == [
        False, False, True, False, True]

    capped = MockProvider()
    DiversityPrompt(history=1).generate(ctx_for(task, data, capped, 10))
    assert max(len(r.messages) for r in capped.requests) == 5  # first exchange + 1 + ask

    script = ["a fine film indeed", "I'm sorry, but I can't help with that."]
    scripted = MockProvider(script=script)
    failing = DiversityPrompt(retry_budget=0.5).generate(ctx_for(task, data, scripted, 4))
    counts = failing.counts
    assert counts.refusals >= 1
    assert counts.requests_sent == counts.kept + counts.refusals
    assert counts.kept + counts.shortfall == 4
    for request in scripted.requests:
        assert "I'm sorry" not in " ".join(m.content for m in request.messages)


def test_diversity_prompt_refuses_a_single_turn_provider(sst2: Any) -> None:
    class SingleTurn(MockProvider):
        @property
        def capabilities(self) -> frozenset[str]:
            return frozenset({"seed"})

    task, data = sst2
    provider = SingleTurn()
    with pytest.raises(SynthbenchError, match=r"diversity_prompt .* lacks multi_turn"):
        DiversityPrompt().generate(ctx_for(task, data, provider, 4))
    assert provider.requests == []
    with pytest.raises(SynthbenchError, match="every >= 1"):
        DiversityPrompt(every=0)


def test_new_generators_are_registered() -> None:
    ids = set(load_plugins().generators.ids())
    assert {"diversity_prompt", "logit_suppression"} <= ids


# --- temperature sweep through the CLI -----------------------------------------------------

def test_a_temperature_sweep_is_one_grid_with_a_leaderboard_row_per_value(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the CLI and the runner: one cell per temperature for each generator, one
    leaderboard row per temperature, and a generator's meta stored in generation.json."""
    out, board_dir = tmp_path / "results", tmp_path / "board"
    code = main(["run", "--model", "mock/a", "--task", "trec", "--n", "12", "--out", str(out),
                 "--data-dir", str(shared_data), "--classifier", "tfidf_lr",  # as test_cli:
                 "--oracle-size", "1000", "--no-progress",  # reuses its cached embeddings
                 "--generator", "zero_shot,attributed",
                 "-G", "temperature=0.3,0.7,0.9,1.3", "-G", "max_tokens=40"])
    stdout = capsys.readouterr().out
    assert code == 0
    records = [json.loads(p.read_text()) for p in sorted((out / "cells").glob("*/result.json"))]
    for generator in ("zero_shot", "attributed"):
        mine = [r for r in records if r["config"]["generator"] == generator]
        assert sorted(r["config"]["generator_params"]["temperature"] for r in mine) == [
            0.3, 0.7, 0.9, 1.3]
        assert {r["generation"]["generator"]["params"]["temperature"] for r in mine} == {
            0.3, 0.7, 0.9, 1.3}
    assert {r["config"]["generator_params"]["max_tokens"] for r in records} == {40}
    assert "zero_shot[temperature=1.3]" in stdout
    assert main(["leaderboard", "--results", str(out), "--out", str(board_dir)]) == 0
    board = json.loads((board_dir / "leaderboard.json").read_text())
    assert sorted(r["generator"] for r in board["rows"]) == sorted(
        f"{g}[temperature={t}]" for g in ("zero_shot", "attributed") for t in (0.3, 0.7, 0.9, 1.3))
    stored = [json.loads((p.parent / "generation.json").read_text())
              for p in sorted((out / "cells").glob("*/result.json"))]
    metas = [g["generator_meta"]["attributed"] for g in stored if "generator_meta" in g]
    assert len(metas) == 4 and all(m["source"] == "llm" and "length" in m["attributes"]
                                   for m in metas)
    assert all("generator_meta" not in g for g in stored
               if g["generator"]["id"] == "zero_shot")


def test_sweep_values_and_quoted_commas() -> None:
    assert generator_grid(["temperature=0.3,0.7", "k=1,2"]) == [
        {"temperature": 0.3, "k": 1}, {"temperature": 0.3, "k": 2},
        {"temperature": 0.7, "k": 1}, {"temperature": 0.7, "k": 2}]
    assert generator_grid(['style="short, punchy"', "temperature=0.7,0.7"]) == [
        {"style": "short, punchy", "temperature": 0.7}]
    assert generator_grid([]) == [{}]
    with pytest.raises(SynthbenchError, match="not KEY=VALUE"):
        generator_grid(["temperature"])


# --- example seeding -----------------------------------------------------------------------

def test_split_items_reads_numbered_lists_and_plain_lines() -> None:
    raw = "Here are 3:\n1. a b c\n2) d e\n   f g\n\nI hope this helps\n- h i"
    assert split_items(raw) == ["a b c", "d e f g", "h i"]
    assert split_items("one text\n\nanother text") == ["one text", "another text"]
    assert split_items("") == []


def shown_examples(request: GenerationRequest) -> dict[str, str]:
    """The examples a Prompt A request shows, by label phrase (the open item has none)."""
    blocks = re.findall(r'Elements: (.+)\n[^\n:]+: "(.*)"', request.messages[0].content)
    return dict(blocks)


def test_example_seeding_starts_with_real_seeds_then_shows_generated_texts(sst2: Any) -> None:
    task, data = sst2
    provider = MockProvider()
    outcome = ExampleSeeding(items_per_call=1).generate(ctx_for(task, data, provider, 6))
    assert outcome.counts.kept == 6 and outcome.counts.requests_sent == 6
    seeds = outcome.meta["example_seeding"]["seeds"]
    assert {k: len(v) for k, v in seeds.items()} == {"positive": 9, "negative": 9}
    real = {e.text for e in data.train}
    assert all(text in real for pool in seeds.values() for text in pool)
    rounds = [provider.requests[i:i + 2] for i in range(0, 6, 2)]  # one call per label
    for request in rounds[0]:
        shown = shown_examples(request)
        assert set(shown) == {"positive", "negative"}
        assert all(word_cap_of(seeds[label], text) for label, text in shown.items())
        assert request.messages[0].content.endswith("Sentence from a movie review:")
    texts = {e.label: [x.text for x in outcome.examples if x.label == e.label]
             for e in outcome.examples}
    for number, batch in enumerate(rounds[1:], 1):
        for request in batch:
            for label, text in shown_examples(request).items():
                earlier = [e.text for e in outcome.examples
                           if e.label == label and e.meta["round"] < number]
                assert text in earlier, "later prompts show previously generated texts"
    assert set(texts) == {"positive", "negative"}


def word_cap_of(pool: Sequence[str], shown: str) -> bool:
    """``shown`` is one of ``pool`` (possibly cut to the prompt's word cap)."""
    return any(text == shown or (shown.endswith(" …") and text.startswith(shown[:-2]))
               for text in pool)


def test_example_seeding_counts_every_item_of_a_list(sst2: Any) -> None:
    task, data = sst2
    replies = ["1. one two three\n2. four five six\n3. seven eight nine\n4. ten eleven twelve",
               "I'm sorry, but I can't help with that.",
               "Sure! Here they are:\n1. a fine film indeed\n2. \"\"\n3. a weak script overall",
               "Elements: negative"]
    provider = MockProvider(script=replies)
    outcome = ExampleSeeding(items_per_call=3, retry_budget=1.0).generate(
        ctx_for(task, data, provider, 6))
    counts = outcome.counts
    asked = outcome.meta["example_seeding"]["items_asked"]
    failures = counts.refusals + counts.empty + counts.parse_failures + counts.failed
    assert asked == counts.kept + failures <= 12
    assert counts.refusals == 3 and counts.empty == 1 and counts.parse_failures == 1
    assert counts.shortfall == 0
    assert outcome.meta["example_seeding"]["surplus"] == 1 + 3  # 4 items for 3, then for 1
    assert counts.requests_sent == 5 and asked == 11
    by_label = {label: sorted(e.text for e in outcome.examples if e.label == label)
                for label in ("positive", "negative")}
    assert by_label == {
        "positive": ["four five six", "one two three", "seven eight nine"],
        "negative": ["a fine film indeed", "a weak script overall", "one two three"]}
    assert "as a numbered list from 1. to 3." in provider.requests[0].messages[0].content


def test_example_seeding_on_the_real_model(sst2: Any, local: Provider) -> None:
    task, data = sst2
    spy = RecordingProvider(local)
    outcome = ExampleSeeding(items_per_call=2, max_tokens=TOKENS, retry_budget=0.5).generate(
        ctx_for(task, data, spy, 4))
    counts = outcome.counts
    failures = counts.refusals + counts.empty + counts.parse_failures + counts.failed
    assert outcome.meta["example_seeding"]["items_asked"] == counts.kept + failures
    assert counts.kept + counts.shortfall == 4 and counts.kept >= 1
    assert all(r.max_tokens == 2 * TOKENS for r in spy.requests[:2])
    seeds = outcome.meta["example_seeding"]["seeds"]
    for request in spy.requests[:2]:
        assert set(shown_examples(request)) == {"positive", "negative"}
        assert all(word_cap_of(seeds[k], v) for k, v in shown_examples(request).items())
    assert all(e.text.strip() and e.label in ("positive", "negative")
               for e in outcome.examples)


# --- attributed ----------------------------------------------------------------------------

def chosen_attributes(request: GenerationRequest) -> dict[str, str]:
    found = re.search(r"with these attributes: (.*)\. Use at most", request.messages[-1].content)
    assert found, request.messages[-1].content
    return dict(part.split(": ", 1) for part in found.group(1).split("; "))


def test_attributed_samples_one_value_per_declared_dimension(sst2: Any) -> None:
    task, data = sst2
    declared = dataclasses.replace(task, attributes={
        "genre": ("horror", "comedy", "documentary"), "aspect": ("acting", "plot", "music")})
    provider = MockProvider()
    outcome = Attributed().generate(ctx_for(declared, data, provider, 12))
    assert outcome.counts.kept == 12 and len(provider.requests) == 12  # no LLM setup call
    meta = outcome.meta["attributed"]
    assert meta["source"] == "task"
    assert list(meta["attributes"]) == ["genre", "aspect", "length"]
    assert meta["attributes"]["length"][-1] == "long (close to 30 words)"
    seen: dict[str, set[str]] = {}
    for request in provider.requests:
        chosen = chosen_attributes(request)
        assert set(chosen) == {"genre", "aspect", "length"}
        for dim, value in chosen.items():
            assert value in meta["attributes"][dim]
            seen.setdefault(dim, set()).add(value)
    assert all(len(values) >= 2 for values in seen.values()), "values must vary"
    assert [e.meta["attributes"] for e in outcome.examples] == [
        chosen_attributes(provider.requests[e.meta["request"]]) for e in outcome.examples]

    own = MockProvider()
    Attributed(attributes={"tone": ["dry", "warm"]}).generate(ctx_for(declared, data, own, 4))
    assert {tuple(chosen_attributes(r)) for r in own.requests} == {("tone",)}
    for bad in ({"tone": []}, {"tone": "dry"}, ["dry"]):
        with pytest.raises(SynthbenchError, match="JSON object of non-empty lists"):
            Attributed(attributes=bad)  # type: ignore[arg-type]
    with pytest.raises(SynthbenchError, match="values >= 2"):
        Attributed(values=1)


def test_read_values_cleans_a_list_reply() -> None:
    reply = ('Here are some:\n1. "Plot twists" - surprising turns\n2. **Acting**\n'
             "3. plot twists\n4. A very long value that goes on and on and on and on forever\n"
             "5. Soundtrack: the music")
    assert read_values(reply, 6) == ["Plot twists", "Acting", "Soundtrack"]
    assert read_values(reply, 2) == ["Plot twists", "Acting"]
    assert read_values("", 3) == []


def test_attributed_asks_the_real_model_for_attributes_once(sst2: Any, local: Provider) -> None:
    task, data = sst2
    spy = RecordingProvider(local)
    outcome = Attributed(values=3, max_tokens=TOKENS).generate(ctx_for(task, data, spy, 4))
    meta = outcome.meta["attributed"]
    assert meta["source"] == "llm" and meta["requests"] == 2
    setup, texts = spy.requests[:2], spy.requests[2:]
    assert [("subtopic" in r.messages[0].content, "writing style" in r.messages[0].content)
            for r in setup] == [(True, False), (False, True)]
    assert set(meta["attributes"]) | set(meta["dropped"]) == {"subtopic", "writing style",
                                                              "length"}
    assert all(2 <= len(v) <= 3 for k, v in meta["attributes"].items() if k != "length")
    assert len(texts) == outcome.counts.requests_sent >= 4
    for request in texts:
        chosen = chosen_attributes(request)
        assert set(chosen) == set(meta["attributes"])
        assert all(chosen[k] in meta["attributes"][k] for k in chosen)
    for example in outcome.examples:
        assert example.meta["attributes"] == chosen_attributes(texts[example.meta["request"]])
    assert outcome.usage.output_tokens == sum(c.usage.output_tokens for c in spy.completions)
    assert outcome.counts.kept >= 3


def test_logit_suppression_sends_the_bias_through_the_openai_sdk(
        sst2: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On OpenAI the bias travels as ``logit_bias`` in the SDK's request body, keyed by
    tiktoken ids of what the model wrote (the loopback fake of the API, the real SDK)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer, ServerConfig

    task, data = sst2
    with FakeLLMServer(ServerConfig()) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-generators")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
        provider = resolve_model(load_plugins(), "openai/gpt-4o-mini",
                                 CallContext.from_environ(os.environ))
        assert Capability.TOKENIZE in provider.capabilities, "bundled encoding, offline"
        spy = RecordingProvider(provider)
        outcome = LogitSuppression(batch=2).generate(ctx_for(task, data, spy, 4))
        bodies = [r.body for r in server.log if r.path.endswith("/chat/completions")]
    assert outcome.counts.kept == 4 and len(bodies) == 4
    first = Counter(i for answer in spy.answers[:2] for i in spy.tokenize(answer))
    sent = {json.dumps(b.get("logit_bias"), sort_keys=True) for b in bodies}
    expected = {str(token): value for token, value in suppression_bias(first)}
    assert sent == {"null", json.dumps(expected, sort_keys=True)}


def test_a_grid_with_an_incapable_provider_is_refused_before_any_cell(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    code = main(["run", "--model", "mock/a", "--task", "trec", "--n", "12", "--out", str(out),
                 "--data-dir", str(shared_data), "--no-progress",
                 "--generator", "zero_shot,logit_suppression"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == ("synthbench: error: generator logit_suppression needs a provider with "
                   "logit_bias, tokenize; mock/a lacks logit_bias, tokenize")
    assert not list(out.glob("cells/*/synthetic.jsonl")), "not even the zero_shot cell ran"
