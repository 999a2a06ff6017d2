"""``--executor ray`` on a real local Ray cluster started here: a head and a second node, one
CPU each, on this machine. The same grid gives the same records as the local executor; a
worker process killed mid-grid costs at most its in-flight requests and leaves every cell
written once; the rate limit per model holds for the cluster, not per worker."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

try:
    from ray.cluster_utils import Cluster
except ImportError:  # the extra is not installed: only the tests that need no Ray run
    Cluster = None

from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins, PluginSelection
from synthbench.record import CellConfig, CellRecord
from synthbench.run import Runner, RunSettings, make_configs
from synthbench.run.ray_executor import forwarded_env, run_on_ray

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer, LoggedRequest, ServerConfig

KEY = "sk-ray-test-" + "5e0f1d2c3b4a"
MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Head plus one worker node; API keys reach workers from the nodes' own environment."""
    if Cluster is None:
        pytest.skip("Ray is not installed (pip install 'synthbench[ray]')")
    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = KEY
    started = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    started.add_node(num_cpus=1)
    started.wait_for_nodes()
    try:
        yield started
    finally:
        started.shutdown()
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved


def settings(out: Path, shared_data: Path) -> RunSettings:
    return RunSettings.from_environ(os.environ, out=out, data_dir=shared_data, progress=False)


def grid(plugins: Plugins, model: str, n: int, tasks: tuple[str, ...] = ("sst2", "sms_spam"),
         seeds: tuple[int, ...] = (0,), curated: bool = False) -> list[CellConfig]:
    curations = [(), (("dedup", {}),)] if curated else [()]
    return make_configs(plugins, models=[model], tasks=list(tasks),
                        generators=["zero_shot", "few_shot"], params={}, n=n, seeds=list(seeds),
                        classifiers=["tfidf_lr"], oracle_size=200, curations=curations)


def on_ray(cluster: Cluster, plugins: Plugins, configs: list[CellConfig],
           run_settings: RunSettings) -> list[CellRecord]:
    with Runner(plugins, run_settings) as runner:
        outcomes = run_on_ray(runner, configs, PluginSelection(), address=cluster.address)
    return [o.record for o in outcomes]


def timeless(value: object) -> object:
    """``value`` without when and how fast things ran (provenance, timings, step seconds)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items()
                if k not in ("provenance", "timings", "seconds")}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    if isinstance(value, float):  # a Ray worker's BLAS threads move the 8th digit of a mean
        return round(value, 6)
    return value


def same_results(a: CellRecord, b: CellRecord) -> None:
    assert timeless(a.to_json()) == timeless(b.to_json())


def texts(out: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted(out.glob("cells/*/synthetic.jsonl"))}


def test_the_same_grid_gives_the_same_records_on_ray_as_locally(
        cluster: Cluster, plugins: Plugins, shared_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "ray.sqlite"))
    configs = grid(plugins, "mock/ray", n=24, curated=True)
    records = on_ray(cluster, plugins, configs, settings(tmp_path / "ray", shared_data))
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(tmp_path / "local.sqlite"))
    with Runner(plugins, settings(tmp_path / "local", shared_data)) as runner:
        local = [o.record for o in runner.run(configs)]
    assert len(records) == len(configs) == 8
    for ray_record, local_record in zip(records, local, strict=True):
        same_results(ray_record, local_record)
    assert texts(tmp_path / "ray") == texts(tmp_path / "local")
    assert len(texts(tmp_path / "ray")) == 4  # curated variants read their generation's texts
    for record in records:  # what the store holds is what came back
        stored = json.loads((tmp_path / "ray" / "cells" / record.cell / "result.json").read_text())
        assert stored == json.loads(json.dumps(record.to_json()))


def generated(log: list[LoggedRequest]) -> collections.Counter[str]:
    """Successful answers per distinct request."""
    return collections.Counter(r.fingerprint for r in log if r.outcome == "ok")


def api_env(monkeypatch: pytest.MonkeyPatch, server: FakeLLMServer, cache: Path,
            concurrency: int, rpm: int | None = None) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
    monkeypatch.setenv("SYNTHBENCH_REQUEST_CACHE", str(cache))
    monkeypatch.setenv("SYNTHBENCH_CONCURRENCY", str(concurrency))
    if rpm is not None:
        monkeypatch.setenv("SYNTHBENCH_RPM", str(rpm))


def _kill_a_worker_mid_cell(server: FakeLLMServer, killed: list[int]) -> None:
    """Once some answers are in, SIGKILL a process running cells (its Ray title)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(server.log) >= 6:
            for process in psutil.process_iter(["cmdline"]):
                if "ray::run_cells" in " ".join(process.info["cmdline"] or ()):
                    process.kill()
                    killed.append(process.pid)
                    return
        time.sleep(0.02)


