"""Measured task subjectivity: the Bradley–Terry fit on simulated judges, the pairwise
protocol through the real OpenAI SDK against the loopback fake server and through the
embedded model's log-probabilities, records, reuse, the CLI and the leaderboard."""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from synthbench.calls import CacheSettings, CallContext, SendSettings
from synthbench.cli import main
from synthbench.data import load_task_data
from synthbench.leaderboard import build, rebuild
from synthbench.plugins import Plugins
from synthbench.store import iter_results
from synthbench.subjectivity import bradley_terry as bt
from synthbench.subjectivity.protocol import (
    ProtocolSettings,
    design,
    measure,
    pair_messages,
    parse_choice,
    task_card,
)
from synthbench.subjectivity.store import measured_subjectivity, read_records
from synthbench.types import Example, Task

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent
TASKS = ("ag_news", "imdb", "tweet_irony", "humor")


# -- Bradley–Terry on simulated judges ------------------------------------------------------

def simulate(strengths: dict[str, float], samples: int, rng: random.Random,
             first_bias: float = 0.0) -> list[bt.Verdict]:
    """Judgments of every pair in both orders by a BT judge; with ``first_bias`` the judge
    answers "the first one" that share of the time whatever the tasks."""
    verdicts = []
    for slot in design(sorted(strengths), samples):
        a, b = slot.first, slot.second
        if rng.random() < first_bias:
            winner = a
        else:
            p = 1 / (1 + math.exp(strengths[b] - strengths[a]))
            winner = a if rng.random() < p else b
        verdicts.append(bt.Verdict(a, b, winner, slot.sample))
    return verdicts


def test_bradley_terry_recovers_known_scores_and_its_intervals_cover_them() -> None:
    truth = {f"t{i}": 2.0 - 0.5 * i for i in range(8)}  # t0 most objective
    expected = bt.to_subjectivity(truth)
    covered = total = 0
    for trial in range(4):
        verdicts = simulate(truth, samples=8, rng=random.Random(trial))
        fitted = bt.fit(list(truth), verdicts, rounds=300, seed=trial)
        assert fitted.scores["t0"] == 0.0 and fitted.scores["t7"] == 1.0
        rho = stats.spearmanr([expected[t] for t in truth], [fitted.scores[t] for t in truth])
        assert rho.statistic > 0.9
        assert max(abs(fitted.scores[t] - expected[t]) for t in truth) < 0.2
        for t in truth:
            low, high = fitted.intervals[t]
            assert low <= fitted.scores[t] <= high
            covered += low - 1e-9 <= expected[t] <= high + 1e-9
            total += 1
    assert covered / total >= 0.85, f"intervals covered {covered}/{total} true scores"


def test_a_judge_with_a_fixed_position_bias_is_detected() -> None:
    truth = {f"t{i}": 2.0 - 1.0 * i for i in range(6)}
    fair = simulate(truth, samples=6, rng=random.Random(1))
    biased = simulate(truth, samples=6, rng=random.Random(1), first_bias=0.7)
    fair_bias, biased_bias = bt.position_bias(fair), bt.position_bias(biased)
    assert fair_bias["ci"][0] < 0.5 < fair_bias["ci"][1]  # type: ignore[index]
    assert biased_bias["ci"][0] > 0.7  # type: ignore[index]
    consistency = bt.order_consistency(fair)["share"]
    assert consistency > 0.7  # type: ignore[operator]
    assert bt.order_consistency(biased)["share"] < consistency - 0.3  # type: ignore[operator]
    # A judge that only ever answers "A" is consistent on nothing and ranks nothing.
    always_first = [bt.Verdict(v.first, v.second, v.first, v.sample) for v in fair]
    assert bt.position_bias(always_first)["first_share"] == 1.0
    assert bt.order_consistency(always_first)["share"] == 0.0
    fitted = bt.fit(list(truth), always_first, rounds=50)
    assert set(fitted.scores.values()) == {0.5}
    tau = bt.kendall_with_ci(fitted, {t: float(i) for i, t in enumerate(truth)})
    assert tau["tau"] is None and tau["ci"] is None


@pytest.mark.parametrize(("reply", "choice"), [
    ("A", "A"), ("B.", "B"), (" b", "B"), ("Answer: A", "A"), ("Task B is more objective.", "B"),
    ("I think B", "B"), ("Both are subjective.", None), ("A or B", None), ("", None),
    ("Again, neither", None), ("a task about news is B", "B"), ("**B**", "B"),
])
def test_parse_choice_reads_a_letter_or_counts_the_reply_unparsable(
        reply: str, choice: str | None) -> None:
    assert parse_choice(reply) == choice


# -- the protocol through the real OpenAI SDK ---------------------------------------------

