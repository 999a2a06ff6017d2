"""The embedded ``local`` provider and ``hf`` on the real SmolLM2-135M model (no mocks).

The cache lives in a temporary folder for this module, so the first test that builds the
provider pays the one-time GGUF conversion (~20 s); the rebuild test pays it once more.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthbench.calls import CallContext
from synthbench.errors import SynthbenchError
from synthbench.paths import use_cache_dir
from synthbench.types import GenerationRequest, Message, Provider, ProviderSpec
from synthbench_local import hf_provider, local_provider, synthbench_register_providers
from synthbench_local.embedded import (
    GGUF_SHA256,
    MARKER,
    converted_dir,
    find_embedded_gguf,
    is_complete,
)
from synthbench_local.provider import TransformersProvider

TRANSFORMERS = CallContext(provider_options={"engine": "transformers"})


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, isolated_cache: Path) -> Iterator[Path]:
    """A cache root of this module's own, so the first build converts."""
    root = tmp_path_factory.mktemp("synthbench-cache")
    use_cache_dir(root)
    yield root
    use_cache_dir(isolated_cache)


@pytest.fixture(scope="module")
def provider(cache: Path) -> TransformersProvider:
    assert not converted_dir(GGUF_SHA256).exists()  # absent: the first build converts
    return TransformersProvider.embedded(batch_size=4)


def ask(text: str, *, max_tokens: int = 16, temperature: float = 1.0, seed: int = 0,
        sample_index: int = 0, system: str | None = None) -> GenerationRequest:
    messages = ((Message("system", system),) if system else ()) + (Message("user", text),)
    return GenerationRequest(messages, max_tokens=max_tokens, temperature=temperature,
                             seed=seed, sample_index=sample_index)


def prompt_tokens(provider: TransformersProvider, request: GenerationRequest) -> int:
    conversation = [{"role": m.role, "content": m.content} for m in request.messages]
    encoded = provider.tokenizer.apply_chat_template(
        conversation, add_generation_prompt=True, return_dict=True
    )
    return len(encoded["input_ids"])


