"""``CallContext``: what a run hands every provider it builds. Configuration travels here as
values read once at the edge: the request mode, the cache, the shared limits, the environment
snapshot that per-model send settings come from, and the provider options of ``-P``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synthbench.calls.limits import Limits
from synthbench.calls.settings import CacheSettings, SendSettings


def _stderr(line: str) -> None:
    print(f"synthbench: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class CallContext:
    """How the providers of one run send and cache, and the limits they share.

    ``send`` fixes the send settings of every model (tests, benchmarks); left ``None``, each
    model's are read from ``environ`` (a snapshot the edge took; empty: the defaults) with
    ``mode``. ``provider_options`` are the ``-P KEY=VALUE`` settings a provider declares (the
    local engine, its device). ``notify`` shows a line to the user (waiting for a batch job).
    """

    mode: str = "online"
    cache: CacheSettings = field(default_factory=CacheSettings)
    limits: Limits = field(default_factory=Limits)
    send: SendSettings | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    provider_options: Mapping[str, str] = field(default_factory=dict)
    notify: Callable[[str], None] = _stderr

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **values: Any) -> CallContext:
        """A context whose cache and send settings come from ``environ`` (the edge's
        ``os.environ``); ``values`` set the other fields."""
        return cls(cache=CacheSettings.from_env(environ), environ=dict(environ), **values)

    def send_settings(self, model_id: str) -> SendSettings:
        if self.send is not None:
            return self.send
        return SendSettings.from_env(model_id, self.mode, self.environ)
