"""Test rows that also occur in train (audited at data load, left out of scoring unless kept),
and the train-copy metric of a cell: planted copies found, near-misses not, stored records
unchanged. Real task data and the real embedder, where a threshold decides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthbench import overlap
from synthbench.cli import main
from synthbench.data import TaskData, load_task_data
from synthbench.embeddings import default_embedder
from synthbench.metrics.copies import copies_of_prompt, copies_of_train
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, CellRecord
from synthbench.run.copies import stored_copies
from synthbench.store import cell_dir, config_hash, read_examples
from synthbench.testing import MockProvider
from synthbench.types import GenerationContext
from synthbench_generators import FewShot

REPO = Path(__file__).resolve().parents[1]
CELLS = REPO / "leaderboard" / "results" / "cells"
HOSTILE = ["", " ", "nan", "NaN", "None", "x" * 200_000, "<script>alert(1)</script>",
           "\u0000\u200b", "😊", "[[" * 1000]


def test_the_audit_finds_planted_duplicates_and_not_near_misses() -> None:
    train = ["What is the capital of Peru?", "Who wrote Hamlet", ":)", "ok", "naïve café"]
    test = ["  what is the CAPITAL of peru ?? ", "Who wrote Hamlet", "Who wrote Macbeth",
            "What is the capital of Peru today?", ":)", "😊", "ok!", "naive cafe", "Ok.."]
    found = overlap.test_overlap(train, test)
    assert found.test_rows == (0, 1, 4, 6, 8)
    assert found.duplicates == 5 and found.n_test == 9
    record = found.to_json(excluded=True)
    assert record["n_test_before"] == 9 and record["n_test_after"] == 4
    assert record["examples"][0] == test[0] and "casefold" in record["normalisation"]
    assert found.to_json(excluded=False)["n_test_after"] == 9


def test_hostile_texts_do_not_break_the_audit() -> None:
    found = overlap.test_overlap(HOSTILE, HOSTILE)
    assert found.n_test == len(HOSTILE)
    assert 0 not in found.test_rows and 1 not in found.test_rows  # blank texts match nothing
    assert 5 in found.test_rows and 6 in found.test_rows
    assert overlap.test_overlap([], HOSTILE).duplicates == 0
    assert overlap.test_overlap(HOSTILE, []).duplicates == 0


@pytest.fixture(scope="module")
def trec(plugins: Plugins, shared_data: Path) -> TaskData:
    return load_task_data(plugins.tasks.get("trec"), shared_data)


def test_the_cleaned_test_split_leaves_out_the_overlap_of_real_trec(trec: TaskData) -> None:
    audit = overlap.audit(trec)
    assert (audit.n_train, audit.n_test, audit.duplicates) == (5452, 500, 11)
    cleaned = overlap.without_test_overlap(trec)
    train = {overlap.match_key(e.text) for e in trec.train}
    assert len(cleaned.test) == 489 and cleaned.train == trec.train
    assert not any(overlap.match_key(e.text) in train for e in cleaned.test)
    assert cleaned.fingerprint != trec.fingerprint, "scores on another test split"
    assert overlap.evaluation_data(trec, keep_test_overlap=True) is trec
    assert overlap.evaluation_data(trec, keep_test_overlap=False).test == cleaned.test
    none = TaskData(trec.train[:5], trec.test[:3], trec.source, trec.reports, "fp")
    assert overlap.without_test_overlap(none) is none


def test_keeping_the_overlap_is_hashed_only_when_asked(tmp_path: Path) -> None:
    plain = CellConfig(model="mock/x", task="trec", generator="zero_shot",
                       generator_params={}, n=10, seed=0, classifiers=("tfidf_lr",))
    kept = CellConfig(**{**plain.__dict__, "keep_test_overlap": True})
    assert "keep_test_overlap" not in plain.to_record()
    assert kept.to_record()["keep_test_overlap"] is True
    assert config_hash(plain) != config_hash(kept)
    assert CellConfig.from_record(kept.to_record()) == kept
    assert CellConfig.from_record(plain.to_record()) == plain
    assert cell_dir(tmp_path, kept, "k" * 12) != cell_dir(tmp_path, plain, "k" * 12)


def test_every_committed_config_keeps_its_hash() -> None:
    for path in sorted(CELLS.glob("*/result.json"))[:40]:
        stored = json.loads(path.read_text())
        config = CellConfig.from_record(stored["config"])
        assert config_hash(config) == stored["config_hash"], path.parent.name


def test_list_tasks_audit_prints_the_counts(shared_data: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "tasks", "--audit", "--data-dir", str(shared_data)]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    assert lines["trec"][-4:] == ["5452", "500", "11", "(2.2%)"]
    assert lines["reddit_emotion"][-2] == "22" and lines["imdb"][-2] == "5"


def test_list_tasks_audit_without_data_is_one_line(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHBENCH_DATA_DIR", raising=False)
    assert main(["list", "tasks", "--audit"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data-dir" in err


def _near_and_miss(text: str) -> tuple[str, str]:
    words = text.split()
    return (" ".join(words[:-1]) + " , truly",
            " ".join(words[: len(words) // 2]) + " but the rest of the picture is a dull mess")


def test_train_copies_finds_planted_copies_and_not_near_misses(shared_data: Path,
                                                               plugins: Plugins) -> None:
    data = load_task_data(plugins.tasks.get("sst2"), shared_data)
    train = [e.text for e in data.train[:300]]
    long = [t for t in train if len(t.split()) > 15][:3]
    near, miss = zip(*map(_near_and_miss, long), strict=True)
    texts = [long[0].upper() + " !!", *near, *miss, *HOSTILE]
    embedder = default_embedder()
    found = copies_of_train(texts, embedder.encode(texts), train, embedder.encode(train), 0.95)
    assert (found["exact"], found["near"], found["n"]) == (1, 3, len(texts))
    assert found["share"] == pytest.approx(4 / len(texts))
    kinds = {p["synthetic"]: p for p in found["pairs"]}
    assert set(kinds) == {0, 1, 2, 3}, "the half-shared near-misses are not copies"
    assert kinds[0]["kind"] == "exact" and kinds[0]["train_text"] == long[0]
    assert all(kinds[i]["kind"] == "near" and kinds[i]["cosine"] >= 0.95 for i in (1, 2, 3))
    assert copies_of_train(texts, embedder.encode(texts), train, embedder.encode(train), 0.95,
                           shown=2)["pairs"] == found["pairs"][:2]


def test_prompt_copies_count_only_a_text_s_own_prompt() -> None:
    texts = ["alpha beta gamma", "delta epsilon", "zeta eta theta"]
    vectors = np.eye(3, dtype=np.float32)
    quoted = [["Alpha, beta gamma!"], ["alpha beta gamma"], []]
    quoted_vectors = [np.eye(3, dtype=np.float32)[[0]], np.eye(3, dtype=np.float32)[[0]],
                      np.zeros((0, 3), np.float32)]
    found = copies_of_prompt(texts, vectors, quoted, quoted_vectors, 0.95)
    assert (found["exact"], found["near"], found["copies"]) == (1, 0, 1)
    assert found["pairs"][0]["synthetic"] == 0 and found["pairs"][0]["quoted"] == 0
    with pytest.raises(ValueError):
        copies_of_prompt(texts, vectors, quoted[:2], quoted_vectors, 0.95)


def test_few_shot_replays_the_examples_its_prompts_quoted(plugins: Plugins,
                                                          trec: TaskData) -> None:
    task = plugins.tasks.get("trec")
    script = ["A fine question about some city here", "I'm sorry, but I can't help with that.",
              "", "Another plain question about people", "ok"]
    provider = MockProvider("fs", script)
    quota = {name: 2 for name in task.label_names}
    ctx = GenerationContext(task=task, provider=provider, train=trec.train, per_label=quota,
                            seed=4)
    generator = FewShot(k=3, retry_budget=0.5)
    outcome = generator.generate(ctx)
    assert outcome.counts.requests_sent > sum(quota.values()), "some requests were retried"
    replayed = generator.prompt_examples(ctx, {e.meta["request"] for e in outcome.examples})
    assert len(replayed) == outcome.counts.requests_sent == len(provider.requests)
    for request, shown in zip(provider.requests, replayed, strict=True):
        prompt = request.messages[-1].content
        assert len(shown) == 3 and all(e.text.split()[0] in prompt for e in shown)
        assert all(f"Example {i}: {e.text.split()[0]}" in prompt
                   for i, e in enumerate(shown, 1))


def test_a_stored_few_shot_cell_s_copies_are_measured_without_generating(
        plugins: Plugins, shared_data: Path) -> None:
    [folder] = (f for f in CELLS.glob("relation_classification__local--qwen2.5-0.5b__few_shot__"
                                      "s0__*") if "copy_filter" not in f.name)  # uncurated
    text = (folder / "result.json").read_text()
    record = CellRecord.from_json(json.loads(text))
    assert json.dumps(record.to_json(), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n" == text
    task = plugins.tasks.get("relation_classification")
    data = load_task_data(task, shared_data)
    copies = stored_copies(plugins, record, task, data.train,
                           read_examples(folder / "synthetic.jsonl"))
    assert copies["threshold"] == record.metrics.leakage["threshold"]
    assert copies["train_split"]["exact"] == 29 and copies["train_split"]["n"] == 200
    assert copies["prompt_examples"]["exact"] == 29, "every verbatim copy is of its own prompt"
    assert len(copies["prompt_examples"]["pairs"]) == 20
    assert record.metrics.train_copies == copies, "the committed cell stores this measurement"
    again = CellRecord.from_json({**record.to_json(), "metrics": {
        **record.metrics.to_json(), "train_copies": copies}})
    assert again.metrics.train_copies == copies
    assert CellRecord.from_json(json.loads(json.dumps(again.to_json()))) == again


def test_a_cell_is_scored_without_the_overlap_unless_it_keeps_it(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    from synthbench.run import Runner, RunSettings, make_configs

    settings = RunSettings(out=tmp_path, data_dir=shared_data, progress=False)
    cells = [make_configs(plugins, models=["mock/overlap"], tasks=["trec"],
                          generators=["few_shot"], params={"k": 2}, n=12, seeds=[1],
                          classifiers=["tfidf_lr"], oracle_size=100,
                          keep_test_overlap=keep)[0] for keep in (False, True)]
    with Runner(plugins, settings) as runner:
        cleaned, whole = runner.run(cells)
        mock = runner.ws.provider("mock/overlap")
        assert isinstance(mock, MockProvider) and len(mock.requests) == 12, "texts shared"
    assert (cleaned.record.n_test, whole.record.n_test) == (489, 500)
    assert cleaned.record.data["test_overlap"]["excluded"] is True
    assert whole.record.data["test_overlap"] == {**cleaned.record.data["test_overlap"],
                                                 "excluded": False, "n_test_after": 500}
    assert cleaned.record.data["fingerprint"] == whole.record.data["fingerprint"]
    assert cleaned.folder != whole.folder and whole.folder.name.endswith("keep-test-overlap")
    copies = cleaned.record.metrics.train_copies
    assert copies is not None and copies["prompt_examples"]["n"] == 12
    assert copies["train_split"]["n"] == 12 and "prompt_note" not in copies
