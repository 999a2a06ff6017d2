"""Interventions: dedup, label_replacement, oos_filter on real data, real MiniLM embeddings and
real sklearn; the pipeline, store keys, CLI and leaderboard labels on the mock provider; the
LLM judge on the real embedded model."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from synthbench.cli import main
from synthbench.data import TaskData, load_task_data
from synthbench.defaults import ORACLE
from synthbench.embeddings import default_embedder
from synthbench.errors import SynthbenchError
from synthbench.leaderboard import generator_labels
from synthbench.plugins import Plugins
from synthbench.record import CellConfig
from synthbench.run import Runner, RunSettings, make_configs
from synthbench.run.grid import curation_grid
from synthbench.store import CURATED, CURATION, GENERATION, SYNTHETIC, config_hash
from synthbench.testing import MockProvider
from synthbench.types import (
    Completion,
    Example,
    GenerationRequest,
    InterventionContext,
    Provider,
    Usage,
)
from synthbench_interventions import Dedup, LabelReplacement, OosFilter
from synthbench_interventions.dedup import normalise
from synthbench_interventions.oos_filter import parse_verdict


@pytest.fixture(scope="module")
def sst2(sst2_data: TaskData) -> TaskData:
    return sst2_data


@pytest.fixture(scope="module")
def oracle(plugins: Plugins, sst2: TaskData) -> Any:
    """The runner's oracle recipe (minilm_lr on real training data), on 400 rows for speed."""
    rows = random.Random(0).sample(list(sst2.train), 400)
    model = plugins.classifiers.get(ORACLE).factory(0)
    return model.fit([e.text for e in rows], [e.label for e in rows])


def context(plugins: Plugins, sst2: TaskData, oracle: Any = None,
            provider: Provider | None = None, seed: int = 0) -> InterventionContext:
    def no_provider() -> Provider:
        raise AssertionError("this intervention must not call the provider")

    return InterventionContext(
        task=plugins.tasks.get("sst2"), train=sst2.train, seed=seed,
        oracle=lambda: oracle, embedder=default_embedder,
        provider=(lambda: provider) if provider is not None else no_provider)


