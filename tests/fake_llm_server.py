"""A loopback fake of the OpenAI and Anthropic HTTP APIs, for driving the real SDK clients.

Speaks OpenAI chat completions, files and batches, and Anthropic messages and message
batches. Faults are injected by chance (decided from the request body and its attempt
number, so a run is reproducible): 429 with and without ``retry-after``, 5xx, garbage or
truncated JSON, hangs; plus a per-model rate limit, a fixed latency, a wrong-key 401 that
echoes the key (as real servers do), and a spend-cap 429. Every request lands in ``log``.
Binds 127.0.0.1 on an ephemeral port only.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Faults:
    """Chances per attempt (they add up; the rest succeed)."""

    rate_limit_with_retry_after: float = 0.0
    rate_limit_without_retry_after: float = 0.0
    server_error: float = 0.0
    garbage: float = 0.0
    hang: float = 0.0
    retry_after_s: float = 0.05


@dataclass
class ServerConfig:
    faults: Faults = field(default_factory=Faults)
    latency_s: float = 0.0
    requests_per_minute: float | None = None  # per model
    hang_s: float = 30.0
    api_key: str | None = None  # when set, any other key gets a 401 that echoes it
    echo_key: bool = False  # a 200 answer whose text echoes the caller's key, whole and masked
    echo_key_400: bool = False  # every request gets a 400 that echoes the key's tail unmasked
    spend_cap: bool = False
    seed: int = 0
    batch_delay_s: float = 0.3  # a batch job is "in progress" this long after it is created
    failing_polls: int = 0  # the first this many batch polls get a 503


@dataclass
class LoggedRequest:
    path: str
    model: str
    fingerprint: str  # hash of the request body: one per distinct request
    attempt: int
    outcome: str
    at: float
    body: dict[str, Any] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    """A threaded HTTP server with a listen queue deep enough for a burst of clients."""

    request_queue_size = 512
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up (timeout, cancel) closed its socket: expected here


class _Limiter:
    """A token bucket per model: the fake provider's own rate limit."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60
        self.capacity = max(2.0, self.rate * 1.0)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None when allowed; else the seconds until a request would be allowed."""
        with self.lock:
            now = time.monotonic()
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.level >= 1:
                self.level -= 1
                return None
            return (1 - self.level) / self.rate


def sample_text(seed_material: str, prompt: str, temperature: float) -> str:
    """A plausible short text from the prompt's words; at temperature 0 always the same."""
    rng = random.Random(seed_material if temperature > 0 else prompt)
    words = re.findall(r"[A-Za-z]{3,}", prompt) or ["text"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(8, 16))) + "."


