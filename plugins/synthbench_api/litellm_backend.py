"""``litellm/<litellm model id>``: any model litellm can call, through ``litellm.acompletion``.

litellm's own retries are off (``num_retries=0``) and no fallbacks are ever passed, so the
model measured is the model named. ``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set before the
import, so litellm reads its bundled price map and never fetches one; that map prices models
the synthbench table lacks. Keys and base URLs are read by litellm from its usual variables.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

from synthbench import (
    CallContext,
    CallError,
    Capability,
    GenerationRequest,
    LayeredProvider,
    Reply,
    RequestLayer,
    SynthbenchError,
)
from synthbench_api._sdk import call_error, require
from synthbench_api.openai_backend import parse_chat_completion
from synthbench_api.prices import price_for

CAPABILITIES = frozenset({Capability.MULTI_TURN, Capability.BATCH})


def import_litellm() -> Any:
    """litellm, imported with its network price fetch turned off."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    litellm = require("litellm")
    litellm.num_retries = 0
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMBackend:
    def __init__(self, model: str) -> None:
        self.model = model
        self.litellm = import_litellm()

    async def call(self, request: GenerationRequest, timeout: float) -> Reply:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens, "temperature": request.temperature,
            "top_p": request.top_p, "timeout": timeout, "num_retries": 0, "max_retries": 0,
        }
        try:
            response = await self.litellm.acompletion(**kwargs)
        except CallError:
            raise
        except Exception as exc:
            raise call_error(exc) from None
        headers = getattr(response, "_response_headers", None) or {}
        return Reply(parse_chat_completion(response), {str(k): str(v) for k, v in
                                                       dict(headers).items()},
                     str(getattr(response, "system_fingerprint", None) or ""))

    async def aclose(self) -> None:
        return None


def litellm_price(litellm: Any, model: str) -> dict[str, Any] | None:
    """Dollars per million tokens from litellm's bundled map, if it lists ``model``."""
    entry = litellm.model_cost.get(model) or litellm.model_cost.get(model.split("/", 1)[-1])
    if not isinstance(entry, dict) or "input_cost_per_token" not in entry:
        return None
    cached = entry.get("cache_read_input_token_cost")
    return {"input": entry["input_cost_per_token"] * 1e6,
            "output": entry.get("output_cost_per_token", 0.0) * 1e6,
            "cached_input": None if cached is None else cached * 1e6,
            "source": f"litellm {importlib.metadata.version('litellm')} bundled price map"}


def build(name: str, calls: CallContext) -> LayeredProvider:
    model = name.strip()
    if not model:
        raise SynthbenchError("litellm needs a model: write litellm/<litellm model id>, e.g. "
                              "litellm/gemini/gemini-2.0-flash")
    litellm = import_litellm()
    stated = litellm_price(litellm, model)
    price = price_for(f"litellm/{model}", stated)
    layer = RequestLayer("litellm", model, lambda: LiteLLMBackend(model), calls, price=price)
    return LayeredProvider(layer, CAPABILITIES, {
        "sdk": "litellm", "sdk_version": importlib.metadata.version("litellm"),
        "fallbacks": "none"})