def test_interventions_are_registered_and_listed(plugins: Plugins,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert plugins.interventions.ids() == ["copy_filter", "dedup", "label_replacement",
                                           "language_check", "oos_filter", "prompt_echo",
                                           "refusal_filter"]
    assert plugins.interventions.origin("dedup").name == "interventions"
    assert main(["list", "interventions"]) == 0
    out = capsys.readouterr().out
    assert "label_replacement" in out and "k=all" in out and "tau=0.95" in out


def test_dedup_drops_exact_and_near_duplicates_and_keeps_the_pairs(
        plugins: Plugins, sst2: TaskData) -> None:
    texts = [e.text for e in sst2.test[:30]]
    examples = [Example(t, "positive") for t in texts]
    examples.append(Example(texts[3].upper() + " !!", "negative"))  # exact after normalising
    examples.append(Example(texts[7] + " indeed", "positive"))  # near duplicate
    examples.append(Example("  " + texts[3] + "  ", "positive"))  # exact again
    outcome = Dedup(tau=0.9).apply(examples, context(plugins, sst2))
    report = outcome.report

    assert [e.text for e in outcome.examples] == texts  # first occurrences, in order
    assert report["exact_duplicates"] == 2 and report["near_duplicates"] == 1
    assert report["n_in"] == 33 and report["n_out"] == 30
    assert report["exact_rate"] == pytest.approx(2 / 33)
    pairs = {p["dropped"]: p for p in report["pairs"]}
    assert pairs[30]["kept"] == 3 and pairs[30]["kind"] == "exact"
    assert pairs[30]["kept_label"] == "positive" and pairs[30]["dropped_label"] == "negative"
    assert pairs[32]["kept"] == 3
    assert pairs[31]["kept"] == 7 and pairs[31]["kind"] == "near"
    assert 0.9 <= pairs[31]["cosine"] < 1.0
    assert pairs[31]["dropped_text"] == texts[7] + " indeed"
    assert report["cross_label_pairs"] == 1


def test_dedup_threshold_and_switches(plugins: Plugins, sst2: TaskData) -> None:
    texts = [e.text for e in sst2.test[:20]]
    examples = [Example(t, "positive") for t in [*texts, texts[0] + " indeed", texts[1]]]
    ctx = context(plugins, sst2)
    assert len(Dedup(tau=1.0).apply(examples, ctx).examples) == 21  # only the exact copy
    assert len(Dedup(near=False).apply(examples, ctx).examples) == 21
    assert len(Dedup(exact=False, near=False).apply(examples, ctx).examples) == 22
    loose = Dedup(tau=0.2).apply(examples, ctx)  # unrelated reviews match too
    assert loose.report["near_duplicates"] > 1
    assert normalise("It's  GREAT!") == normalise("it s great")
    with pytest.raises(ValueError):
        Dedup(tau=1.5)


def test_label_replacement_with_the_oracle_changes_labels_not_texts(
        plugins: Plugins, sst2: TaskData, oracle: Any) -> None:
    rows = list(sst2.test[:60])
    flipped = [Example(e.text, "negative" if i % 2 else e.label, {"request": i})
               for i, e in enumerate(rows)]
    outcome = LabelReplacement(k="all").apply(flipped, context(plugins, sst2, oracle))
    predicted = list(oracle.predict([e.text for e in rows]))

    assert [e.text for e in outcome.examples] == [e.text for e in rows]
    assert [e.label for e in outcome.examples] == predicted
    changed = sum(p != e.label for p, e in zip(predicted, flipped, strict=True))
    assert changed > 0 and outcome.report["changed"] == changed
    assert outcome.report["mode"] == "oracle"
    assert all(e.meta["intended_label"] == f.label and e.meta["request"] == f.meta["request"]
               for e, f in zip(outcome.examples, flipped, strict=True))
    truth = [e.label for e in rows]
    before = sum(a == b for a, b in zip(truth, [e.label for e in flipped], strict=True))
    after = sum(a == b for a, b in zip(truth, predicted, strict=True))
    assert after > before  # the oracle undoes most of the flips


def test_label_replacement_with_proxies_inspects_k_items(
        plugins: Plugins, sst2: TaskData, oracle: Any) -> None:
    rows = list(sst2.test[:120])
    noisy = [Example(e.text, "positive") for e in rows]  # every text claims "positive"
    ctx = context(plugins, sst2, oracle)
    small = LabelReplacement(k=30).apply(noisy, ctx)
    large = LabelReplacement(k=60).apply(noisy, ctx)
    oracle_labels = list(oracle.predict([e.text for e in rows]))

    for outcome, k in ((small, 30), (large, 60)):
        report = outcome.report
        assert report["mode"] == "proxy" and report["n_inspected"] == k
        assert [e.text for e in outcome.examples] == [e.text for e in rows]
        for i in report["inspected"]:
            assert outcome.examples[i].label == oracle_labels[i]
            assert outcome.examples[i].meta["label_source"] == "inspected"
        assert 0.5 < report["proxy_agreement_with_oracle"] <= 1.0
        assert report["changed"] == sum(e.label == "negative" for e in outcome.examples) > 0
    assert set(small.report["inspected"]) < set(large.report["inspected"])  # nested sweep

    only_specified = LabelReplacement(k=30, weight_specified=1.0).apply(noisy, ctx)
    rest = set(range(120)) - set(only_specified.report["inspected"])
    assert all(only_specified.examples[i].label == "positive" for i in rest)
    with pytest.raises(ValueError):
        LabelReplacement(k=0)


class ScopeJudge:
    """A fake judge that knows which texts are out of scope: it answers "no" for texts of
    the ``outside`` set, "yes" for the others, and an unparsable reply for every 7th."""

    def __init__(self, outside: set[str]) -> None:
        self.outside = outside
        self.requests: list[GenerationRequest] = []

    model_id = "mock/judge"
    capabilities = frozenset({"seed"})

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id}

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for request in requests:
            self.requests.append(request)
            prompt = request.messages[-1].content
            inside = not any(text[:80] in prompt for text in self.outside)
            reply = "hmm" if len(self.requests) % 7 == 0 else ("Yes." if inside else "No")
            out.append(Completion(reply, self.model_id, Usage(len(prompt.split()), 1)))
        return out