class JudgeServer(FakeLLMServer):
    """The fake server answering subjectivity questions with ``decide(prompt)``."""

    def __init__(self, decide: Callable[[str], str]) -> None:
        super().__init__(ServerConfig())
        self.decide = decide

    def answer(self, request: dict[str, Any], anthropic: bool) -> dict[str, Any]:
        payload = super().answer(request, anthropic)
        payload["choices"][0]["message"]["content"] = self.decide(
            str(request["messages"][-1]["content"]))
        return payload

    def judgments(self) -> int:
        return sum(e.path == "/v1/chat/completions" for e in self.log)


def names_shown(prompt: str) -> tuple[str, str]:
    found = re.findall(r"Task [AB]\nName: (.+)", prompt)
    return found[0], found[1]


@pytest.fixture(scope="module")
def li_tasks(plugins: Plugins, shared_data: Path) -> tuple[list[Task], dict[str, Any]]:
    tasks = [plugins.tasks.get(t) for t in TASKS]
    return tasks, {t.id: load_task_data(t, shared_data).train for t in tasks}


def declared_judge(tasks: list[Task]) -> Callable[[str], str]:
    """Answers the letter of the task declared more objective: a judge that agrees with the
    declared order, in either presentation order; unparsable whenever Humor is shown first."""
    declared = {t.name: t.subjectivity.score for t in tasks}

    def decide(prompt: str) -> str:
        a, b = names_shown(prompt)
        if a.startswith("Humor"):
            return "Hard to say, it depends."
        return "A" if declared[a] < declared[b] else "B"

    return decide


@pytest.fixture
def openai_judge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                 ) -> Iterator[Callable[[Callable[[str], str]], tuple[Any, JudgeServer]]]:
    servers: list[JudgeServer] = []

    def start(decide: Callable[[str], str]) -> tuple[Any, JudgeServer]:
        server = JudgeServer(decide).__enter__()
        servers.append(server)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-subjectivity")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        from synthbench_api import openai_provider

        calls = CallContext(cache=CacheSettings(tmp_path / "requests.sqlite"),
                            send=SendSettings(concurrency=8, max_retries=1, timeout_base_s=5.0))
        return openai_provider("judge-model", calls), server

    yield start
    for server in servers:
        server.stop()


def test_protocol_through_the_openai_sdk_counts_unparsable_and_reuses_everything(
        openai_judge: Callable[..., tuple[Any, JudgeServer]],
        li_tasks: tuple[list[Task], dict[str, Any]], tmp_path: Path) -> None:
    tasks, train = li_tasks
    provider, server = openai_judge(declared_judge(tasks))
    settings = ProtocolSettings(samples=2, rounds=200)
    out = tmp_path / "results"
    record = measure(provider, tasks, train, settings, out)
    assert record["judge"]["method"] == "text"
    assert server.judgments() == 6 * 2 * 2 == record["counts"]["judgments"]
    # Humor shown first: 3 pairs x 2 samples unparsable, counted and left out of the fit.
    assert record["counts"]["unparsable"] == 6 and record["counts"]["parsed"] == 18
    assert record["order"] == list(TASKS)  # the judge followed the declared order
    assert record["kendall_tau_vs_declared"]["tau"] == pytest.approx(1.0)
    assert record["order_consistency"]["share"] == 1.0
    assert record["scores"]["ag_news"]["score"] == 0.0
    assert record["scores"]["humor"]["score"] == 1.0
    sent = [e.body for e in server.log if e.path == "/v1/chat/completions"]
    assert {b["temperature"] for b in sent} == {0.0}
    assert all("clear, identifiable features" in b["messages"][-1]["content"] for b in sent)
    [(path, stored)] = read_records(out)
    assert stored["schema"] == "synthbench.subjectivity/1" and path.name.startswith("openai")
    assert "4tasks" in path.name
    # Same command again: everything from the stored record, nothing asked.
    again = measure(provider, tasks, train, settings, out)
    assert server.judgments() == 24 and again["run"]["reused"] == 24
    assert again["scores"] == record["scores"]
    # Another results folder, no record: the request cache answers, still no call.
    cached = measure(provider, tasks, train, settings, tmp_path / "elsewhere")
    assert server.judgments() == 24 and cached["scores"] == record["scores"]
    provider.close()


