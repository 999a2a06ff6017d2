"""Chance level, real ceiling and gap closed: the exact chance macro-F1 against enumeration,
simulation and the large-N closed form; gap closed at its anchors; and cells that store both."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from synthbench import SynthbenchError
from synthbench.metrics.headroom import chance_macro_f1, gap_closed, label_prior
from synthbench.plugins import Plugins
from synthbench.record import ClassifierResult
from synthbench.run import RunSettings, make_configs


def _enumerated(prior: dict[str, float], truth: list[str]) -> float:
    """Expected macro-F1 by summing every prediction vector's probability, via scikit-learn."""
    names = sorted(prior)
    total = 0.0
    for predicted in itertools.product(names, repeat=len(truth)):
        weight = math.prod(prior[p] for p in predicted)
        total += weight * f1_score(truth, list(predicted), labels=names, average="macro",
                                   zero_division=0)
    return total


@pytest.mark.parametrize("prior, truth", [
    ({"a": 0.7, "b": 0.3}, ["a", "a", "b"]),
    ({"a": 0.2, "b": 0.5, "c": 0.3}, ["a", "b", "b", "c", "c"]),
    ({"a": 0.5, "b": 0.5}, ["a", "a", "a", "a"]),  # a label absent from the test split scores 0
])
def test_chance_is_exact_against_enumerating_every_prediction(
        prior: dict[str, float], truth: list[str]) -> None:
    assert chance_macro_f1(prior, truth, sorted(prior)) == pytest.approx(
        _enumerated(prior, truth), abs=1e-12)


def test_chance_matches_the_large_sample_closed_form_and_a_simulation() -> None:
    truth = ["pos"] * 1200 + ["neg"] * 800
    prior = {"pos": 0.3, "neg": 0.7}
    # F1 of a blind draw tends to 2·q·p / (q + p) per label as the test split grows.
    closed = sum(2 * q * p / (q + p) for q, p in ((0.3, 0.6), (0.7, 0.4))) / 2
    exact = chance_macro_f1(prior, truth, ["neg", "pos"])
    assert exact == pytest.approx(closed, abs=2e-3)
    rng = random.Random(0)
    draws = [f1_score(truth, rng.choices(["pos", "neg"], [0.3, 0.7], k=len(truth)),
                      labels=["neg", "pos"], average="macro") for _ in range(300)]
    assert sum(draws) / len(draws) == pytest.approx(exact, abs=2e-3)


def test_uniform_prior_on_balanced_labels_is_one_over_k() -> None:
    truth = [label for label in "abcd" for _ in range(500)]
    assert chance_macro_f1({k: 0.25 for k in "abcd"}, truth, list("abcd")) == pytest.approx(
        0.25, abs=1e-3)


def test_a_prior_that_does_not_sum_to_one_is_refused() -> None:
    with pytest.raises(SynthbenchError, match="summing to 1"):
        chance_macro_f1({"a": 0.5, "b": 0.6}, ["a"], ["a", "b"])
    with pytest.raises(SynthbenchError, match="at least one"):
        label_prior(["x"], ["a", "b"])
    assert label_prior(["a", "a", "b", "x"], ["a", "b"]) == {"a": 2 / 3, "b": 1 / 3}


def test_gap_closed_is_zero_at_chance_one_at_the_ceiling_and_none_without_headroom() -> None:
    assert gap_closed(0.4, 0.4, 0.9) == 0.0
    assert gap_closed(0.9, 0.4, 0.9) == 1.0
    assert gap_closed(0.65, 0.4, 0.9) == pytest.approx(0.5)
    assert gap_closed(0.3, 0.4, 0.9) == pytest.approx(-0.2)  # below chance
    assert gap_closed(0.5, 0.5, 0.5) is None and gap_closed(0.5, 0.6, 0.55) is None
    assert gap_closed(None, 0.4, 0.9) is None and gap_closed(0.5, 0.4, math.nan) is None


def test_a_blind_predictor_closes_no_gap_on_real_test_labels(shared_data: Path) -> None:
    """Simulated blind draws from the train prior on sms_spam's test labels average a gap
    closed of about 0 against any ceiling."""
    rows = [json.loads(line) for line in (shared_data / "sms_spam" / "test.jsonl").open()]
    train = [json.loads(line) for line in (shared_data / "sms_spam" / "train.jsonl").open()]
    key = "label" if "label" in rows[0] else next(k for k in rows[0] if k != "text")
    names = sorted({str(r[key]) for r in train})
    truth = [str(r[key]) for r in rows]
    prior = label_prior([str(r[key]) for r in train], names)
    chance = chance_macro_f1(prior, truth, names)
    rng = random.Random(1)
    weights = [prior[n] for n in names]
    blind = [f1_score(truth, rng.choices(names, weights, k=len(truth)), labels=names,
                      average="macro") for _ in range(200)]
    mean_gap = sum(gap_closed(f, chance, 0.95) or 0.0 for f in blind) / len(blind)
    assert abs(mean_gap) < 0.01


