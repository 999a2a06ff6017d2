"""Each stage of a cell on its own, on typed values: the mock provider for speed, real task
data, real scikit-learn, the real embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthbench.calls.backend import Price
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, ClassifierResult, CurationRecord, GenerationRecord
from synthbench.run import RunSettings, Workspace, make_configs, stages
from synthbench.testing import MockProvider
from synthbench.types import Example, Usage


@pytest.fixture
def workspace(plugins: Plugins, shared_data: Path, tmp_path: Path) -> Workspace:
    return Workspace(plugins, RunSettings(out=tmp_path, data_dir=shared_data, progress=False))


def config(plugins: Plugins, **extra: object) -> CellConfig:
    [made] = make_configs(plugins, models=["mock/stages"], tasks=["trec"],
                          generators=["zero_shot"], params={}, n=24, seeds=[3],
                          classifiers=["tfidf_lr"], oracle_size=200, **extra)  # type: ignore
    return made


def test_generate_returns_typed_texts_stores_them_and_reuses_them(
        workspace: Workspace, plugins: Plugins) -> None:
    cell = config(plugins)
    located = workspace.locate(cell)
    folder, key = located.folder, located.key
    generated = stages.generate(workspace, cell, folder, key)
    assert isinstance(generated.record, GenerationRecord)
    assert len(generated.examples) == generated.record.counts["kept"] == 24
    assert generated.record.generation_key == key
    assert generated.record.served_models == ("mock/stages",)
    assert generated.record.tokens.output_tokens > 0
    assert stages.generation_stored(folder, key)
    mock = workspace.provider("mock/stages")
    assert isinstance(mock, MockProvider)
    sent = len(mock.requests)
    again = stages.generate(workspace, cell, folder, key)
    assert len(mock.requests) == sent, "stored texts were generated again"
    assert [e.text for e in again.examples] == [e.text for e in generated.examples]
    assert again.record == generated.record


def test_curate_records_each_step_and_passes_through_without_interventions(
        workspace: Workspace, plugins: Plugins) -> None:
    plain = config(plugins)
    texts = (Example("the same text about cities", "LOC"),
             Example("the same text about cities", "LOC"),
             Example("who wrote the book", "HUM"))
    at = workspace.locate(plain)
    untouched = stages.curate(workspace, plain, texts, at.folder, at.key)
    assert untouched.examples == texts and untouched.record is None
    deduped = config(plugins, curations=[[("dedup", {})]])
    located = workspace.locate(deduped)
    folder, key = located.folder, located.key
    curated = stages.curate(workspace, deduped, texts, folder, key)
    assert isinstance(curated.record, CurationRecord)
    assert [e.text for e in curated.examples] == [texts[0].text, texts[2].text]
    assert (curated.record.n_raw, curated.record.n_curated) == (3, 2)
    assert [s["id"] for s in curated.record.steps] == ["dedup"]


def test_score_fits_on_synthetic_and_real_alike(workspace: Workspace,
                                                plugins: Plugins) -> None:
    cell = config(plugins)
    data = workspace.task_data(workspace.task("trec"))
    real = stages.real_sample(workspace.task("trec"), data, cell)
    assert len(real) == 24
    result = stages.score(workspace, "tfidf_lr", cell, real, real)
    assert isinstance(result, ClassifierResult)
    assert result.synthetic.n_train == result.real.n_train == 24
    assert result.synthetic.macro_f1 == result.real.macro_f1 and result.utility == 1.0
    one_label = [Example(f"text number {i}", "LOC") for i in range(5)]
    degenerate = stages.score(workspace, "tfidf_lr", cell, one_label, real)
    assert degenerate.synthetic.error is not None and degenerate.synthetic.macro_f1 is None
    assert degenerate.utility is None


def test_measure_gives_the_data_metrics(workspace: Workspace, plugins: Plugins) -> None:
    cell = config(plugins)
    data = workspace.eval_data(workspace.task("trec"), cell)
    real = stages.real_sample(workspace.task("trec"), data, cell)
    leaked = [Example(data.test[0].text, data.test[0].label), *real[:10]]
    located = workspace.locate(cell)
    generated = stages.generate(workspace, cell, located.texts, located.key)
    measured = stages.measure(workspace, cell, leaked, real, generated)
    assert len(data.test) == len(workspace.task_data(workspace.task("trec")).test) - 11
    assert (measured.n_synthetic, measured.n_real, measured.n_test) == (11, 24, len(data.test))
    metrics = measured.metrics
    assert 0 < (metrics.synthetic_diversity.remote_clique or 0) < 1.5
    assert metrics.leakage["share"] == pytest.approx(1 / 11)
    assert metrics.label_accuracy.value is not None and "200" in metrics.label_accuracy.oracle
    assert 0 < metrics.label_accuracy.oracle_test_macro_f1 <= 1
    assert metrics.naturalness is not None and metrics.naturalness["n_per_side"] == 11
    assert 0 <= metrics.naturalness["auc"] <= 1
    copies = metrics.train_copies
    assert copies is not None and copies["prompt_examples"] is None  # zero-shot quotes none
    assert copies["train_split"]["exact"] == 10 and copies["train_split"]["n"] == 11


def test_a_baseline_runs_once_and_is_reused(workspace: Workspace, plugins: Plugins) -> None:
    cell = config(plugins, baselines=[("llm_few_shot", {"k": 2, "n_test": 6})])
    first = stages.run_baseline(workspace, cell, "llm_few_shot", {"k": 2, "n_test": 6})
    mock = workspace.provider("mock/stages")
    assert isinstance(mock, MockProvider)
    sent = len(mock.requests)
    assert sent == 6 and first.id == "llm_few_shot" and first.params["k"] == 2
    again = stages.run_baseline(workspace, cell, "llm_few_shot", {"k": 2, "n_test": 6})
    assert again == first and len(mock.requests) == sent


def test_cost_is_the_stated_price_of_the_tokens() -> None:
    price = Price(2.0, 8.0, 1.0, "test")
    record = GenerationRecord(
        "k", {"id": "g", "params": {}}, {"price_per_million_tokens": price.as_dict(),
                                         "request_mode": "batch"}, (), {}, {},
        {"input_tokens": 1_000_000, "output_tokens": 500_000, "cached_input_tokens": 0})
    cost = stages.cost_of(record)
    assert cost.usd == pytest.approx(price.cost(Usage(1_000_000, 500_000), batch=True))
    assert cost.usd == pytest.approx((2.0 + 4.0) / 2) and cost.batch_discount is True
    unpriced = stages.cost_of(GenerationRecord("k", {}, {}, (), {}, {}, {"output_tokens": 5}))
    assert unpriced.usd is None and unpriced.output_tokens == 5


def test_n_eq_reads_the_synthetic_f1_on_a_stored_real_learning_curve(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    from synthbench.run import Runner

    settings = RunSettings(out=tmp_path, data_dir=shared_data, progress=False)
    cell = config(plugins)
    [plain] = Runner(plugins, settings).run([cell])
    assert plain.record.classifiers["tfidf_lr"].n_eq is None  # not asked for
    measuring = RunSettings(out=tmp_path, data_dir=shared_data, progress=False, n_eq=True,
                            n_eq_max=200)
    [extended] = Runner(plugins, measuring).run([cell])
    assert not extended.reused, "a stored cell without N_eq was not extended"
    result = extended.record.classifiers["tfidf_lr"]
    assert result.synthetic == plain.record.classifiers["tfidf_lr"].synthetic
    assert result.n_eq is not None and result.n_eq["n_max"] == 200
    [curve_file] = (tmp_path / "curves").iterdir()
    assert result.n_eq["curve"] == curve_file.name
    points = json.loads(curve_file.read_text())["points"]
    assert [p["n"] for p in points] == [25, 50, 100, 200]
    f1s = [p["macro_f1"] for p in points]
    f1 = result.synthetic.macro_f1
    assert f1 is not None
    if result.n_eq["bound"] == "within":
        assert 25 <= result.n_eq["n_eq"] <= 200 and min(f1s) <= f1 <= max(f1s)
    else:
        assert (f1 > max(f1s)) == (result.n_eq["bound"] == ">max")
    stamp = curve_file.stat().st_mtime_ns
    [again] = Runner(plugins, measuring).run([cell])
    assert again.reused and curve_file.stat().st_mtime_ns == stamp


def test_mix_real_fits_synthetic_plus_k_real_against_the_k_alone(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    from synthbench.leaderboard import summary_table
    from synthbench.run import Runner

    settings = RunSettings(out=tmp_path, data_dir=shared_data, progress=False, mix_real=(12,))
    [outcome] = Runner(plugins, settings).run([config(plugins)])
    result = outcome.record.classifiers["tfidf_lr"]
    assert result.mixed is not None and list(result.mixed) == ["12"]
    mixed = result.mixed["12"]
    assert mixed["mixed"]["n_train"] == outcome.record.n_synthetic + 12
    assert mixed["real_alone"]["n_train"] == 12
    assert mixed["gain"] == pytest.approx(mixed["mixed"]["macro_f1"]
                                          - mixed["real_alone"]["macro_f1"])
    assert "12: " in summary_table([outcome.record])
    more = RunSettings(out=tmp_path, data_dir=shared_data, progress=False, mix_real=(12, 30))
    [extended] = Runner(plugins, more).run([config(plugins)])
    assert not extended.reused
    assert extended.record.classifiers["tfidf_lr"].mixed is not None
    assert extended.record.classifiers["tfidf_lr"].mixed["12"] == mixed  # kept, not redone
    assert extended.record.classifiers["tfidf_lr"].mixed["30"]["real_alone"]["n_train"] == 30


def test_a_task_with_annotator_agreement_gets_accuracy_curves_over_gamma(
        workspace: Workspace, plugins: Plugins) -> None:
    [cell] = make_configs(plugins, models=["mock/stages"], tasks=["financial_phrasebank"],
                          generators=["zero_shot"], params={}, n=30, seeds=[0],
                          classifiers=["tfidf_lr"], oracle_size=200)
    task = workspace.task("financial_phrasebank")
    assert task.agreement_field == "agreement"
    real = stages.real_sample(task, workspace.task_data(task), cell)
    result = stages.score(workspace, "tfidf_lr", cell, real[:20], real)
    curve = result.agreement
    assert curve is not None and curve["proxy"] is False and curve["task"] == task.id
    assert curve["gammas"] == sorted(curve["gammas"]) and len(curve["gammas"]) >= 3
    assert len(curve["synthetic"]) == len(curve["real"]) == len(curve["gammas"])
    slopes = curve["accuracy_slope"]
    assert curve["slope_difference"] == pytest.approx(slopes["synthetic"] - slopes["real"])
    plain = stages.score(workspace, "tfidf_lr", config(plugins), real[:20], real)
    assert plain.agreement is None  # trec has no annotators
