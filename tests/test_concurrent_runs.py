"""Several processes on one results directory and request cache: two ``synthbench run``
started at once split the grid, write every cell once and pay for no text twice; and limits
owned in one place hold for every process that asks (what the Ray executor's workers do)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from synthbench.calls import LimitsOwner, SharedLimits

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, ServerConfig

SYNTHBENCH = str(Path(sys.executable).parent / "synthbench")
CONCURRENCY = 2


def test_two_runs_started_together_write_every_cell_once_and_pay_nothing_twice(
        shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeLLMServer(ServerConfig(latency_s=0.3)) as server:
        env = {**os.environ, "OPENAI_API_KEY": "sk-two-shells", "OPENAI_BASE_URL":
               server.openai_url, "SYNTHBENCH_REQUEST_CACHE": str(tmp_path / "requests.sqlite"),
               "SYNTHBENCH_CONCURRENCY": str(CONCURRENCY)}
        command = [SYNTHBENCH, "run", "--model", "openai/gpt-4o-mini", "--task",
                   "relation_classification", "--generator", "zero_shot,few_shot",
                   "--seed", "0,1", "--n", "24", "--classifier", "tfidf_lr", "--oracle-size",
                   "100", "--data-dir", str(shared_data), "--out", str(out), "--no-progress"]
        shells = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(2)]
        finished = [shell.communicate(timeout=300) for shell in shells]
        log = list(server.log)
    assert [shell.returncode for shell in shells] == [0, 0], [err for _, err in finished]
    states: collections.Counter[str] = collections.Counter()
    for _, err in finished:
        states.update(line.rsplit(": ", 1)[1] for line in err.splitlines()
                      if line.startswith("["))
    assert states == {"done": 4, "stored, reused": 4}  # each cell computed by one process
    results = sorted(out.glob("cells/*/result.json"))
    assert len(results) == 4
    for path in results:
        assert json.loads(path.read_text())["n_synthetic"] == 24
    answers = collections.Counter(r.fingerprint for r in log if r.outcome == "ok")
    assert len(answers) == 4 * 24
    assert max(answers.values()) == 1  # no text was paid for twice


def test_limits_owned_in_one_place_hold_for_every_process_that_asks() -> None:
    owner = LimitsOwner(max_usd=1.0)
    calls: list[str] = []

    def call(method: str, *args: Any) -> Any:
        calls.append(method)
        return getattr(owner, method)(*args)

    first, second = SharedLimits(call, 1.0), SharedLimits(call, 1.0)
    assert first.budget is not None and second.budget is not None
    assert first.budget.reserve(0.4) and second.budget.reserve(0.4)
    assert not first.budget.reserve(0.4)  # 1.2 > 1.0 across both workers
    second.budget.settle(0.4, 0.1)
    assert first.budget.reserve(0.4) and owner.spent() == 0.1
    rpm = 60.0  # one request a second, burst of one
    waits = [limits.bucket("openai", "m", rpm, None).reserve(10) for limits in
             (first, second, first, second)]
    assert waits[0] == 0.0 and [round(w) for w in waits[1:]] == [1, 2, 3]  # one queue, not two
    assert "reserve" in calls and "budget_reserve" in calls
