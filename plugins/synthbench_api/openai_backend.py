"""``openai/<model>``: chat completions through the ``openai`` SDK (its retries off; the
request layer retries). ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` are read by the SDK."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
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
    request_seed,
)
from synthbench_api._sdk import call_error, parsed, require, require_key, usage_number
from synthbench_api.prices import price_for

CAPABILITIES = frozenset({Capability.SEED, Capability.MULTI_TURN, Capability.BATCH,
                          Capability.LOGIT_BIAS, Capability.BATCH_API})
_TIKTOKEN_LOCK = threading.Lock()
ENDPOINT = "/v1/chat/completions"
FINISHED = frozenset({"completed", "failed", "expired", "cancelled"})


def sdk_seed(request: GenerationRequest) -> int:
    """The seed sent to the API: from the request's seed and sample index, so repeated
    identical prompts are different samples."""
    return request_seed("openai", request.seed, request.sample_index)


class OpenAIBackend:
    """One ``AsyncOpenAI`` client with ``max_retries=0``."""

    def __init__(self, model: str) -> None:
        openai = require("openai")
        require_key("OPENAI_API_KEY", f"openai/{model}")
        self.model = model
        self.openai = openai
        self.client = openai.AsyncOpenAI(max_retries=0)

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The chat-completions body of one request."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_completion_tokens": request.max_tokens, "temperature": request.temperature,
            "top_p": request.top_p, "seed": sdk_seed(request),
        }
        if request.logit_bias:
            body["logit_bias"] = {str(int(t)): float(b) for t, b in request.logit_bias}
        return body

    async def call(self, request: GenerationRequest, timeout: float) -> Reply:
        try:
            raw = await self.client.chat.completions.with_raw_response.create(
                **self.body(request), timeout=timeout)
            response = await parsed(raw)
        except CallError:
            raise
        except Exception as exc:
            raise call_error(exc) from None
        return Reply(parse_chat_completion(response), dict(raw.headers),
                     str(getattr(response, "system_fingerprint", None) or ""))

    async def aclose(self) -> None:
        await self.client.close()

    async def submit_batch(self, items: Sequence[tuple[str, GenerationRequest]]) -> str:
        """Upload the requests as a JSONL file and start a Batch API job on it."""
        lines = [json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT,
                             "body": self.body(request)}) for key, request in items]
        try:
            uploaded = await self.client.files.create(
                file=("synthbench-batch.jsonl", ("\n".join(lines) + "\n").encode()),
                purpose="batch")
            batch = await self.client.batches.create(
                input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
        except Exception as exc:
            raise call_error(exc) from None
        return str(batch.id)

    async def poll_batch(self, job_id: str) -> BatchState:
        try:
            batch = await self.client.batches.retrieve(job_id)
        except Exception as exc:
            raise call_error(exc) from None
        counts = getattr(batch, "request_counts", None)
        detail = (f" {counts.completed}/{counts.total}" if counts is not None else "")
        return BatchState(batch.status in FINISHED, f"{batch.status}{detail}")

    async def collect_batch(self, job_id: str) -> dict[str, Reply | CallError]:
        """Answers from the output file, failures from the error file."""
        try:
            batch = await self.client.batches.retrieve(job_id)
            files = [f for f in (batch.output_file_id, batch.error_file_id) if f]
            texts = [(await self.client.files.content(f)).text for f in files]
        except Exception as exc:
            raise call_error(exc) from None
        results: dict[str, Reply | CallError] = {}
        for line in "\n".join(texts).splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            response = entry.get("response") or {}
            key = str(entry.get("custom_id"))
            if response.get("status_code") == 200:
                try:
                    parsed_body = self.openai.types.chat.ChatCompletion.model_validate(
                        response["body"])
                    results[key] = Reply(parse_chat_completion(parsed_body), {}, str(
                        parsed_body.system_fingerprint or ""))
                except CallError as exc:
                    results[key] = exc
                except Exception as exc:
                    results[key] = call_error(exc)
            else:
                error = entry.get("error") or response.get("body") or {}
                results[key] = CallError("batch", f"batch item failed: {json.dumps(error)[:200]}")
        return results


def parse_chat_completion(response: Any) -> Completion:
    """A chat completion object as a ``Completion``; anything missing is garbage."""
    choices = getattr(response, "choices", None)
    usage = getattr(response, "usage", None)
    if not choices or usage is None or getattr(response, "model", None) is None:
        raise CallError("garbage", "malformed chat completion (no choices, usage or model)")
    choice = choices[0]
    message = getattr(choice, "message", None)
    details = getattr(usage, "prompt_tokens_details", None)
    return Completion(
        text=str(getattr(message, "content", None) or ""), model=str(response.model),
        usage=Usage(usage_number(usage.prompt_tokens), usage_number(usage.completion_tokens),
                    usage_number(getattr(details, "cached_tokens", 0))),
        finish_reason=str(getattr(choice, "finish_reason", None) or "stop"))


def _litellm_tiktoken_dir() -> Path | None:
    """litellm ships cl100k_base and o200k_base in tiktoken's cache layout; found without
    importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return folder if folder.is_dir() else None