def test_a_cell_stores_chance_ceiling_and_gap_and_a_stored_cell_is_extended_not_redone(
        plugins: Plugins, shared_data: Path, tmp_path: Path) -> None:
    from synthbench.run import Runner

    [cell] = make_configs(plugins, models=["mock/headroom"], tasks=["trec"],
                          generators=["zero_shot"], params={}, n=24, seeds=[3],
                          classifiers=["tfidf_lr"], oracle_size=200)
    settings = RunSettings(out=tmp_path, data_dir=shared_data, progress=False, ceiling_cap=600)
    [first] = Runner(plugins, settings).run([cell])
    result = first.record.classifiers["tfidf_lr"]
    assert result.chance_macro_f1 is not None and 0 < result.chance_macro_f1 < 0.3
    assert result.ceiling is not None and result.ceiling["n_train"] == 600
    [stored] = (tmp_path / "ceilings").iterdir()
    assert result.ceiling["file"] == stored.name
    assert json.loads(stored.read_text())["macro_f1"] == result.ceiling["macro_f1"]
    assert result.gap_closed == pytest.approx(gap_closed(
        result.synthetic.macro_f1, result.chance_macro_f1, result.ceiling["macro_f1"]))
    assert json.loads((first.folder / "result.json").read_text())["classifiers"]["tfidf_lr"][
        "gap_closed"] == result.gap_closed
    # A record written before the headroom fields: the next run adds them and nothing else.
    path = first.folder / "result.json"
    old = json.loads(path.read_text())
    for name in ("chance_macro_f1", "ceiling", "gap_closed"):
        del old["classifiers"]["tfidf_lr"][name]
    path.write_text(json.dumps(old))
    assert ClassifierResult.from_json(old["classifiers"]["tfidf_lr"]).ceiling is None
    stamp = stored.stat().st_mtime_ns
    [again] = Runner(plugins, settings).run([cell])
    assert not again.reused
    extended = again.record.classifiers["tfidf_lr"]
    assert extended.synthetic == result.synthetic and extended.gap_closed == result.gap_closed
    assert stored.stat().st_mtime_ns == stamp, "the shared ceiling was fitted again"
    [third] = Runner(plugins, settings).run([cell])
    assert third.reused


def test_extend_adds_the_headline_to_stored_cells_and_curates_their_stored_texts(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``synthbench extend`` gives a cell stored without chance and ceiling both, generating
    nothing (its texts stay byte for byte); ``--intervention`` adds a curated variant made
    from the stored texts; a folder without cells is one line."""
    from synthbench.cli import main

    out = tmp_path / "results"
    assert main(["run", "--model", "mock/extend", "--task", "trec", "--n", "24",
                 "--classifier", "tfidf_lr", "--oracle-size", "200", "--out", str(out),
                 "--data-dir", str(shared_data), "--no-progress"]) == 0
    [folder] = (out / "cells").iterdir()
    path = folder / "result.json"
    old = json.loads(path.read_text())
    for name in ("chance_macro_f1", "ceiling", "gap_closed"):
        del old["classifiers"]["tfidf_lr"][name]
    path.write_text(json.dumps(old))
    texts = (folder / "synthetic.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["extend", "--results", str(out), "--data-dir", str(shared_data),
                 "--ceiling-cap", "300"]) == 0
    assert "1 of 1 cell(s) extended" in capsys.readouterr().out
    scores = json.loads(path.read_text())["classifiers"]["tfidf_lr"]
    assert scores["ceiling"]["n_train"] == 300 and scores["gap_closed"] is not None
    assert scores["synthetic"] == old["classifiers"]["tfidf_lr"]["synthetic"]
    assert (folder / "synthetic.jsonl").read_bytes() == texts
    assert main(["extend", "--results", str(out), "--data-dir", str(shared_data),
                 "--ceiling-cap", "300", "--intervention", "dedup"]) == 0
    curated = [p for p in (out / "cells").iterdir() if p != folder]
    assert len(curated) == 1 and "dedup" in curated[0].name
    assert (curated[0] / "curated.jsonl").exists() and (folder / "synthetic.jsonl").read_bytes() \
        == texts
    capsys.readouterr()
    assert main(["extend", "--results", str(tmp_path / "nothing"),
                 "--data-dir", str(shared_data)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no cells/ folder" in err[0]