def test_oos_filter_trains_on_judged_texts_and_removes_out_of_scope(
        plugins: Plugins, sst2: TaskData, shared_data: Path) -> None:
    news = load_task_data(plugins.tasks.get("ag_news"), shared_data).test[:40]
    reviews = list(sst2.test[:80])
    mixed = [Example(e.text, "positive") for e in reviews] + \
        [Example(e.text, "negative") for e in news]
    random.Random(1).shuffle(mixed)
    judge = ScopeJudge({e.text for e in news})
    outcome = OosFilter(n_judged=30).apply(mixed, context(plugins, sst2, provider=judge))
    report = outcome.report

    assert len(judge.requests) == 30 and all(r.temperature == 0 for r in judge.requests)
    verdicts = report["verdicts"]
    assert sum(verdicts.values()) == 30 and verdicts["unparsable"] == 4
    assert report["unparsable_replies"] == ["hmm"] * 4
    assert report["classifier_trained"]
    assert report["n_out"] + report["removed"] == 120 == report["n_in"]
    kept = {e.text for e in outcome.examples}
    news_left = sum(e.text in kept for e in news)
    reviews_left = sum(e.text in kept for e in reviews)
    assert news_left <= 4 and reviews_left >= 72  # the classifier generalises
    assert report["removed_by"]["classifier"] > 0
    assert "{text}" in report["judge_prompt"][1]["content"]


def test_oos_filter_without_two_classes_trains_nothing(plugins: Plugins, sst2: TaskData) -> None:
    examples = [Example(e.text, e.label) for e in sst2.test[:20]]
    for script, verdicts, removed in ((["Yes, it is.", "???"], (3, 0, 3), 0),
                                      (["No.", "maybe"], (0, 3, 3), 3)):
        judge = MockProvider("judge", script=script)
        outcome = OosFilter(n_judged=6).apply(examples, context(plugins, sst2, provider=judge))
        assert not outcome.report["classifier_trained"] and outcome.report["note"]
        assert tuple(outcome.report["verdicts"].values()) == verdicts
        assert outcome.report["removed"] == removed == 20 - len(outcome.examples)
        assert outcome.report["removed_by"] == {"judge": removed, "classifier": 0}
    assert parse_verdict("No, it is not.") is False and parse_verdict("Yes") is True
    assert parse_verdict("nobody knows") is None


def test_oos_filter_with_the_real_local_model_as_judge(plugins: Plugins, sst2: TaskData,
                                                       shared_data: Path) -> None:
    from synthbench_local.provider import TransformersProvider

    local = TransformersProvider.embedded(batch_size=4)
    news = load_task_data(plugins.tasks.get("ag_news"), shared_data).test[:4]
    examples = [Example(e.text, "positive") for e in sst2.test[:4]] + \
        [Example(e.text, "negative") for e in news]
    outcome = OosFilter(n_judged=4, max_tokens=2).apply(
        examples, context(plugins, sst2, provider=local))
    report = outcome.report
    assert report["judge"] == "local/smollm2-135m-instruct" and report["n_judged"] == 4
    assert sum(report["verdicts"].values()) == 4
    assert report["n_out"] == len(outcome.examples) == 8 - report["removed"]
    assert 0 < outcome.usage.output_tokens <= 8


