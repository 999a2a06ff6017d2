"""``CallContext``: what a run hands every provider it builds. Configuration travels here as
parameters, never through ``os.environ``: the request mode, the cache, the shared limits."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from synthbench.calls.limits import Limits
from synthbench.calls.settings import CacheSettings, SendSettings


def _stderr(line: str) -> None:
    print(f"synthbench: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class CallContext:
    """How the providers of one run send and cache, and the limits they share.

    ``send`` fixes the send settings of every model (tests, benchmarks); left ``None``, each
    model's are read from ``environ`` with ``mode``. ``notify`` shows a line to the user
    (waiting for a batch job, say).
    """

    mode: str = "online"
    cache: CacheSettings = field(default_factory=CacheSettings.from_env)
    limits: Limits = field(default_factory=Limits)
    send: SendSettings | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    notify: Callable[[str], None] = _stderr

    def send_settings(self, model_id: str) -> SendSettings:
        if self.send is not None:
            return self.send
        return SendSettings.from_env(model_id, self.mode, self.environ)
