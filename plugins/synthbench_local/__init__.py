"""Providers ``local`` (the embedded SmolLM2-135M-Instruct, the default) and ``hf/<model>``.

torch and transformers are imported only when a provider is built, so listing plugins is fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from synthbench import ProviderSpec, SynthbenchError, hookimpl
from synthbench_local.embedded import EMBEDDED_NAME

if TYPE_CHECKING:
    from synthbench_local.provider import TransformersProvider


def local_provider(name: str) -> TransformersProvider:
    """``local`` or ``local/smollm2-135m-instruct``: the embedded model, converted once, cached."""
    if name.strip().lower() not in ("", EMBEDDED_NAME):
        raise SynthbenchError(
            f"local/{name}: local serves only the embedded {EMBEDDED_NAME}; "
            f"write local, or hf/{name} for a Hugging Face model"
        )
    from synthbench_local.provider import TransformersProvider

    return TransformersProvider.embedded()


def hf_provider(name: str) -> TransformersProvider:
    """``hf/<hub id or local folder>``: any chat causal LM through transformers."""
    if not name.strip():
        raise SynthbenchError("hf needs a model: write hf/<hub id or local folder>, "
                              "e.g. hf/HuggingFaceTB/SmolLM2-360M-Instruct")
    from synthbench_local.provider import TransformersProvider

    return TransformersProvider.from_pretrained(name.strip())


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
