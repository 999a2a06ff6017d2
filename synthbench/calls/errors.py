"""What can go wrong with a call, what the layer does about it, and keeping keys out of text.

Backends turn an SDK's failure into a ``CallError`` whose ``kind`` decides the layer's move:
retry (``rate_limited``, ``server_error``, ``garbage``, ``timeout``, ``connection``) or stop
the run (``fatal``, ``spend_cap``). Every message passes ``redact`` before anyone sees it.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import os
import re
import time
from collections.abc import Mapping

from synthbench.errors import SynthbenchError

FATAL_STATUSES = frozenset({400, 401, 403, 404, 422})
SPEND_CAP_MARKERS = ("insufficient_quota", "billing_hard_limit", "spend_limit", "credit balance",
                     "exceeded your current quota", "billing limit")
ERROR_PREFIX = "error: "  # Completion.failed
SECRET_ENV = re.compile(r"(API_KEY|_KEY|_TOKEN|_SECRET)$")
MASK = re.compile(r"[*•…]|\.\.\.")
TOKEN = re.compile(r"[^\s\"'`,;()\[\]{}<>]+")


class CallError(Exception):
    """A failed call as a backend saw it; ``kind`` tells the layer to retry or to stop."""

    RETRYABLE = frozenset({"rate_limited", "server_error", "garbage", "timeout", "connection"})

    def __init__(self, kind: str, message: str, status: int | None = None,
                 retry_after: float | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(redact(message))
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE


class Halted(Exception):
    """A request that never started because an earlier one stopped the run."""


class BudgetReached(SynthbenchError):
    """The next call would cross ``--max-cost``; everything finished so far is kept."""


def _secrets() -> list[str]:
    return [value for name, value in os.environ.items()
            if len(value) >= 8 and SECRET_ENV.search(name)]


def redact(text: str) -> str:
    """``text`` with every secret-looking environment variable blanked out, whole or masked.

    Providers echo a rejected key masked (``sk-proj-****abcd``, ``sk-…abcd``) or in pieces: any
    word that carries a mask and ends with a secret's last four characters, or starts with its
    first four, and any word of four or more characters that is a piece of a secret, is
    blanked whole.
    """
    secrets = _secrets()
    if not secrets:
        return text
    for value in secrets:
        text = text.replace(value, "[redacted]")

    def masked(match: re.Match[str]) -> str:
        word = match.group(0)
        bare = word.strip(".:!?")
        if MASK.search(word) and any(
                word.rstrip(".:!?").endswith(v[-4:]) or word.startswith(v[:4]) for v in secrets):
            return "[redacted]"
        if len(bare) >= 4 and any(bare in v for v in secrets):
            return "[redacted]"
        return word

    return TOKEN.sub(masked, text)


def classify_status(status: int, body: str, headers: Mapping[str, str]) -> CallError:
    """Map an HTTP error to what the layer should do with it."""
    lowered = body.lower()
    short = " ".join(body.split())[:200]
    retry_after = retry_after_seconds(headers)
    if status == 429 and any(marker in lowered for marker in SPEND_CAP_MARKERS):
        return CallError("spend_cap", f"the provider's spend cap or quota is reached (429): "
                         f"{short}", status)
    if status == 429:
        return CallError("rate_limited", "rate limited (429)", status, retry_after, headers)
    if status in FATAL_STATUSES:
        return CallError("fatal", f"the provider refused the request ({status}): {short}",
                         status)
    if status == 408 or status >= 500 or status == 409:
        return CallError("server_error", f"server error ({status})", status, retry_after,
                         headers)
    return CallError("fatal", f"unexpected HTTP status {status}: {short}", status)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def reset_seconds(text: str) -> float | None:
    """OpenAI's reset durations ("1s", "6m0s", "20ms") or an RFC 3339 time, in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if parts and "".join(a + b for a, b in parts) == text.strip():
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(a) * scale[b] for a, b in parts)
    with contextlib.suppress(ValueError):
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return max(0.0, when.timestamp() - time.time())
    return None
