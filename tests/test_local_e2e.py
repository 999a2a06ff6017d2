"""The main job for real: the embedded LLM writes SST-2 texts, real classifiers and metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = str(Path(sys.executable).parent / "synthbench")
GGUF_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def test_tiny_cell_through_the_embedded_model(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "results"
    args = [SCRIPT, "run", "--model", "local", "--task", "sst2", "--n", "16", "--out", str(out),
            "--data-dir", str(shared_data), "--oracle-size", "1000"]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sst2" in proc.stdout and "utility" in proc.stdout

    (cell,) = (out / "cells").iterdir()
    record = json.loads((cell / "result.json").read_text())
    generation = record["generation"]
    counts = generation["counts"]
    assert counts["requested"] == 16
    failures = counts["refusals"] + counts["empty"] + counts["parse_failures"]
    assert counts["requests_sent"] == counts["kept"] + failures
    assert counts["kept"] + counts["shortfall"] == 16
    assert counts["kept"] >= 12
    assert generation["provider"]["gguf_sha256"] == GGUF_SHA
    assert generation["served_models"] == ["local/smollm2-135m-instruct"]
    assert generation["usage"]["output_tokens"] > counts["kept"]

    texts = [json.loads(line) for line in (cell / "synthetic.jsonl").read_text().splitlines()]
    assert len(texts) == counts["kept"]
    assert {t["label"] for t in texts} == {"positive", "negative"}
    assert len({t["text"] for t in texts}) > len(texts) // 2

    for name in ("tfidf_lr", "minilm_lr"):
        scores = record["classifiers"][name]
        assert 0 <= scores["synthetic"]["macro_f1"] <= 1
        assert scores["real"]["n_train"] == 16
    label_accuracy = record["metrics"]["label_accuracy"]
    assert 0 <= label_accuracy["value"] <= 1 and label_accuracy["oracle_test_macro_f1"] > 0.6
    assert 0 < record["metrics"]["diversity"]["synthetic"]["remote_clique"] < 1.5

    started = time.monotonic()
    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "stored, reused" in again.stderr
    assert time.monotonic() - started < 60
    assert json.loads((cell / "result.json").read_text()) == record
