"""Generators: prompts as METHOD.md describes them, and no row dropped without a count."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthbench import GenerationContext, SynthbenchError
from synthbench.data import balanced_quota, load_task_data
from synthbench.generation import parse_text
from synthbench.plugins import load_plugins
from synthbench.testing import MockProvider
from synthbench_generators import IMITATE, FewShot, ZeroShot


@pytest.fixture(scope="module")
def sst2(shared_data: Path):  # type: ignore[no-untyped-def]
    task = load_plugins().tasks.get("sst2")
    return task, load_task_data(task, shared_data)


@pytest.mark.parametrize(("raw", "text", "status"), [
    ("  A gripping, tender film.  ", "A gripping, tender film.", "ok"),
    ('Here is a positive movie review:\n\n"A gripping film."', "A gripping film.", "ok"),
    ("Movie review: dull and long", "dull and long", "ok"),
    ("Review 2: dull and long", "dull and long", "ok"),
    ("Report: Nation Shocked By News", "Report: Nation Shocked By News", "ok"),
    ("First paragraph here.\n\nI hope this helps!", "First paragraph here.", "truncated"),
    ("Sure, I'd be happy to help. Stocks fell sharply.", "Stocks fell sharply.", "ok"),
    ("Sure! Here is a tweet: so happy today", "so happy today", "ok"),
    ("As an AI language model, I cannot write reviews.", None, "refusal"),
    ("I'm sorry, but I can't help with that.", None, "refusal"),
    ("I cannot write that review.", None, "refusal"),
    ("I can't believe how good this movie was!", "I can't believe how good this movie was!",
     "ok"),
    ("Sorry, I'll call later", "Sorry, I'll call later", "ok"),
    ("I'm sorry for your loss, truly.", "I'm sorry for your loss, truly.", "ok"),
    ("   ", None, "empty"),
    ('""', None, "empty"),
    ("!!!", None, "parse_failure"),
])
def test_parse_text(raw: str, text: str | None, status: str) -> None:
    assert parse_text(raw, "movie review") == (text, status)


def test_zero_shot_prompt_and_balance(sst2) -> None:  # type: ignore[no-untyped-def]
    task, data = sst2
    provider = MockProvider()
    ctx = GenerationContext(task, provider, data.train, balanced_quota(task.label_names, 10), 0)
    outcome = ZeroShot(temperature=0.7).generate(ctx)
    assert outcome.counts.kept == 10 and outcome.counts.shortfall == 0
    assert sorted(e.label for e in outcome.examples) == ["negative"] * 5 + ["positive"] * 5
    prompt = provider.requests[0].messages[-1].content
    assert prompt.startswith(task.context)
    assert f"at most {task.word_limit} words" in prompt and "positive" in prompt
    assert {r.temperature for r in provider.requests} == {0.7}
    assert len({r.seed for r in provider.requests}) == 10
    assert outcome.usage.output_tokens > 0


def test_few_shot_shows_fresh_real_examples_of_the_label(sst2) -> None:  # type: ignore[no-untyped-def]
    task, data = sst2
    provider = MockProvider()
    ctx = GenerationContext(task, provider, data.train, {"positive": 6, "negative": 0}, 3)
    FewShot(k=2).generate(ctx)
    positives = {e.text for e in data.train if e.label == "positive"}
    shown_sets = []
    for request in provider.requests:
        prompt = request.messages[-1].content
        assert IMITATE in prompt
        shown = [line.split(": ", 1)[1] for line in prompt.splitlines()
                 if line.startswith("Example ")]
        assert len(shown) == 2 and all(s in positives for s in shown)
        shown_sets.append(tuple(shown))
    assert len(set(shown_sets)) == len(shown_sets), "examples must be drawn afresh per request"


def test_failures_are_counted_and_topped_up(sst2) -> None:  # type: ignore[no-untyped-def]
    task, data = sst2
    script = ["a fine film", "As an AI, I cannot do that.", "", "?!", "a weak film"]
    provider = MockProvider(script=script)
    ctx = GenerationContext(task, provider, data.train, {"positive": 3, "negative": 3}, 0)
    outcome = ZeroShot(retry_budget=2.0).generate(ctx)
    counts = outcome.counts
    assert counts.kept == 6 and counts.shortfall == 0
    assert counts.refusals + counts.empty + counts.parse_failures == counts.requests_sent - 6
    assert counts.refusals >= 1 and counts.empty >= 1 and counts.parse_failures >= 1
    assert sorted(e.label for e in outcome.examples) == ["negative"] * 3 + ["positive"] * 3


def test_budget_bounds_the_top_up(sst2) -> None:  # type: ignore[no-untyped-def]
    task, data = sst2
    provider = MockProvider(script=["I'm sorry, I can't."])
    ctx = GenerationContext(task, provider, data.train, {"positive": 4, "negative": 4}, 0)
    outcome = ZeroShot(retry_budget=0.5).generate(ctx)
    assert outcome.counts.requests_sent == 8 + 4
    assert outcome.counts.refusals == 12
    assert outcome.counts.shortfall == 8 and outcome.examples == ()


def test_bad_generator_parameters() -> None:
    with pytest.raises(SynthbenchError, match="temperature"):
        ZeroShot(temperature=-1)
    with pytest.raises(SynthbenchError, match="temperature must be a number"):
        ZeroShot(temperature=float("nan"))
    with pytest.raises(SynthbenchError, match="top_p"):
        ZeroShot(top_p="high")
    with pytest.raises(SynthbenchError, match="k >= 1"):
        FewShot(k=0)