def load_encoding(model: str) -> Any | None:
    """tiktoken's encoding of ``model`` if it loads without the network (from
    ``TIKTOKEN_CACHE_DIR``, else the copy bundled with litellm); else ``None``."""
    if importlib.util.find_spec("tiktoken") is None:
        return None
    import tiktoken
    import tiktoken.load

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None
    folders = [os.environ.get("TIKTOKEN_CACHE_DIR")] if os.environ.get(
        "TIKTOKEN_CACHE_DIR") else []
    bundled = _litellm_tiktoken_dir()
    folders += [str(bundled)] if bundled else []

    def offline(blobpath: str) -> bytes:
        raise OSError(f"tiktoken would download {blobpath}")

    with _TIKTOKEN_LOCK:
        saved_reader, saved_dir = tiktoken.load.read_file, os.environ.get("TIKTOKEN_CACHE_DIR")
        tiktoken.load.read_file = offline
        try:
            for folder in folders:
                os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
                with contextlib.suppress(OSError, ValueError):
                    return tiktoken.get_encoding(name)
        finally:
            tiktoken.load.read_file = saved_reader
            if saved_dir is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = saved_dir
    return None


class OpenAIProvider(LayeredProvider):
    """An OpenAI model; ``tokenize`` gives its own token ids (for ``logit_bias``) when
    tiktoken can load the model's encoding offline."""

    def __init__(self, layer: RequestLayer) -> None:
        self.encoding = load_encoding(layer.model)
        capabilities = CAPABILITIES | ({Capability.TOKENIZE} if self.encoding else set())
        provenance = {"sdk": "openai", "sdk_version": _version("openai"),
                      "base_url": _base_url()}
        if self.encoding is not None:
            provenance["tokenizer"] = f"tiktoken {_version('tiktoken')} {self.encoding.name}"
        super().__init__(layer, frozenset(capabilities), provenance)

    def tokenize(self, text: str) -> list[int]:
        if self.encoding is None:
            raise SynthbenchError(f"{self.model_id}: tiktoken has no offline encoding for this "
                                  "model (set TIKTOKEN_CACHE_DIR to a folder that holds it)")
        return list(self.encoding.encode(text))


def _version(package: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _base_url() -> str:
    """Where requests go (a custom base URL is provenance; it never holds the key)."""
    return redact(os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1")


def build(name: str, calls: CallContext) -> OpenAIProvider:
    model = name.strip()
    if not model:
        raise SynthbenchError("openai needs a model: write openai/<model>, e.g. "
                              "openai/gpt-4o-mini")
    require("openai")
    layer = RequestLayer("openai", model, lambda: OpenAIBackend(model), calls,
                         price=price_for(f"openai/{model}"))
    return OpenAIProvider(layer)
