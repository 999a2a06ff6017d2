"""``anthropic/<model>``: messages through the ``anthropic`` SDK (its retries off; the
request layer retries). ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` are read by the SDK.
Anthropic has no seed and no logit bias, so neither capability is declared. This SDK no
longer has typed sampling parameters: a non-default temperature or top_p goes in the body as
``extra_body``, and a model that rejects it fails fast with the API's own one-line reason."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from typing import Any

from synthbench import (
    BatchState,
    CallContext,
    CallError,
    Capability,
    Completion,
    GenerationRequest,
    LayeredProvider,
    Reply,
    RequestLayer,
    SynthbenchError,
    Usage,
    redact,
)
from synthbench_api._sdk import call_error, parsed, require, require_key, usage_number
from synthbench_api.prices import price_for

CAPABILITIES = frozenset({Capability.MULTI_TURN, Capability.BATCH, Capability.BATCH_API})


class AnthropicBackend:
    """One ``AsyncAnthropic`` client with ``max_retries=0``."""

    def __init__(self, model: str) -> None:
        anthropic = require("anthropic")
        require_key("ANTHROPIC_API_KEY", f"anthropic/{model}")
        self.model = model
        self.client = anthropic.AsyncAnthropic(max_retries=0)

    def params(self, request: GenerationRequest) -> dict[str, Any]:
        """The messages body of one request (system prompts moved to ``system``)."""
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.model, "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages
                         if m.role != "system"],
        }
        if request.temperature > 1.0:
            raise SynthbenchError(f"anthropic/{self.model} takes a temperature from 0 to 1, "
                                  f"got {request.temperature:g}")
        if request.temperature != 1.0:
            params["temperature"] = request.temperature
        if request.top_p < 1.0:
            params["top_p"] = request.top_p
        if system:
            params["system"] = system
        return params

    async def call(self, request: GenerationRequest, timeout: float) -> Reply:
        params = self.params(request)
        sampling = {k: params.pop(k) for k in ("temperature", "top_p") if k in params}
        kwargs: dict[str, Any] = {**params, "timeout": timeout}
        if sampling:
            kwargs["extra_body"] = sampling
        try:
            raw = await self.client.messages.with_raw_response.create(**kwargs)
            response = await parsed(raw)
        except CallError:
            raise
        except Exception as exc:
            raise call_error(exc) from None
        return Reply(parse_message(response), dict(raw.headers))

    async def aclose(self) -> None:
        await self.client.close()

    async def submit_batch(self, items: Sequence[tuple[str, GenerationRequest]]) -> str:
        """One Message Batches job; custom ids are the 64-hex request cache keys."""
        try:
            batch = await self.client.messages.batches.create(requests=[
                {"custom_id": key, "params": self.params(request)} for key, request in items])
        except Exception as exc:
            raise call_error(exc) from None
        return str(batch.id)

    async def poll_batch(self, job_id: str) -> BatchState:
        try:
            batch = await self.client.messages.batches.retrieve(job_id)
        except Exception as exc:
            raise call_error(exc) from None
        return BatchState(batch.processing_status == "ended", str(batch.processing_status))

    async def collect_batch(self, job_id: str) -> dict[str, Reply | CallError]:
        results: dict[str, Reply | CallError] = {}
        try:
            stream = await self.client.messages.batches.results(job_id)
            async for entry in stream:
                result = entry.result
                if result.type == "succeeded":
                    try:
                        results[entry.custom_id] = Reply(parse_message(result.message))
                    except CallError as exc:
                        results[entry.custom_id] = exc
                else:
                    results[entry.custom_id] = CallError("batch", f"batch item {result.type}")
        except Exception as exc:
            raise call_error(exc) from None
        return results


def parse_message(response: Any) -> Completion:
    """A messages response as a ``Completion``; anything missing is garbage."""
    content = getattr(response, "content", None)
    usage = getattr(response, "usage", None)
    if content is None or usage is None or getattr(response, "model", None) is None:
        raise CallError("garbage", "malformed message (no content, usage or model)")
    text = "".join(str(getattr(block, "text", "")) for block in content
                   if getattr(block, "type", "") == "text")
    cached = usage_number(getattr(usage, "cache_read_input_tokens", 0))
    fresh = usage_number(usage.input_tokens) + usage_number(
        getattr(usage, "cache_creation_input_tokens", 0))
    stop = str(getattr(response, "stop_reason", None) or "end_turn")
    return Completion(text, str(response.model), Usage(fresh + cached, usage_number(
        usage.output_tokens), cached), "length" if stop == "max_tokens" else stop)


def build(name: str, calls: CallContext) -> LayeredProvider:
    model = name.strip()
    if not model:
        raise SynthbenchError("anthropic needs a model: write anthropic/<model>, e.g. "
                              "anthropic/claude-3-5-haiku-latest")
    require("anthropic")
    layer = RequestLayer("anthropic", model, lambda: AnthropicBackend(model), calls,
                         price=price_for(f"anthropic/{model}"))
    return LayeredProvider(layer, CAPABILITIES, {
        "sdk": "anthropic", "sdk_version": importlib.metadata.version("anthropic"),
        "base_url": redact(os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")})
