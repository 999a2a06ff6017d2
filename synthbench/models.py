"""Model ids are ``provider/model``, split at the first slash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins
from synthbench.types import Provider, ProviderSpec

if TYPE_CHECKING:
    from synthbench.calls import CallContext


def split_model_id(model_id: str) -> tuple[str, str]:
    """Split at the first slash: ``"hf/Qwen/Qwen2.5-0.5B"`` -> ``("hf", "Qwen/Qwen2.5-0.5B")``,
    ``"local"`` -> ``("local", "")``."""
    model_id = model_id.strip()
    if not model_id:
        raise SynthbenchError("empty model id; write it as provider/model, e.g. local or hf/gpt2")
    provider, _, name = model_id.partition("/")
    return provider, name


def provider_spec(plugins: Plugins, model_id: str) -> tuple[ProviderSpec, str]:
    """The provider plugin that serves ``model_id``, and the model name it is given; an
    unknown provider is a one-line error."""
    provider_id, name = split_model_id(model_id)
    if provider_id not in plugins.providers:
        known = ", ".join(plugins.providers.ids())
        raise SynthbenchError(
            f"unknown model {model_id!r}: no provider {provider_id!r} (known providers: {known}); "
            "write model ids as provider/model"
        )
    return plugins.providers.get(provider_id), name


def resolve_model(plugins: Plugins, model_id: str, calls: CallContext) -> Provider:
    """Build the provider that serves ``model_id`` with the run's ``CallContext``."""
    spec, name = provider_spec(plugins, model_id)
    return spec.factory(name, calls)
