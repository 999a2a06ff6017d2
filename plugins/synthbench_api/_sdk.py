"""What the OpenAI-style SDKs (openai, anthropic; litellm re-raises openai's types) share:
lazy import with a pip hint, the key check, and turning their exceptions into ``CallError``."""

from __future__ import annotations

import importlib
import inspect
import json
import os
from typing import Any

from synthbench import CallError, SynthbenchError, classify_status

PINS = {"openai": "openai==3.54.0", "anthropic": "anthropic==2.12.0",
        "litellm": "litellm==1.83.0", "tiktoken": "tiktoken==0.14.0"}


def require(module: str) -> Any:
    """Import an SDK (as ``Any``: SDK modules are configured by attribute), or say in one
    line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SynthbenchError(
            f"the {module} provider needs the {module} package: pip install "
            f"'{PINS.get(module, module)}' (or pip install 'synthbench[api]')") from None


def require_key(variable: str, model_id: str) -> None:
    """Keys come only from the environment; say which variable is missing."""
    if not os.environ.get(variable, "").strip():
        raise SynthbenchError(f"{model_id} needs an API key: set {variable} in the environment")


def call_error(exc: BaseException) -> CallError:
    """An SDK exception as the request layer's ``CallError`` (by duck type: both SDKs, and
    litellm through openai's, raise status errors with ``status_code`` and ``response``)."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if isinstance(status, int):
        raw_headers = getattr(response, "headers", None) or getattr(exc, "headers", None) or {}
        headers = {str(k).lower(): str(v) for k, v in dict(raw_headers).items()}
        body = getattr(exc, "body", None)
        text = json.dumps(body) if isinstance(body, (dict, list)) else str(body or exc)
        return classify_status(status, text, headers)
    if "Timeout" in name:
        return CallError("timeout", f"timed out ({name})")
    if "Connection" in name:
        return CallError("connection", f"connection failed ({name})")
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)) or "Validation" in name:
        return CallError("garbage", f"malformed response ({name})")
    return CallError("fatal", f"{name}: {exc}")


def usage_number(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


async def parsed(raw: Any) -> Any:
    """The parsed body of a raw SDK response (``parse`` is a coroutine in some SDKs)."""
    result = raw.parse()
    return await result if inspect.isawaitable(result) else result