class FakeLLMServer:
    """``with FakeLLMServer(config) as server:`` then point the SDKs at ``server.openai_url``
    and ``server.anthropic_url``."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.log: list[LoggedRequest] = []
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.limiters: dict[str, _Limiter] = {}
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.log:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        return counts

    # -- deciding what to answer ------------------------------------------------------------

    def _decide(self, body: bytes, model: str) -> tuple[str, int, str]:
        fingerprint = hashlib.sha256(body).hexdigest()
        with self.lock:
            attempt = self.attempts.get(fingerprint, 0) + 1
            self.attempts[fingerprint] = attempt
        cfg = self.config
        if cfg.requests_per_minute:
            with self.lock:
                limiter = self.limiters.setdefault(model, _Limiter(cfg.requests_per_minute))
            if limiter.take() is not None:
                return "rate_limited_by_limit", attempt, fingerprint
        f = cfg.faults
        u = random.Random(f"{cfg.seed}:{fingerprint}:{attempt}").random()
        for outcome, chance in (("429_retry_after", f.rate_limit_with_retry_after),
                                ("429_no_header", f.rate_limit_without_retry_after),
                                ("5xx", f.server_error), ("garbage", f.garbage),
                                ("hang", f.hang)):
            if u < chance:
                return outcome, attempt, fingerprint
            u -= chance
        return "ok", attempt, fingerprint

    def _record(self, path: str, model: str, fingerprint: str, attempt: int,
                outcome: str, body: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.log.append(LoggedRequest(path, model, fingerprint, attempt, outcome,
                                          time.monotonic(), body or {}))

    # -- HTTP ------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                server._dispatch(self, "POST", body)

            def do_GET(self) -> None:
                server._dispatch(self, "GET", b"")

        return Handler

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, anthropic: bool, status: int, kind: str,
               message: str, headers: dict[str, str] | None = None, code: str = "") -> None:
        payload = ({"type": "error", "error": {"type": kind, "message": message}} if anthropic
                   else {"error": {"message": message, "type": kind, "code": code or None}})
        self._send(handler, status, payload, headers)

    def _key_of(self, handler: BaseHTTPRequestHandler) -> str:
        auth = handler.headers.get("authorization", "")
        return handler.headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        path = handler.path.split("?")[0]
        anthropic = path.startswith("/v1/messages")
        cfg = self.config
        key = self._key_of(handler)
        if cfg.api_key is not None and key != cfg.api_key:
            self._record(path, "", "", 0, "401")
            shown = key if anthropic else f"{key[:3]}...{key[-4:]}" if len(key) > 8 else key
            return self._error(handler, anthropic, 401, "authentication_error",
                               f"Incorrect API key provided: {shown}. Full key: {key}",
                               code="invalid_api_key")
        if cfg.echo_key_400:
            self._record(path, "", "", 0, "400")
            return self._error(handler, anthropic, 400, "invalid_request_error",
                               f"key ending in '{key[-6:]}' cannot use this model (head {key[:6]})")
        if method == "POST" and path in ("/v1/chat/completions", "/v1/messages"):
            return self._generate(handler, body, anthropic, key)
        if path.startswith("/v1/files") or path.startswith("/v1/batches") or \
                path.startswith("/v1/messages/batches"):
            return self._batch_api(handler, method, path, body)
        self._error(handler, anthropic, 404, "not_found_error", f"no route {method} {path}")

    def _generate(self, handler: BaseHTTPRequestHandler, body: bytes, anthropic: bool,
                  key: str = "") -> None:
        path = handler.path.split("?")[0]
        try:
            request = json.loads(body)
        except json.JSONDecodeError:
            return self._error(handler, anthropic, 400, "invalid_request_error", "bad JSON")
        model = str(request.get("model", ""))
        if self.config.spend_cap:
            self._record(path, model, "", 0, "spend_cap")
            kind = "insufficient_quota"
            return self._error(handler, anthropic, 429, kind, "You exceeded your current "
                               "quota, please check your plan and billing details.", code=kind)
        outcome, attempt, fingerprint = self._decide(body, model)
        self._record(path, model, fingerprint, attempt, outcome, request)
        if self.config.latency_s:
            time.sleep(self.config.latency_s)
        limit_headers = {}
        if self.config.requests_per_minute:
            limit_headers = {"x-ratelimit-limit-requests": str(int(
                self.config.requests_per_minute))}
        if outcome == "rate_limited_by_limit":
            return self._error(handler, anthropic, 429, "rate_limit_error", "Rate limit reached",
                               {"retry-after": "1", **limit_headers})
        if outcome == "429_retry_after":
            return self._error(handler, anthropic, 429, "rate_limit_error", "Rate limit reached",
                               {"retry-after": f"{self.config.faults.retry_after_s:g}"})
        if outcome == "429_no_header":
            return self._error(handler, anthropic, 429, "rate_limit_error", "Rate limit reached")
        if outcome == "5xx":
            return self._error(handler, anthropic, 500 + attempt % 4, "api_error", "oops")
        if outcome == "garbage":
            raw = (b'{"id": "chatcmpl-trunc", "choices": [{"index": 0, "mess' if attempt % 2
                   else b"<html>502 Bad Gateway</html>")
            return self._send(handler, 200, None, raw=raw)
        if outcome == "hang":
            self.stopping.wait(self.config.hang_s)
            handler.close_connection = True
            return None
        payload = (self.answer(request, anthropic, key) if self.config.echo_key
                   else self.answer(request, anthropic))
        return self._send(handler, 200, payload, limit_headers)

    def answer(self, request: dict[str, Any], anthropic: bool, echo: str = "") -> dict[str, Any]:
        """A successful response body for one chat/messages request; ``echo`` (a key) is
        written into its text and served model, whole and masked."""
        model = str(request.get("model", ""))
        messages = request.get("messages", [])
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        if anthropic and request.get("system"):
            prompt = f"{request['system']} {prompt}"
        temperature = float(request.get("temperature", 1.0))
        seed = request.get("seed")
        material = (f"{seed}:{prompt}" if seed is not None else uuid.uuid4().hex)
        text = sample_text(material, prompt, temperature)
        limit = int(request.get("max_completion_tokens") or request.get("max_tokens") or 16)
        words = text.split()
        finish = "stop"
        if len(words) > limit:
            text, finish = " ".join(words[:limit]), "length"
        prompt_tokens = max(1, len(prompt) // 4)
        cached = prompt_tokens // 4
        out_tokens = len(text.split())
        served = f"{model}-2026-01-01"
        if echo:
            text = (f"{text} (debug: key {echo}, shown as {echo[:3]}...{echo[-4:]} "
                    f"and {echo[:7]}****{echo[-4:]})")
            served = f"{served}+{echo}"
        if anthropic:
            return {"id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message",
                    "role": "assistant", "model": served,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "max_tokens" if finish == "length" else "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt_tokens - cached,
                              "cache_read_input_tokens": cached,
                              "cache_creation_input_tokens": 0,
                              "output_tokens": out_tokens}}
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                "created": int(time.time()), "model": served, "system_fingerprint": "fp_fake01",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": out_tokens,
                          "total_tokens": prompt_tokens + out_tokens,
                          "prompt_tokens_details": {"cached_tokens": cached}}}

    # -- batch APIs ------------------------------------------------------------------------------

    def batch_creations(self) -> int:
        """Batch jobs submitted so far (OpenAI and Anthropic)."""
        return sum(e.outcome == "batch create" for e in self.log)

    def _batch_api(self, handler: BaseHTTPRequestHandler, method: str, path: str,
                   body: bytes) -> None:
        anthropic = path.startswith("/v1/messages")
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/files":
            data = _multipart_file(handler.headers.get("content-type", ""), body)
            file_id = f"file-{uuid.uuid4().hex[:12]}"
            with self.lock:
                self.files[file_id] = data
            self._record(path, "", "", 0, "file upload")
            return self._send(handler, 200, {"id": file_id, "object": "file",
                                             "bytes": len(data), "created_at": int(time.time()),
                                             "filename": "batch.jsonl", "purpose": "batch",
                                             "status": "processed"})
        if method == "GET" and len(parts) == 4 and parts[1] == "files" and parts[3] == "content":
            with self.lock:
                data = self.files.get(parts[2], b"")
            self._record(path, "", "", 0, "file download")
            return self._send(handler, 200, None, raw=data)
        if method == "POST" and path in ("/v1/batches", "/v1/messages/batches"):
            request = json.loads(body)
            if anthropic:
                items = [(r["custom_id"], r["params"]) for r in request["requests"]]
            else:
                with self.lock:
                    lines = self.files[request["input_file_id"]].decode().splitlines()
                items = [(line["custom_id"], line["body"]) for line in map(json.loads, lines)
                         if line]
            batch_id = f"{'msgbatch' if anthropic else 'batch'}_{uuid.uuid4().hex[:12]}"
            with self.lock:
                self.batches[batch_id] = {"items": items, "created": time.monotonic(),
                                          "anthropic": anthropic, "request": request}
            self._record(path, "", "", 0, "batch create")
            return self._send(handler, 200, self._batch_object(batch_id))
        if method == "GET" and parts[-1] == "results" and anthropic:
            batch_id = parts[-2]
            self._record(path, "", "", 0, "batch results")
            return self._send(handler, 200, None, raw=self._results(batch_id))
        if method == "GET" and parts[-1] in self.batches:
            with self.lock:
                failing = sum(e.outcome == "batch poll 503" for e in self.log) < \
                    self.config.failing_polls
            if failing:
                self._record(path, "", "", 0, "batch poll 503")
                return self._error(handler, anthropic, 503, "overloaded_error", "try later")
            self._record(path, "", "", 0, "batch poll")
            return self._send(handler, 200, self._batch_object(parts[-1]))
        self._error(handler, anthropic, 404, "not_found_error", f"no route {method} {path}")

    def _batch_object(self, batch_id: str) -> dict[str, Any]:
        with self.lock:
            batch = self.batches[batch_id]
        done = time.monotonic() - batch["created"] >= self.config.batch_delay_s
        count = len(batch["items"])
        if batch["anthropic"]:
            return {"id": batch_id, "type": "message_batch",
                    "processing_status": "ended" if done else "in_progress",
                    "request_counts": {"processing": 0 if done else count,
                                       "succeeded": count if done else 0, "errored": 0,
                                       "canceled": 0, "expired": 0},
                    "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
                    "ended_at": "2026-01-01T00:01:00Z" if done else None, "archived_at": None,
                    "cancel_initiated_at": None,
                    "results_url": (f"{self.anthropic_url}/v1/messages/batches/{batch_id}/results"
                                    if done else None)}
        output_id = None
        if done:
            output_id = f"file-out-{batch_id}"
            data = self._results(batch_id)
            with self.lock:
                self.files[output_id] = data
        return {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions",
                "input_file_id": batch["request"]["input_file_id"], "completion_window": "24h",
                "status": "completed" if done else "in_progress",
                "created_at": int(time.time()), "output_file_id": output_id,
                "error_file_id": None,
                "request_counts": {"total": count, "completed": count if done else 0,
                                   "failed": 0}}

    def _results(self, batch_id: str) -> bytes:
        with self.lock:
            batch = self.batches[batch_id]
            if "results" in batch:
                return bytes(batch["results"])
        lines = []
        for custom_id, params in batch["items"]:
            self._record("batch item", str(params.get("model", "")), custom_id, 1, "batch_item",
                         params)
            answer = self.answer(params, batch["anthropic"])
            if batch["anthropic"]:
                lines.append({"custom_id": custom_id,
                              "result": {"type": "succeeded", "message": answer}})
            else:
                lines.append({"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": custom_id,
                              "response": {"status_code": 200, "request_id": "req",
                                           "body": answer}, "error": None})
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        with self.lock:
            batch["results"] = data
        return data


def _multipart_file(content_type: str, body: bytes) -> bytes:
    """The ``file`` part of a multipart/form-data upload."""
    from email.parser import BytesParser

    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.get_payload():  # type: ignore[union-attr]
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return bytes(payload) if payload else b""
    return b""
