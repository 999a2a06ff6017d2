"""Providers ``local`` (the embedded SmolLM2-135M-Instruct, the default) and ``hf/<model>``.

torch and transformers are imported only when a provider is built, so listing plugins is fast.
Both are served behind the request cache (``CachedProvider``), keyed by the weights' identity,
so a killed run keeps every text generated before the ``complete`` call in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from synthbench import CachedProvider, CallContext, ProviderSpec, SynthbenchError, hookimpl
from synthbench_local.embedded import EMBEDDED_NAME

if TYPE_CHECKING:
    from synthbench_local.provider import TransformersProvider


def folder_fingerprint(folder: Path) -> str:
    """A cheap identity of a model folder: name, size and mtime of each file in it (hashing
    gigabytes of weights would cost more than most runs); replaced weights change it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def weights_identity(provider: TransformersProvider, name: str | None = None) -> str | None:
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


def local_provider(name: str, calls: CallContext) -> CachedProvider:
    """``local`` or ``local/smollm2-135m-instruct``: the embedded model, converted once, cached."""
    if name.strip().lower() not in ("", EMBEDDED_NAME):
        raise SynthbenchError(
            f"local/{name}: local serves only the embedded {EMBEDDED_NAME}; "
            f"write local, or hf/{name} for a Hugging Face model"
        )
    from synthbench_local.provider import TransformersProvider

    return cached(TransformersProvider.embedded(), calls)


def hf_provider(name: str, calls: CallContext) -> CachedProvider:
    """``hf/<hub id or local folder>``: any chat causal LM through transformers."""
    if not name.strip():
        raise SynthbenchError("hf needs a model: write hf/<hub id or local folder>, "
                              "e.g. hf/HuggingFaceTB/SmolLM2-360M-Instruct")
    from synthbench_local.provider import TransformersProvider

    return cached(TransformersProvider.from_pretrained(name.strip()), calls, name.strip())


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec(
        "local", local_provider,
        f"embedded default {EMBEDDED_NAME} (CPU, no key; converted once into the cache)",
    ))
    register(ProviderSpec(
        "hf", hf_provider,
        "any Hugging Face chat causal LM: hf/<hub id or local folder> (transformers)",
    ))