def test_plugin_import_leaves_torch_unloaded() -> None:
    code = ("import sys, synthbench_local; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]


def test_registers_local_and_hf() -> None:
    specs: list[ProviderSpec] = []
    synthbench_register_providers(register=specs.append)
    assert [s.id for s in specs] == ["local", "hf"]
    assert all(s.description for s in specs)
    with pytest.raises(SynthbenchError, match="only the embedded") as err:
        specs[0].factory("gpt2", CallContext())
    assert "\n" not in str(err.value)
    with pytest.raises(SynthbenchError, match="hf needs a model"):
        specs[1].factory("", CallContext())


def test_conversion_is_cached_and_reused(provider: TransformersProvider) -> None:
    folder = converted_dir(GGUF_SHA256)
    assert is_complete(folder, GGUF_SHA256)
    assert (folder / MARKER).read_text().strip() == GGUF_SHA256
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left
    info = provider.describe()
    assert info["converted_dir"] == str(folder)
    assert info["gguf_sha256"] == GGUF_SHA256
    assert info["gguf_path"] == str(find_embedded_gguf())
    assert {"transformers", "torch", "dtype", "batch_size", "served_model"} <= info.keys()
    before = (folder.stat().st_ino, (folder / MARKER).stat().st_mtime_ns)

    start = time.perf_counter()  # the fast engine's own conversion: test_fast_engine
    again = local_provider("smollm2-135m-instruct", TRANSFORMERS)  # the plugin's factory
    elapsed = time.perf_counter() - start
    assert isinstance(again, Provider)
    assert again.model_id == "local/smollm2-135m-instruct"
    assert (folder.stat().st_ino, (folder / MARKER).stat().st_mtime_ns) == before
    assert elapsed < 10, f"reloading the converted model took {elapsed:.1f} s"


def test_batched_completions_in_request_order(provider: TransformersProvider) -> None:
    requests = [
        ask("Write a short positive movie review."),
        ask("Hi", max_tokens=4),
        ask("Write a long essay about the history of the Roman Empire.", max_tokens=4),
        ask("Write a short negative review of a restaurant that served cold soup.", seed=3),
        ask("Capital of France?", max_tokens=48, temperature=0.0, system="Answer in one word."),
        ask("Describe a sunny day at the beach in two sentences."),
        GenerationRequest((Message("system", "You are terse."), Message("user", "Name a fruit."),
                           Message("assistant", "Apple."), Message("user", "Another one?")),
                          max_tokens=16, temperature=1.0, seed=5),
        ask("Write a short positive movie review.", sample_index=1),
    ]
    completions = provider.complete(requests)
    assert len(completions) == len(requests)
    for request, completion in zip(requests, completions, strict=True):
        assert completion.text.strip()
        assert completion.model == "local/smollm2-135m-instruct"
        assert completion.usage.input_tokens == prompt_tokens(provider, request)
        assert 1 <= completion.usage.output_tokens <= request.max_tokens
        assert completion.finish_reason in ("stop", "length")
        if completion.finish_reason == "length":
            assert completion.usage.output_tokens == request.max_tokens
    assert completions[2].finish_reason == "length"
    assert completions[4].finish_reason == "stop"  # a one-word answer ends well before 48


def test_same_seeds_same_texts_different_seeds_differ(provider: TransformersProvider) -> None:
    requests = [ask("Write a short positive movie review.", seed=7, sample_index=i)
                for i in range(3)]
    first = [c.text for c in provider.complete(requests)]
    assert [c.text for c in provider.complete(requests)] == first
    assert len(set(first)) > 1  # sample_index tells repeated prompts apart
    reseeded = [ask("Write a short positive movie review.", seed=8, sample_index=i)
                for i in range(3)]
    assert [c.text for c in provider.complete(reseeded)] != first


def test_hf_loads_a_local_folder(provider: TransformersProvider) -> None:
    folder = str(converted_dir(GGUF_SHA256))  # hf on the fast engine: test_fast_engine
    served = hf_provider(folder, TRANSFORMERS)
    assert served.model_id == f"hf/{folder}"
    assert served.describe()["served_model"] == folder
    request = ask("Name three colours.", max_tokens=12, temperature=0.0)
    completion = served.complete([request])[0]
    assert completion.model == f"hf/{folder}"
    assert completion.text == provider.complete([request])[0].text  # same weights, greedy


def test_marker_less_folder_is_not_trusted(provider: TransformersProvider) -> None:
    folder = converted_dir(GGUF_SHA256)
    marker = folder / MARKER
    marker.rename(folder / "marker.bak")
    try:
        assert not is_complete(folder, GGUF_SHA256)
    finally:
        (folder / "marker.bak").rename(marker)
    assert is_complete(folder, GGUF_SHA256)


def test_corrupted_converted_folder_is_rebuilt(provider: TransformersProvider) -> None:
    folder = converted_dir(GGUF_SHA256)
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("r+b") as handle:
        handle.truncate(1000)  # marker still there, but the weights cannot be read
    rebuilt = TransformersProvider.embedded()
    assert weights.stat().st_size == size
    assert is_complete(folder, GGUF_SHA256)
    assert rebuilt.complete([ask("Say hello.", max_tokens=4, temperature=0.0)])[0].text


def test_wrong_checksum_is_refused(tmp_path: Path, fresh_cache: Path) -> None:
    other = tmp_path / "other.gguf"
    with find_embedded_gguf().open("rb") as source:
        other.write_bytes(source.read(1 << 20))  # a different file
    with pytest.raises(SynthbenchError, match="checksum mismatch") as err:
        TransformersProvider.embedded(gguf_path=other)
    assert "\n" not in str(err.value)
    assert not converted_dir(GGUF_SHA256).exists()
    with pytest.raises(SynthbenchError, match="not installed"):
        TransformersProvider.embedded(gguf_path=tmp_path / "missing.gguf")


def test_unknown_hf_model_fails_fast_offline() -> None:
    start = time.perf_counter()
    with pytest.raises(SynthbenchError, match="hf/does-not-exist") as err:
        hf_provider("does-not-exist", CallContext())
    assert time.perf_counter() - start < 15
    assert "\n" not in str(err.value)


def test_local_model_is_priced_at_zero_also_behind_the_cache(provider: TransformersProvider
                                                             ) -> None:
    """A dry run costs the free local model at $0, not 'unknown', cached or not."""
    from synthbench.calls.backend import Priced
    from synthbench.calls.cache import CachedProvider
    from synthbench.types import Usage

    cached = CachedProvider(provider, "embedded")
    for priced in (provider, cached):
        assert isinstance(priced, Priced) and priced.price is not None
        assert priced.price.cost(Usage(1000, 1000), priced.batch) == 0.0
