"""The llm_few_shot baseline and Chung's break-even: the prompt and the parsing on fake LLMs,
label log-probabilities and greedy answers on the real embedded model, the store and the
leaderboard on the mock provider."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from records import cell_record

from synthbench import parse_label
from synthbench.data import TaskData
from synthbench.errors import SynthbenchError
from synthbench.leaderboard import BreakEvenKeys, break_even, build, to_markdown
from synthbench.plugins import Plugins
from synthbench.record import CellRecord
from synthbench.run import Runner, RunSettings, make_configs
from synthbench.run.grid import full_params
from synthbench.testing import MockProvider
from synthbench.types import Capability, Completion, ContinuationScorer, GenerationRequest, Usage
from synthbench_baselines import LlmFewShot


@pytest.fixture(scope="module")
def sst2(sst2_data: TaskData) -> TaskData:
    return sst2_data


class Knower:
    """A fake LLM that answers each test text's true label (or a wrong one, or nonsense),
    found by looking the text up; records every request."""

    def __init__(self, truth: dict[str, str], mode: str = "right") -> None:
        self.truth = truth
        self.mode = mode
        self.requests: list[GenerationRequest] = []

    model_id = "mock/knower"
    capabilities = frozenset({Capability.SEED})

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id}

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for request in requests:
            self.requests.append(request)
            shown = request.messages[-1].content.split(": ", 1)[1]
            label = self.truth[shown]
            if self.mode == "wrong":
                label = "negative" if label == "positive" else "positive"
            reply = f"The label is {label}." if self.mode != "nonsense" else "I cannot tell"
            out.append(Completion(reply, self.model_id, Usage(10, 3)))
        return out


def test_parse_label_prefers_the_first_and_the_longest_name() -> None:
    labels = ("irony", "non_irony")
    assert parse_label("non irony", labels) == "non_irony"
    assert parse_label("Non-Irony, clearly", labels) == "non_irony"
    assert parse_label("It is irony, not non_irony", labels) == "irony"
    assert parse_label("ironyyy", labels) is None
    assert parse_label("Sci/Tech news", ("World", "Sci/Tech")) == "Sci/Tech"
    assert parse_label("", labels) is None


def test_prompt_shows_k_balanced_shots_as_turns(plugins: Plugins, sst2: TaskData) -> None:
    task = plugins.tasks.get("sst2")
    truth = {e.text: e.label for e in sst2.test}
    knower = Knower(truth)
    result = LlmFewShot(k=4, n_test=12, word_limit=1000).run(knower, task, sst2.train,
                                                             sst2.test, seed=3)
    first = knower.requests[0].messages
    assert first[0].role == "system" and "positive" in first[0].content
    assert [m.role for m in first[1:]] == ["user", "assistant"] * 4 + ["user"]
    assert sorted(m.content for m in first[2:9:2]) == ["negative"] * 2 + ["positive"] * 2
    assert all(r.temperature == 0 for r in knower.requests)
    assert len({r.messages[:-1] for r in knower.requests}) == 1  # the same shots every time
    assert result["method"] == "text" and result["n_test"] == 12 and result["n_shots"] == 4
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0 and result["unparsable"] == 0

    wrong = LlmFewShot(k=4, n_test=12, word_limit=1000).run(
        Knower(truth, "wrong"), task, sst2.train, sst2.test, seed=3)
    assert wrong["accuracy"] == 0.0
    lost = LlmFewShot(k=0, n_test=5, word_limit=1000).run(
        Knower(truth, "nonsense"), task, sst2.train, sst2.test, seed=3)
    assert lost["unparsable"] == 5 and lost["accuracy"] == 0.0 and lost["n_shots"] == 0


def test_options_are_checked(plugins: Plugins, sst2: TaskData) -> None:
    task = plugins.tasks.get("sst2")
    with pytest.raises(SynthbenchError, match="cannot score label log-probabilities"):
        LlmFewShot(method="logprobs", n_test=2).run(MockProvider(), task, sst2.train,
                                                    sst2.test, 0)
    assert LlmFewShot().method_for(MockProvider()) == "text"
    for bad in ({"k": -1}, {"method": "vote"}, {"shots": 3}):
        with pytest.raises(SynthbenchError, match="rejects its parameters"):
            full_params(plugins, "baseline", "llm_few_shot", bad)
    with pytest.raises(SynthbenchError, match="unknown baseline"):
        full_params(plugins, "baseline", "zero_shot_llm", {})


def test_real_model_scores_labels_and_answers(plugins: Plugins, sst2: TaskData) -> None:
    from synthbench_local.provider import TransformersProvider

    local = TransformersProvider.embedded(batch_size=4)
    assert Capability.LOGPROBS in local.capabilities and isinstance(local, ContinuationScorer)
    task = plugins.tasks.get("sst2")
    baseline = LlmFewShot(k=2, n_test=4, word_limit=30)
    shots = [e for e in sst2.train[:40] if e.label == "positive"][:1] + \
        [e for e in sst2.train[:40] if e.label == "negative"][:1]
    messages = baseline.messages(task, shots, sst2.test[0].text)
    labels = ["positive", "negative", "non_irony"]
    scores = local.score_continuations(messages, labels)
    again = local.score_continuations(messages, labels)  # from the kept prompt cache
    assert scores == pytest.approx(again, abs=1e-4)
    assert scores == pytest.approx(local.score_continuations_uncached(messages, labels), abs=1e-3)
    assert all(s < 0 for s in scores) and scores[2] < min(scores[:2])

    by_logprobs = baseline.run(local, task, sst2.train, sst2.test, seed=0)
    assert by_logprobs["method"] == "logprobs" and by_logprobs["unparsable"] == 0
    assert sum(by_logprobs["predicted_counts"].values()) == 4
    by_text = LlmFewShot(k=2, n_test=4, word_limit=30, method="text", max_tokens=3).run(
        local, task, sst2.train, sst2.test, seed=0)
    assert by_text["method"] == "text" and 0 < by_text["usage"]["output_tokens"] <= 12
    assert sum(by_text["predicted_counts"].values()) + by_text["unparsable"] == 4
    for result in (by_logprobs, by_text):
        assert 0 <= result["macro_f1"] <= 1 and 0 <= result["accuracy"] <= 1


def test_runner_stores_the_baseline_once_per_task_and_model(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    runner = Runner(plugins, RunSettings(out=tmp_path, data_dir=shared_data, progress=False))
    configs = make_configs(plugins, models=["mock/a"], tasks=["trec"], generators=["zero_shot"],
                           params={}, n=30, seeds=[0], classifiers=["tfidf_lr"],
                           oracle_size=300,
                           curations=[[], [("label_replacement", {"k": 10})],
                                      [("label_replacement", {"k": "all"})]],
                           baselines=[("llm_few_shot", {"k": 2, "n_test": 9})])
    outcomes = runner.run(configs)
    mock = runner.ws.provider("mock/a")
    assert isinstance(mock, MockProvider)
    asked = [r for r in mock.requests if r.messages[0].role == "system"
             and "Reply with the label name only" in r.messages[0].content]
    assert len(asked) == 9  # one baseline run shared by the three cells
    (stored,) = (tmp_path / "baselines").iterdir()
    results = [o.record.baselines["llm_few_shot"] for o in outcomes]
    assert all(r == results[0] for r in results) and results[0].extra["n_test"] == 9
    assert outcomes[0].record.config.to_record()["baselines"] == [
        ["llm_few_shot", {"k": 2, "n_test": 9, "method": "auto", "word_limit": 60,
                          "max_tokens": 8}]]
    rows = break_even([o.record for o in outcomes], BreakEvenKeys.of(plugins))
    assert len(rows) == 1 and rows[0]["k_tried"] == [0, 10]
    assert list(rows[0]["macro_f1_by_k"]) == ["0", "10", "all"]
    assert "oracle" in rows[0]["inspection"]
    assert stored.name.startswith("trec__mock--a__llm_few_shot__")


KEYS = BreakEvenKeys({"label_replacement": "k"}, ("llm_few_shot",))


def _record(task: str, seed: int, k: Any, f1: float, baseline: float) -> CellRecord:
    return cell_record(
        task, seed, interventions=None if k is None else [["label_replacement", {"k": k}]],
        f1=f1, baselines={"llm_few_shot": {"id": "llm_few_shot", "params": {"k": 8},
                                           "macro_f1": baseline, "accuracy": baseline}})


def test_break_even_is_the_smallest_k_that_beats_the_baseline() -> None:
    records = []
    for seed, noise in ((0, -0.02), (1, 0.02)):
        records += [_record("sst2", seed, None, 0.40 + noise, 0.6),
                    _record("sst2", seed, 90, 0.55 + noise, 0.6),
                    _record("sst2", seed, 180, 0.62 + noise, 0.6),
                    _record("sst2", seed, 270, 0.70 + noise, 0.6),
                    _record("sst2", seed, "all", 0.75 + noise, 0.6),
                    _record("trec", seed, 90, 0.30, 0.9)]
    rows = {r["task"]: r for r in break_even(records, KEYS)}
    assert rows["sst2"]["break_even_k"] == 180 and rows["sst2"]["k_tried"] == [0, 90, 180, 270]
    assert list(rows["sst2"]["macro_f1_by_k"]) == ["0", "90", "180", "270", "all"]
    assert rows["sst2"]["macro_f1_by_k"]["0"] == pytest.approx(0.40)
    assert rows["sst2"]["macro_f1_by_k"]["90"] == pytest.approx(0.55)
    assert rows["sst2"]["llm_few_shot_macro_f1"] == pytest.approx(0.6)
    assert rows["sst2"]["generator"] == "zero_shot"
    assert rows["trec"]["break_even_k"] is None and rows["trec"]["k_tried"] == [90]
    easy = break_even([_record("imdb", 0, None, 0.8, 0.5), _record("imdb", 0, 90, 0.9, 0.5)],
                      KEYS)
    assert easy[0]["break_even_k"] == 0  # the uncurated texts already beat the baseline
    assert break_even([_record("imdb", 0, None, 0.8, 0.5)], KEYS) == []
    assert break_even(records, BreakEvenKeys()) == []  # nothing declared, nothing compared
    board = build(records, KEYS)
    labels = {r["generator"] for r in board["rows"]}
    assert labels == {"zero_shot", "zero_shot+label_replacement[k=90]",
                      "zero_shot+label_replacement[k=180]", "zero_shot+label_replacement[k=270]",
                      "zero_shot+label_replacement[k=all]"}
    markdown = to_markdown(board, KEYS)
    assert "Break-even of label replacement" in markdown and "| 180 " in markdown
