"""The plugin core: built-ins arrive through entry points, and bad plugins stay isolated."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthbench import SynthbenchError
from synthbench.calls import CallContext
from synthbench.models import resolve_model, split_model_id
from synthbench.plugins import load_plugins
from synthbench.testing import MockProvider, check_classifier, check_task

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"
LI_TASKS = {"ag_news", "imdb", "sms_spam", "financial_phrasebank", "reddit_emotion",
            "relation_classification", "tweet_irony", "tweet_emotion", "sarcasm_news", "humor"}
EXTRA_TASKS = {"sst2", "trec", "carer_emotion", "clickbait", "subj"}


@pytest.fixture
def fixture_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))


def test_builtins_load_through_entry_points() -> None:
    plugins = load_plugins()
    assert set(plugins.tasks.ids()) == LI_TASKS | EXTRA_TASKS
    assert {"local", "hf", "mock"} <= set(plugins.providers.ids())
    assert {"zero_shot", "few_shot"} <= set(plugins.generators.ids())
    assert {"tfidf_lr", "minilm_lr"} <= set(plugins.classifiers.ids())
    assert plugins.problems == []
    assert plugins.tasks.origin("sst2").distribution == "synthbench"
    assert {p.name for p in plugins.loaded} >= {"local", "mock", "generators", "classifiers",
                                                "tasks_li2023", "tasks_classic"}


def test_broken_import_is_one_line_and_others_keep_working(fixture_plugins: None) -> None:
    warnings: list[str] = []
    plugins = load_plugins(["broken_import"], warn=warnings.append)
    assert len(warnings) == 1
    assert "broken_import" in warnings[0] and "failed to import" in warnings[0]
    assert "\n" not in warnings[0]
    assert "sst2" in plugins.tasks
    with pytest.raises(SynthbenchError, match="broken_import"):
        load_plugins(["broken_import"], strict=True)


def test_malformed_task_is_rejected_alone(fixture_plugins: None) -> None:
    plugins = load_plugins(["malformed_task"])
    assert "fine_task" in plugins.tasks
    assert "one_label" not in plugins.tasks
    assert any("one_label" in p and "malformed_task" in p for p in plugins.problems)


def test_misspelt_hook_is_reported(fixture_plugins: None) -> None:
    plugins = load_plugins(["misspelt_hook"])
    assert any("misspelt_hook" in p and "synthbench_register_taks" in p
               for p in plugins.problems)


def test_raising_hook_is_reported(fixture_plugins: None) -> None:
    plugins = load_plugins(["raising_hook"])
    assert any("raising_hook" in p and "boom" in p for p in plugins.problems)
    assert "zero_shot" in plugins.generators


def test_duplicate_id_names_both_plugins(fixture_plugins: None) -> None:
    with pytest.raises(SynthbenchError) as info:
        load_plugins(["duplicate_task"])
    message = str(info.value)
    assert "'sst2'" in message and "tasks_classic" in message and "duplicate_task" in message


def test_block_a_plugin() -> None:
    plugins = load_plugins(blocked=["tasks_classic"])
    assert "sst2" not in plugins.tasks
    assert "imdb" in plugins.tasks


def test_model_ids_split_at_first_slash() -> None:
    assert split_model_id("hf/Qwen/Qwen2.5-0.5B-Instruct") == ("hf", "Qwen/Qwen2.5-0.5B-Instruct")
    assert split_model_id("local") == ("local", "")
    plugins = load_plugins()
    provider = resolve_model(plugins, "mock/abc", CallContext())
    assert isinstance(provider, MockProvider) and provider.model_id == "mock/abc"
    with pytest.raises(SynthbenchError, match="unknown model 'nope/x'"):
        resolve_model(plugins, "nope/x", CallContext())


def test_conformance_helpers_pass_builtins(shared_data: Path) -> None:
    plugins = load_plugins()
    for task_id in plugins.tasks.ids():
        check_task(plugins.tasks.get(task_id))
    data = check_task(plugins.tasks.get("trec"), shared_data)
    assert data is not None and len(data.test) == 500
    check_classifier(plugins.classifiers.get("tfidf_lr"))
    check_classifier(plugins.classifiers.get("minilm_lr"))


def test_task_with_wrong_field_types_is_rejected_alone(fixture_plugins: None) -> None:
    plugins = load_plugins(["wrong_types"])
    assert "sst2" in plugins.tasks and "typed_wrong" not in plugins.tasks
    assert any("wrong_types" in p and "labels must be a tuple" in p for p in plugins.problems)
