"""The API path end to end through the ``synthbench`` command and the real openai SDK against
the loopback fake server: --dry-run, --max-cost, kill -9 and resume, and the canary key."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, ServerConfig

CANARY = "sk-canary-" + "c41e0b7d9a2f4e6b8d1c3a5f7e9b0d2c"
SYNTHBENCH = str(Path(sys.executable).parent / "synthbench")
TASK = "relation_classification"  # the smallest real test split (204 texts)
CONCURRENCY = 4


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(ServerConfig(latency_s=0.15)) as running:
        yield running


def command(shared_data: Path, out: Path, *extra: str) -> list[str]:
    return [SYNTHBENCH, "run", "--model", "openai/gpt-4o-mini", "--task", TASK, "--n", "40",
            "--classifier", "tfidf_lr", "--oracle-size", "100", "--data-dir", str(shared_data),
            "--out", str(out), "--no-progress", *extra]


def environment(server: FakeLLMServer, request_cache: Path) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": server.openai_url,
            "SYNTHBENCH_REQUEST_CACHE": str(request_cache),
            "SYNTHBENCH_CONCURRENCY": str(CONCURRENCY)}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def test_dry_run_calls_nothing_and_max_cost_stops_before_the_first_call(
        server: FakeLLMServer, shared_data: Path, tmp_path: Path) -> None:
    env = environment(server, tmp_path / "requests.sqlite")
    env.pop("OPENAI_API_KEY")  # a dry run needs no key
    dry = run(command(shared_data, tmp_path / "out", "--dry-run"), env)
    assert dry.returncode == 0, dry.stderr
    assert "openai/gpt-4o-mini" in dry.stdout and "nothing was called" in dry.stdout
    total = next(line for line in dry.stdout.splitlines() if line.startswith("total"))
    assert total.split()[1] == "40"  # 40 requests, one per text
    assert server.log == []
    env["OPENAI_API_KEY"] = CANARY
    capped = run(command(shared_data, tmp_path / "out", "--max-cost", "0.000001"), env)
    assert capped.returncode == 1
    [line] = capped.stderr.strip().splitlines()
    assert "stopped before crossing --max-cost" in line
    assert server.log == []


def _wait_for(server: FakeLLMServer, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(server.log) < count:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached the provider"
        time.sleep(0.01)


def test_kill_9_then_resume_equals_an_uninterrupted_run_and_leaks_no_key(
        server: FakeLLMServer, shared_data: Path, tmp_path: Path) -> None:
    reference_out, resumed_out = tmp_path / "reference", tmp_path / "resumed"
    with FakeLLMServer(ServerConfig(latency_s=0.15)) as reference_server:
        reference = run(command(shared_data, reference_out),
                        environment(reference_server, tmp_path / "reference.sqlite"))
    assert reference.returncode == 0, reference.stderr

    env = environment(server, tmp_path / "resumed.sqlite")
    process = subprocess.Popen(command(shared_data, resumed_out), env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    _wait_for(server, 12, process)
    os.killpg(process.pid, signal.SIGKILL)
    first_out, first_err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    killed_after = len(server.log)
    assert killed_after < 40, "the run finished before the kill"
    resumed = run(command(shared_data, resumed_out), env)
    assert resumed.returncode == 0, resumed.stderr

    [ref_cell] = list((reference_out / "cells").iterdir())
    [cell] = list((resumed_out / "cells").iterdir())
    assert cell.name == ref_cell.name
    assert (cell / "synthetic.jsonl").read_text() == (ref_cell / "synthetic.jsonl").read_text()
    ref_result = json.loads((ref_cell / "result.json").read_text())
    result = json.loads((cell / "result.json").read_text())
    for part in ("classifiers", "metrics", "cost", "n_synthetic"):
        assert result[part] == ref_result[part], part
    assert result["generation"]["counts"] == ref_result["generation"]["counts"]

    answered = collections.Counter(e.fingerprint for e in server.log if e.outcome == "ok")
    assert len(answered) == 40
    paid_twice = sum(n - 1 for n in answered.values())
    assert paid_twice <= CONCURRENCY, f"{paid_twice} requests were paid twice"

    leaks = [str(path) for root in (tmp_path,) for path in root.rglob("*")
             if path.is_file() and CANARY.encode() in path.read_bytes()]
    assert leaks == []
    for text in (first_out, first_err, resumed.stdout, resumed.stderr, reference.stderr):
        assert CANARY not in text


def test_api_models_generate_at_the_same_time(shared_data: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench.plugins import load_plugins
    from synthbench.run import Runner, RunSettings, make_configs

    with FakeLLMServer(ServerConfig(latency_s=0.1)) as fake:
        for key, value in environment(fake, tmp_path / "requests.sqlite").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SYNTHBENCH_CONCURRENCY", "2")
        plugins = load_plugins()
        models = ["openai/gpt-4o-mini", "openai/gpt-4.1-nano"]
        configs = make_configs(plugins, models=models, tasks=[TASK], generators=["zero_shot"],
                               params={}, n=12, seeds=[0], classifiers=["tfidf_lr"])
        runner = Runner(plugins, RunSettings.from_environ(
            os.environ, out=tmp_path / "out", data_dir=shared_data, progress=False))
        runner._generate_ahead(runner.prepare(configs))
        spans = {}
        for model in ("gpt-4o-mini", "gpt-4.1-nano"):
            times = [e.at for e in fake.log if e.model == model]
            assert len(times) == 12
            spans[model] = (min(times), max(times))
        (a_start, a_end), (b_start, b_end) = spans.values()
        assert a_start < b_end and b_start < a_end, "the two models ran one after the other"
        assert len(list((tmp_path / "out" / "cells").glob("*/synthetic.jsonl"))) == 2


def test_batch_mode_sends_a_cell_as_one_batch_job(shared_data: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench.plugins import load_plugins
    from synthbench.run import Runner, RunSettings, make_configs

    with FakeLLMServer(ServerConfig(batch_delay_s=0.2)) as fake:
        for key, value in environment(fake, tmp_path / "requests.sqlite").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SYNTHBENCH_BATCH_POLL", "0.05")
        plugins = load_plugins()
        configs = make_configs(plugins, models=["openai/gpt-4o-mini"], tasks=[TASK],
                               generators=["zero_shot"], params={}, n=12, seeds=[0],
                               classifiers=["tfidf_lr"], oracle_size=100)
        runner = Runner(plugins, RunSettings.from_environ(
            os.environ, out=tmp_path / "out", data_dir=shared_data, progress=False,
            mode="batch"))
        [outcome] = runner.run(configs)
        assert fake.batch_creations() == 1
        assert sum(e.outcome == "batch_item" for e in fake.log) == 12
        assert not [e for e in fake.log if e.path == "/v1/chat/completions"]
        record = outcome.record
        assert record.n_synthetic == 12
        assert record.cost.batch_discount is True and (record.cost.usd or 0) > 0
        assert record.generation.provider["request_mode"] == "batch"


def test_batch_planning_leaves_out_requests_that_depend_on_answers(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthbench.plugins import load_plugins
    from synthbench.run import Runner, RunSettings, make_configs
    from synthbench.run.planning import planned_requests

    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "requests.sqlite"))
    plugins = load_plugins()
    runner = Runner(plugins, RunSettings.from_environ(
        os.environ, out=tmp_path / "out", data_dir=shared_data, progress=False))
    independent = make_configs(plugins, models=["openai/gpt-4o-mini"], tasks=[TASK],
                               generators=["zero_shot"], params={}, n=8, seeds=[0],
                               classifiers=["tfidf_lr"])
    dependent = make_configs(plugins, models=["openai/gpt-4o-mini"], tasks=[TASK],
                             generators=["logit_suppression"], params={"batch": 4}, n=8,
                             seeds=[0], classifiers=["tfidf_lr"])
    def planned(configs: list[Any]) -> int:
        return len(planned_requests(runner.ws, [runner.ws.locate(c) for c in configs])[
            "openai/gpt-4o-mini"])

    assert planned(independent) == 8
    # logit_suppression biases every request after its first batch by the answers so far
    assert planned(dependent) == 4


def test_dry_run_counts_the_judge_and_the_baseline_as_a_real_run_sends_them(
        server: FakeLLMServer, shared_data: Path, tmp_path: Path) -> None:
    extra = ("--intervention", "oos_filter", "--baseline", "llm_few_shot", "-B", "n_test=20")
    env = environment(server, tmp_path / "requests.sqlite")
    dry = run(command(shared_data, tmp_path / "out", "--dry-run", *extra), env)
    assert dry.returncode == 0, dry.stderr
    total = next(line for line in dry.stdout.splitlines() if line.startswith("total"))
    estimated = int(total.split()[1])
    assert estimated > 40 + 20, "the judge's requests were not counted"
    assert server.log == []
    real = run(command(shared_data, tmp_path / "out", *extra), env)
    assert real.returncode == 0, real.stderr
    assert len(server.log) == estimated
