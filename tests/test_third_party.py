"""A third-party task package installed the way pip installs it shows up and runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).parent / "fixtures" / "synthbench-task-demo"
SYNTHBENCH = [sys.executable, "-m", "synthbench.cli"]


@pytest.fixture(scope="module")
def installed_demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pip-install the fixture package into its own folder; return an env that sees it."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / DEMO.name
    shutil.copytree(DEMO, source)  # building writes build/ and egg-info next to the sources
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    assert list(target.glob("synthbench_task_demo-1.0.0.dist-info"))
    env = dict(os.environ, PYTHONPATH=str(target), HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    return env


def test_installed_task_is_listed(installed_demo: dict[str, str]) -> None:
    out = subprocess.run([*SYNTHBENCH, "list", "tasks"], env=installed_demo, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    line = next(row for row in out.splitlines() if row.startswith("demo_spam"))
    assert "spam, ham" in line and "synthbench-task-demo" in line
    plugins = subprocess.run([*SYNTHBENCH, "list", "plugins"], env=installed_demo, check=True,
                             capture_output=True, text=True, timeout=120).stdout
    assert any(r.startswith("demo ") and "synthbench-task-demo" in r and r.endswith("ok")
               for r in plugins.splitlines())


def test_installed_task_runs(installed_demo: dict[str, str], tmp_path: Path,
                             shared_data: Path) -> None:
    data = tmp_path / "data" / "demo_spam"
    data.mkdir(parents=True)
    for split in ("train", "test"):
        rows = (shared_data / "sms_spam" / f"{split}.jsonl").read_text().splitlines()[:200]
        (data / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    out = tmp_path / "results"
    proc = subprocess.run(
        [*SYNTHBENCH, "run", "--model", "mock/demo", "--task", "demo_spam", "--n", "12",
         "--classifier", "tfidf_lr", "--data-dir", str(tmp_path / "data"), "--out", str(out),
         "--no-progress"],
        env=installed_demo, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (result,) = out.glob("cells/demo_spam__mock--demo__*/result.json")
    record = json.loads(result.read_text())
    assert record["task"]["id"] == "demo_spam"
    assert record["generation"]["counts"]["kept"] == 12
    assert record["classifiers"]["tfidf_lr"]["real"]["n_train"] == 12