def test_a_task_added_later_is_judged_only_against_the_scored_ones(
        openai_judge: Callable[..., tuple[Any, JudgeServer]],
        li_tasks: tuple[list[Task], dict[str, Any]], tmp_path: Path) -> None:
    tasks, train = li_tasks
    provider, server = openai_judge(declared_judge(tasks))
    settings = ProtocolSettings(samples=2, rounds=100)
    out = tmp_path / "results"
    measure(provider, tasks[:3], train, settings, out)
    assert server.judgments() == 3 * 2 * 2
    record = measure(provider, tasks, train, settings, out)
    assert server.judgments() == 12 + 3 * 2 * 2  # only humor against the three scored tasks
    asked = [names_shown(e.body["messages"][-1]["content"]) for e in server.log[12:]]
    assert all("Humor detection in short texts (ColBERT)" in pair for pair in asked)
    assert record["run"]["reused"] == 12 and len(read_records(out)) == 2
    provider.close()


def test_a_first_position_judge_is_reported_as_biased_and_inconsistent(
        openai_judge: Callable[..., tuple[Any, JudgeServer]],
        li_tasks: tuple[list[Task], dict[str, Any]], tmp_path: Path) -> None:
    tasks, train = li_tasks
    provider, _ = openai_judge(lambda prompt: "A")
    record = measure(provider, tasks, train, ProtocolSettings(samples=2, rounds=100))
    assert record["position_bias"]["first_share"] == 1.0
    assert record["order_consistency"]["share"] == 0.0
    assert all(s["wins"] * 2 == s["judged"] for s in record["scores"].values())
    provider.close()


def test_task_cards_show_labels_and_seeded_examples_per_sample(
        li_tasks: tuple[list[Task], dict[str, Any]]) -> None:
    tasks, train = li_tasks
    settings = ProtocolSettings()
    card = task_card(tasks[0], train["ag_news"], settings, 0)
    assert card == task_card(tasks[0], train["ag_news"], settings, 0)
    assert card != task_card(tasks[0], train["ag_news"], settings, 1)
    assert all(f"- {label.name}: {label.description}" in card for label in tasks[0].labels)
    assert card.count("\n- [") == 2 * len(tasks[0].labels)
    messages = pair_messages(card, "other")
    assert messages[-1].content.index("Task A") < messages[-1].content.index("Task B")


# -- log-probabilities of the embedded model ----------------------------------------------