def test_a_worker_killed_mid_grid_costs_at_most_its_in_flight_requests(
        cluster: Cluster, plugins: Plugins, shared_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    concurrency = 2
    configs = grid(plugins, MODEL, n=24, tasks=("relation_classification",), seeds=(0, 1))
    with FakeLLMServer(ServerConfig(latency_s=0.25)) as server:
        api_env(monkeypatch, server, tmp_path / "requests.sqlite", concurrency)
        killed: list[int] = []
        killer = threading.Thread(target=_kill_a_worker_mid_cell, args=(server, killed))
        killer.start()
        records = on_ray(cluster, plugins, configs, settings(tmp_path / "out", shared_data))
        killer.join()
        log = list(server.log)
    assert killed, "no worker was running a cell"
    assert sorted(r.cell for r in records) == sorted(
        p.parent.name for p in (tmp_path / "out").glob("cells/*/result.json"))
    assert len(records) == len(configs) == 4
    answers = generated(log)
    assert len(answers) == 4 * 24  # every text of every cell was answered
    assert sum(answers.values()) - len(answers) <= concurrency  # re-paid: the in-flight only
    assert KEY not in "".join(p.read_text() for p in (tmp_path / "out").rglob("*.json*"))


def test_the_rate_limit_holds_for_the_cluster_not_per_worker(
        cluster: Cluster, plugins: Plugins, shared_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rpm = 240  # the server's limit, and the one synthbench is told
    configs = grid(plugins, MODEL, n=30, tasks=("relation_classification",))
    with FakeLLMServer(ServerConfig(latency_s=0.02, requests_per_minute=rpm)) as server:
        api_env(monkeypatch, server, tmp_path / "requests.sqlite", concurrency=8, rpm=rpm)
        records = on_ray(cluster, plugins, configs, settings(tmp_path / "out", shared_data))
        log = list(server.log)
    assert len(records) == 2
    starts = sorted(r.at for r in log)
    outcomes = collections.Counter(r.outcome for r in log)
    assert outcomes["ok"] == 60
    assert outcomes["rate_limited_by_limit"] < 0.01 * len(log), outcomes
    assert 60 / rpm * 60 * 0.8 < starts[-1] - starts[0]  # paced at the cluster's rate


def test_workers_get_settings_and_endpoints_but_never_a_secret() -> None:
    env = {"SYNTHBENCH_RPM": "60", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
           "OPENAI_API_KEY": "sk-x", "HF_TOKEN": "hf_x", "SYNTHBENCH_HUB_TOKEN": "t",
           "PATH": "/bin", "HF_HUB_OFFLINE": "1"}
    assert forwarded_env(env) == {"SYNTHBENCH_RPM": "60", "HF_HUB_OFFLINE": "1",
                                  "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}


def test_without_ray_the_local_executor_imports_none_and_ray_asks_for_the_extra(
        plugins: Plugins, shared_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    probe = ("import sys; import synthbench.cli, synthbench.run; "
             "sys.exit(1 if 'ray' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", probe], timeout=120).returncode == 0
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with Runner(plugins, settings(tmp_path, shared_data)) as runner, \
            pytest.raises(SynthbenchError, match=r"pip install 'synthbench\[ray\]'"):
        run_on_ray(runner, grid(plugins, "mock/x", n=8), PluginSelection())


def test_a_worker_error_is_one_line_and_max_cost_holds_on_the_cluster(
        cluster: Cluster, plugins: Plugins, shared_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    configs = grid(plugins, MODEL, n=8, tasks=("relation_classification",))
    run_settings = RunSettings.from_environ(os.environ, out=tmp_path / "out",
                                            data_dir=shared_data, progress=False,
                                            max_cost=0.000001)
    with FakeLLMServer(ServerConfig()) as server:
        api_env(monkeypatch, server, tmp_path / "requests.sqlite", concurrency=2)
        with Runner(plugins, run_settings) as runner, \
                pytest.raises(SynthbenchError) as raised:
            run_on_ray(runner, configs, PluginSelection(), address=cluster.address)
        log = list(server.log)
    assert "--max-cost" in str(raised.value) and "\n" not in str(raised.value)
    assert log == []  # the cluster's budget stopped every worker before its first call