def test_curation_parsing_sweeps_and_rejects_bad_input() -> None:
    assert curation_grid(None, []) == [[]]
    assert curation_grid(["none", "dedup,label_replacement"], ["label_replacement.k=90,180,all"]) \
        == [[], [("dedup", {}), ("label_replacement", {"k": 90})],
            [("dedup", {}), ("label_replacement", {"k": 180})],
            [("dedup", {}), ("label_replacement", {"k": "all"})]]
    with pytest.raises(SynthbenchError, match=r"not STEP\.KEY=VALUE"):
        curation_grid(["dedup"], ["tau=0.9"])
    with pytest.raises(SynthbenchError, match="not in --intervention"):
        curation_grid(["dedup"], ["oos_filter.n_judged=3"])


def test_bad_intervention_options_fail_as_one_line(shared_data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "--model", "mock/a", "--task", "sst2", "--out", str(tmp_path),
            "--data-dir", str(shared_data)]
    for extra, message in ((["--intervention", "dedupe"], "unknown intervention 'dedupe'"),
                           (["--intervention", "label_replacement", "-I",
                             "label_replacement.k=-3"], "rejects its parameters"),
                           (["--intervention", "dedup", "-I", "dedup.colour=1"],
                            "rejects its parameters"),
                           (["-B", "k=3"], "no --baseline")):
        assert main(base + extra) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cells").exists() or not any((tmp_path / "cells").iterdir())


def test_curated_variants_reuse_the_generation_and_store_their_reports(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    runner = Runner(plugins, RunSettings(out=tmp_path, data_dir=shared_data, progress=False))
    common: dict[str, Any] = dict(models=["mock/a"], tasks=["trec"], generators=["zero_shot"],
                                  params={}, n=40, seeds=[0], classifiers=["tfidf_lr"],
                                  oracle_size=400)
    plain = make_configs(plugins, **common)
    curated = make_configs(plugins, **common, curations=[
        [("dedup", {}), ("label_replacement", {"k": k})] for k in (10, "all")])
    assert "interventions" not in plain[0].to_record()
    assert config_hash(plain[0]) == config_hash(CellConfig(**{
        **plain[0].__dict__, "interventions": ()}))
    assert curated[0].interventions[1] == ("label_replacement",
                                           {"k": 10, "weight_specified": 0.3, "C": 1.0})

    first = runner.run(plain)[0]
    mock = runner.ws.provider("mock/a")
    assert isinstance(mock, MockProvider)
    sent = len(mock.requests)
    outcomes = runner.run(curated)
    assert len(mock.requests) == sent  # the curated variants did not generate again
    folders = {first.folder, *(o.folder for o in outcomes)}
    assert len(folders) == 3
    for outcome in outcomes:
        assert outcome.record.curation is not None
        assert outcome.record.curation.n_raw == first.record.n_synthetic
        record = outcome.record.to_json()
        assert record["generation_key"] == first.record.generation_key
        assert not (outcome.folder / SYNTHETIC).exists()
        assert not (outcome.folder / GENERATION).exists()
        steps = record["interventions"]["steps"]
        assert [s["id"] for s in steps] == ["dedup", "label_replacement"]
        assert steps[0]["n_out"] == steps[1]["n_in"]
        assert record["n_raw_synthetic"] == first.record.n_synthetic
        assert record["n_synthetic"] == record["interventions"]["n_curated"]
        curated_rows = (outcome.folder / CURATED).read_text().splitlines()
        assert len(curated_rows) == record["n_synthetic"]
        assert json.loads((outcome.folder / CURATION).read_text()) == record["interventions"]
    assert outcomes[1].record.metrics.label_accuracy.value == 1.0  # oracle relabelled

    again = runner.run(curated)
    assert all(o.reused for o in again) and len(mock.requests) == sent
    labels = generator_labels([r.config.to_record()
                               for r in (first.record, *(o.record for o in outcomes))])
    assert sorted(labels.values()) == ["zero_shot", "zero_shot+dedup+label_replacement[k=10]",
                                       "zero_shot+dedup+label_replacement[k=all]"]
