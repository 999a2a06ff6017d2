"""`synthbench export` on committed leaderboard cells: read back with `datasets`, card checked
against the records, and `--push-to-hub` failing with one line offline / without a token."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from huggingface_hub import DatasetCard

from synthbench.cli import main

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "leaderboard" / "results" / "cells"
PLAIN = "ag_news__local__few_shot__s0__90d50399b926"
CURATED = "ag_news__local__zero_shot__s0__05ad3d3a2695__oos_filter-dad46f95"
PARENT = "ag_news__local__zero_shot__s0__05ad3d3a2695"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A copy of three committed cells (the committed store stays read-only)."""
    out = tmp_path / "results"
    for name in (PLAIN, CURATED, PARENT):
        shutil.copytree(COMMITTED / name, out / "cells" / name)
    return out


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _record(results: Path, name: str) -> dict[str, object]:
    return json.loads((results / "cells" / name / "result.json").read_text())  # type: ignore[no-any-return]


def test_export_reads_back_with_datasets_and_card_matches_records(
        results: Path, tmp_path: Path, shared_data: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    # figures newer records may carry (naturalness, N_eq) go into the card when present
    path = results / "cells" / CURATED / "result.json"
    extended = json.loads(path.read_text())
    extended["metrics"]["naturalness"] = {"auc": 0.42, "features": "minilm", "n_per_side": 60}
    extended["classifiers"]["tfidf_lr"]["n_eq"] = {"n_eq": 17.5, "bound": "within",
                                                   "label": "18", "f1": 0.5, "n_min": 4,
                                                   "n_max": 64}
    path.write_text(json.dumps(extended))
    code = main(["export", str(results), "--cell", PLAIN, "--cell", CURATED, "--out", str(out),
                 "--data-dir", str(shared_data)])
    assert code == 0
    assert "exported 2 cell(s), 97 texts (1 curated)" in capsys.readouterr().out
    expected = {PLAIN: _jsonl(results / "cells" / PLAIN / "synthetic.jsonl"),
                CURATED: _jsonl(results / "cells" / CURATED / "curated.jsonl")}
    assert len(expected[CURATED]) == 37  # oos_filter dropped texts: the curated set is exported
    for name, rows in expected.items():
        on_disk = datasets.load_from_disk(str(out / "arrow" / name))
        assert isinstance(on_disk, datasets.DatasetDict) and list(on_disk) == ["train"]
        parquet = datasets.load_dataset(
            "parquet", data_files={"train": str(out / "data" / name / "train.parquet")})
        for split in (on_disk["train"], parquet["train"]):
            labels = split.features["label"]
            assert labels.names == ["World", "Sports", "Business", "Sci/Tech"]
            assert split["text"] == [r["text"] for r in rows]
            assert [labels.int2str(i) for i in split["label"]] == [r["label"] for r in rows]
            assert split["request"] == [r["request"] for r in rows]
    for name, rows in expected.items():  # every stored field survives, none is invented
        split = datasets.load_from_disk(str(out / "arrow" / name))["train"]
        back = [{**json.loads(row.pop("meta")), **row, "label": r["label"]}
                for row, r in zip(split, rows, strict=True)]
        assert back == [{k: r.get(k) for k in back[0]} | r for r in rows]

    card = DatasetCard.load(out / "README.md")
    meta = card.data.to_dict()
    assert meta["task_categories"] == ["text-classification"]
    assert [c["config_name"] for c in meta["configs"]] == [PLAIN, CURATED]
    assert meta["configs"][1]["data_files"][0]["path"] == f"data/{CURATED}/train.parquet"
    cells = {c["cell"]: c for c in meta["synthbench"]["cells"]}
    licence = json.loads((shared_data / "ag_news" / "meta.json").read_text())["licence"]
    for name, rows in expected.items():
        record = _record(results, name)
        cell, config = cells[name], record["config"]
        assert isinstance(config, dict)
        assert cell["task"]["id"] == "ag_news" and cell["model"] == config["model"] == "local"
        assert cell["task"]["labels"] == ["World", "Sports", "Business", "Sci/Tech"]
        assert cell["generator"] == {"id": config["generator"],
                                     "params": config["generator_params"]}
        assert (cell["n"], cell["seed"], cell["rows"]) == (config["n"], config["seed"], len(rows))
        assert cell["real_data"]["licence"] == licence
        figures = cell["figures"]
        classifiers = record["classifiers"]
        assert isinstance(classifiers, dict)
        assert {k: v["utility"] for k, v in figures["classifiers"].items()} == {
            k: v["utility"] for k, v in classifiers.items()}
        metrics = record["metrics"]
        assert isinstance(metrics, dict)
        assert figures["label_accuracy"] == metrics["label_accuracy"]["value"]
        assert figures["diversity"] == metrics["diversity"]["synthetic"]
        assert figures["leakage"]["share"] == metrics["leakage"]["share"]
    assert cells[CURATED]["figures"]["naturalness_auc"] == 0.42
    assert cells[CURATED]["figures"]["classifiers"]["tfidf_lr"]["n_eq"] == "18"
    plain = _record(results, PLAIN)["metrics"]
    assert isinstance(plain, dict)
    assert cells[PLAIN]["figures"].get("naturalness_auc") == (plain.get("naturalness")
                                                               or {}).get("auc")
    assert "| tfidf_lr | 0.372 | 18 |" in card.text and "naturalness AUC 0.420" in card.text
    assert cells[PLAIN]["real_data"]["real_examples_in_prompts"] is True  # few_shot
    assert cells[CURATED]["texts"].startswith("curated")
    assert cells[CURATED]["interventions"][0]["id"] == "oos_filter"
    assert "texts" not in cells[PLAIN] or cells[PLAIN]["texts"].startswith("as generated")
    assert f"## `{CURATED}`" in card.text and "oos_filter" in card.text


def test_whole_grid_export_and_bad_input(results: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    assert main(["export", str(results), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == sorted([PLAIN, CURATED, PARENT])
    assert main(["export", str(results), "--out", str(out)]) == 0  # an export is replaced
    one = tmp_path / "one"
    assert main(["export", str(results / "cells" / CURATED), "--out", str(one)]) == 0
    assert [p.name for p in (one / "data").iterdir()] == [CURATED]
    capsys.readouterr()
    assert main(["export", str(results), "--cell", "nope", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no finished cell 'nope'" in err
    assert not (tmp_path / "x").exists()
    typo = PLAIN[:-1] + ("x" if PLAIN[-1] != "x" else "y")
    assert main(["export", str(results), "--cell", typo, "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"did you mean {PLAIN}" in err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["export", str(results), "--out", str(foreign)]) == 1
    assert "not a synthbench export" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me"
    (results / "cells" / PLAIN / "synthetic.jsonl").write_text('{"text": "x", "label": "?"}\n')
    assert main(["export", str(results), "--out", str(out)]) == 1
    assert "label outside" in capsys.readouterr().err
    assert (out / "data" / PLAIN / "train.parquet").exists()  # the earlier export is kept


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join([str(REPO), str(REPO / "plugins"), str(REPO / "tasks")])
    return subprocess.run([sys.executable, "-m", "synthbench.cli", *args], capture_output=True,
                          text=True, env={**env, "PYTHONPATH": pythonpath}, timeout=120)


@pytest.mark.parametrize("case", ["offline", "no_token", "hub_unreachable"])
def test_push_to_hub_fails_with_one_line(case: str, results: Path, tmp_path: Path) -> None:
    """Never reaches the network: offline and tokenless pushes stop before any request, and
    the reachable case points the hub endpoint at a closed loopback port."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # discard port: nothing listens
    env["HF_HOME"] = str(tmp_path / "hf-home")  # no stored token either
    if case == "offline":
        env.update(HF_HUB_OFFLINE="1", HF_TOKEN="hf_test_token_not_real")
    elif case == "hub_unreachable":
        env.update(HF_HUB_OFFLINE="0", HF_TOKEN="hf_test_token_not_real")
    out = tmp_path / "export"
    proc = _cli(["export", str(results), "--cell", PLAIN, "--out", str(out),
                 "--push-to-hub", "someone/synthetic-ag-news"], env)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "cannot push to someone/synthetic-ag-news" in proc.stderr
    assert "Traceback" not in proc.stderr and "hf_test_token_not_real" not in proc.stderr
    expected = {"offline": "HF_HUB_OFFLINE", "no_token": "set HF_TOKEN",
                "hub_unreachable": "Error"}[case]
    assert expected in proc.stderr
    assert (out / "data" / PLAIN / "train.parquet").is_file()  # the export itself is kept
