"""The filtering interventions copy_filter, language_check, prompt_echo and refusal_filter:
each removes planted bad texts, keeps good ones, says what it removed and why, and survives
hostile texts. Real SST-2 data and the real embedder for the copy threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthbench.cli import main
from synthbench.data import TaskData, load_task_data
from synthbench.embeddings import default_embedder
from synthbench.overlap import match_key
from synthbench.plugins import Plugins
from synthbench.types import Example, InterventionContext, Provider
from synthbench_interventions import CopyFilter, LanguageCheck, PromptEcho, RefusalFilter

HOSTILE = ["", " ", "nan", "NaN", "x" * 100_000, "<b>markup</b> <script>alert(1)</script>",
           "\u0000\u200b", "😊😊", "Example"]
GOOD = ["a gripping , tender film that earns every one of its tears",
        "the plot makes no sense and the jokes fall flat",
        "Café culture and a naïve hero make this résumé of Paris charming",
        "I'm sorry to say the sequel is a tired retread"]


@pytest.fixture(scope="module")
def sst2(plugins: Plugins, shared_data: Path) -> TaskData:
    return load_task_data(plugins.tasks.get("sst2"), shared_data)


def context(plugins: Plugins, data: TaskData) -> InterventionContext:
    def no_provider() -> Provider:
        raise AssertionError("this intervention must not call the provider")

    return InterventionContext(task=plugins.tasks.get("sst2"), train=data.train, seed=0,
                               oracle=lambda: None, embedder=default_embedder,
                               provider=no_provider)


def examples(texts: list[str]) -> tuple[Example, ...]:
    return tuple(Example(t, "positive") for t in texts)


def kept(outcome: Any) -> list[str]:
    return [e.text for e in outcome.examples]


def test_the_filters_are_registered_and_listed(plugins: Plugins,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for step in ("copy_filter", "language_check", "prompt_echo", "refusal_filter"):
        assert plugins.interventions.origin(step).name == "interventions"
    assert main(["list", "interventions"]) == 0
    out = capsys.readouterr().out
    assert "max_foreign=0.0" in out and "ngram=6" in out and "copy_filter" in out


def test_copy_filter_removes_exact_and_near_copies_of_train(plugins: Plugins,
                                                            sst2: TaskData) -> None:
    train = {match_key(e.text) for e in sst2.train}
    fresh = [e.text for e in sst2.test if match_key(e.text) not in train][:6]
    long = [e.text for e in sst2.train if len(e.text.split()) > 15][:2]
    near = " ".join(long[1].split()[:-1]) + " , truly"
    miss = " ".join(long[1].split()[:8]) + " but the rest of the picture is a dull mess"
    texts = [*fresh, long[0].upper() + " !", near, miss]
    outcome = CopyFilter().apply(examples(texts), context(plugins, sst2))
    assert kept(outcome) == [*fresh, miss]
    report = outcome.report
    assert (report["removed"], report["exact_copies"], report["near_copies"]) == (2, 1, 1)
    removed = {r["index"]: r for r in report["removed_texts"]}
    assert removed[6]["kind"] == "exact" and removed[6]["train_text"] == long[0]
    assert removed[7]["kind"] == "near" and removed[7]["cosine"] >= 0.95
    only_exact = CopyFilter(near=False).apply(examples(texts), context(plugins, sst2))
    assert only_exact.report["removed"] == 1
    with pytest.raises(ValueError):
        CopyFilter(tau=0)


def test_language_check_removes_foreign_scripts_and_keeps_accents(plugins: Plugins,
                                                                  sst2: TaskData) -> None:
    bad = ["I am目前 experiencing tremendous exhaustion and pain",
           "Привет, это отличный фильм", "A Twin ftير Nadu saw loss"]
    outcome = LanguageCheck().apply(examples([*GOOD, *bad]), context(plugins, sst2))
    assert kept(outcome) == GOOD
    report = outcome.report
    assert report["removed"] == 3 and report["texts_by_script"] == {
        "CJK": 1, "CYRILLIC": 1, "ARABIC": 1}
    assert report["removed_texts"][0]["scripts"] == {"CJK": 2}
    lenient = LanguageCheck(max_foreign=0.5).apply(examples(bad), context(plugins, sst2))
    assert kept(lenient) == [bad[0], bad[2]]
    both = LanguageCheck(scripts="latin, cyrillic").apply(examples(bad), context(plugins, sst2))
    assert kept(both) == [bad[1]]
    for wrong in ({"scripts": ""}, {"max_foreign": 1.0}, {"scripts": 3}):
        with pytest.raises(ValueError):
            LanguageCheck(**wrong)  # type: ignore[arg-type]


def test_prompt_echo_removes_instruction_talk_and_task_wording(plugins: Plugins,
                                                               sst2: TaskData) -> None:
    task = plugins.tasks.get("sst2")
    echo = ["Example 1: a great movie with heart",
            "The example I have given is a review of a film",
            "Here is a movie review that you asked for",
            f"{task.context} and then some more words"]
    outcome = PromptEcho().apply(examples([*GOOD, *echo]), context(plugins, sst2))
    assert kept(outcome) == GOOD
    report = outcome.report
    assert report["removed"] == 4 and report["by_wording"] >= 1
    assert report["by_phrase"]["numbered example"] == 1
    assert report["removed_texts"][-1]["shared_wording"] is not None
    wording_only = PromptEcho(phrases=False).apply(examples(echo), context(plugins, sst2))
    assert kept(wording_only) == echo[:3]
    with pytest.raises(ValueError):
        PromptEcho(ngram=2)


def test_refusal_filter_uses_the_parse_time_detector(plugins: Plugins, sst2: TaskData) -> None:
    refusals = ["I'm sorry, but I can't help with that.", "As an AI language model, I cannot",
                "  Sorry, I cannot write that review."]
    outcome = RefusalFilter().apply(examples([*GOOD, *refusals]), context(plugins, sst2))
    assert kept(outcome) == GOOD
    assert outcome.report["removed"] == 3
    assert outcome.report["removed_texts"][0]["matched"].startswith("I'm sorry")


@pytest.mark.parametrize("step", [CopyFilter, LanguageCheck, PromptEcho, RefusalFilter])
def test_hostile_texts_pass_through_every_filter(step: Any, plugins: Plugins,
                                                 sst2: TaskData) -> None:
    outcome = step().apply(examples(HOSTILE), context(plugins, sst2))
    assert outcome.report["n_in"] == len(HOSTILE)
    assert outcome.report["n_out"] == len(outcome.examples) <= len(HOSTILE)
    empty = step().apply((), context(plugins, sst2))
    assert empty.examples == () and empty.report["removed_rate"] == 0.0