def test_local_judge_reads_log_probabilities_and_a_rerun_makes_no_model_call(
        plugins: Plugins, li_tasks: tuple[list[Task], dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench.models import resolve_model

    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    tasks, train = li_tasks
    provider = resolve_model(plugins, "local", CallContext.from_environ(os.environ))
    settings = ProtocolSettings(samples=1, examples_per_label=1, example_words=15, rounds=50)
    record = measure(provider, tasks[:3], train, settings)
    assert record["judge"]["method"] == "logprobs" and record["run"]["called"] == 6
    assert record["counts"]["parsed"] == 6
    for judgment in record["judgments"]:
        a, b = judgment["logprobs"]
        assert a < 0 and b < 0 and 0 < judgment["p_first"] < 1
        assert judgment["answer"] == ("A" if a > b else "B")

    def no_model(*args: object) -> list[float]:
        raise AssertionError("the model was called on a re-run")

    monkeypatch.setattr(provider, "score_continuations", no_model)
    again = measure(provider, tasks[:3], train, settings)
    assert again["run"]["called"] == 0 and again["run"]["cached"] == 6
    assert again["judgments"] == record["judgments"]
    provider.close()


# -- CLI, list tasks and the leaderboard --------------------------------------------------

def fake_record(out: Path, tasks: list[Task]) -> dict[str, Any]:
    """A stored record from the protocol with a scripted mock judge."""
    from synthbench.testing import MockProvider

    train = {t.id: [Example(f"{t.id} text {i}", label.name) for label in t.labels
                    for i in range(3)] for t in tasks}
    provider = MockProvider("judge", script=["A", "B", "B", "A", "A", "maybe"])
    return measure(provider, tasks, train, ProtocolSettings(samples=1, rounds=50), out)


def test_cli_measures_and_list_tasks_shows_measured_next_to_declared(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    out = tmp_path / "results"
    assert main(["list", "tasks", "--results", str(out)]) == 0
    plain = capsys.readouterr().out
    assert "measured" not in plain
    code = main(["subjectivity", "--judge", "mock/judge", "--task", "ag_news,imdb,humor",
                 "--samples", "2", "--rounds", "50", "--data-dir", str(shared_data),
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "position bias" in printed and "order consistency" in printed
    assert "12 judgment(s) asked" in printed
    assert main(["list", "tasks", "--results", str(out)]) == 0
    listed = capsys.readouterr().out
    assert "measured [95% CI]" in listed and "mock/judge (p1)" in listed
    ag_news = next(line for line in listed.splitlines() if line.startswith("ag_news"))
    assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", ag_news)
    assert main(["subjectivity", "--judge", "mock/judge", "--task", "ag_news,nope",
                 "--data-dir", str(shared_data), "--out", str(out)]) == 1
    assert "unknown task(s) nope" in capsys.readouterr().err


def test_leaderboard_adds_measured_correlations_only_when_a_record_exists(
        plugins: Plugins, tmp_path: Path) -> None:
    results = REPO / "leaderboard" / "results"
    board_dir = tmp_path / "board"
    rebuild(results, board_dir)
    for name in ("leaderboard.json", "leaderboard.md"):
        assert (board_dir / name).read_text() == (REPO / "leaderboard" / name).read_text()
    records = [r for _, r in iter_results(results)]
    task_ids = sorted({r.config.task for r in records})
    out = tmp_path / "results"
    fake_record(out, [plugins.tasks.get(t) for t in task_ids])
    measured = measured_subjectivity(out, task_ids)
    assert measured is not None and measured["judge"] == "mock/judge"
    board = build(records, measured=measured)
    plain = build(records)
    assert board["measured_subjectivity"]["judge"] == "mock/judge"
    for row, base in zip(board["rows"], plain["rows"], strict=True):
        assert {k: v for k, v in row.items() if not k.startswith("measured_")} == base
        assert {"measured_spearman_rho", "measured_spearman_ci",
                "measured_kendall_tau"} <= set(row)
    assert all(t["measured_subjectivity"] == measured["scores"][t["id"]]
               for t in board["tasks"])
    json.dumps(board)
    from synthbench.leaderboard import to_markdown

    text = to_markdown(board)
    assert "ρ measured [95% CI]" in text and "`mock/judge`" in text
    assert measured["warnings"] == [] and "failed its diagnostics" not in text


class BiasedScorer:
    """A scoring judge whose logit P("A") is a fixed bias plus the BT difference of the two
    tasks shown: it answers "A" every time, yet its log-probabilities carry the order."""

    def __init__(self, strength: dict[str, float], bias: float = 3.0) -> None:
        self.strength, self.bias, self.calls = strength, bias, 0

    @property
    def model_id(self) -> str:
        return "mock/biased-scorer"

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"logprobs"})

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id}

    def complete(self, requests: Any) -> Any:
        raise AssertionError("a scoring judge is not asked for text")

    def score_continuations(self, messages: Any, continuations: Any) -> list[float]:
        self.calls += 1
        a, b = names_shown(messages[-1].content)
        return [self.bias + self.strength[a] - self.strength[b], 0.0]


def test_couple_reading_cancels_a_constant_position_bias_of_a_scoring_judge(
        li_tasks: tuple[list[Task], dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    tasks, train = li_tasks
    strength = {t.name: -2.0 * t.subjectivity.score for t in tasks}  # declared order
    judge = BiasedScorer(strength)
    record = measure(judge, tasks, train, ProtocolSettings(samples=2, rounds=100))
    assert record["judge"]["method"] == "logprobs" and judge.calls == 24
    assert record["position_bias"]["first_share"] == 1.0  # the primary reading sees only "A"
    assert len(set(s["score"] for s in record["scores"].values())) == 1
    debiased = record["couple_debiased"]
    assert debiased["couples"] == 12 and debiased["order"] == list(TASKS)
    assert debiased["kendall_tau_vs_declared"]["tau"] == pytest.approx(1.0)
    out = tmp_path / "results"
    measure(judge, tasks, train, ProtocolSettings(samples=2, rounds=100), out)
    assert judge.calls == 24  # scored answers come from the request cache
    shown = measured_subjectivity(out, [t.id for t in tasks])  # the leaderboard's reading
    assert shown is not None and shown["fit"] == "position-debiased couples"
    assert sorted(shown["scores"], key=lambda t: (shown["scores"][t], t)) == list(TASKS)
    assert shown["kendall_tau"] == pytest.approx(1.0)
    assert shown["warnings"] == ["it chose the task shown first in 100% of 24 judgments",
                                 "its verdict survived swapping the two cards in 0% of 12 "
                                 "pairs (chance: 50%)"]
    from synthbench.leaderboard import measured_section

    section = "\n".join(measured_section({"measured_subjectivity": shown}))
    assert "This judge failed its diagnostics:** it chose the task shown first" in section


def test_one_verdict_per_pair_still_gets_an_interval_of_real_width() -> None:
    items = ["a", "b", "c", "d"]
    strength = {"a": 3, "b": 2, "c": 1, "d": 0}
    verdicts = [bt.Verdict(x, y, x if strength[x] > strength[y] else y)
                for i, x in enumerate(items) for y in items[i + 1:]]
    verdicts[0] = bt.Verdict("a", "b", "b")  # one upset, so the data are not all one way
    fitted = bt.fit(items, verdicts, rounds=200)
    widths = [high - low for low, high in fitted.intervals.values()]
    assert max(widths) > 0.2  # within-pair resampling would redraw the one verdict: width 0
