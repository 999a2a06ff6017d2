"""How requests are sent and where answers are cached; none of it reaches a cache key or a
result. Read from an environment mapping the edge (the CLI, the pytest plugin) passes in once;
nothing here reads ``os.environ``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from synthbench.errors import SynthbenchError
from synthbench.paths import cache_dir

MODES = ("online", "batch")


def _number_env(name: str, environ: Mapping[str, str], model_id: str) -> float | None:
    """A number from ``name``: either one value, or ``model=value`` pairs, comma-separated."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    chosen: str | None = None
    for part in raw.split(","):
        key, sep, value = part.strip().rpartition("=")
        if not sep:
            chosen = chosen if chosen is not None else value
        elif key.strip() == model_id:
            chosen = value
    if chosen is None:
        return None
    try:
        number = float(chosen)
    except ValueError:
        raise SynthbenchError(f"{name}={raw!r}: expected a number or model=number pairs"
                              ) from None
    if number <= 0:
        raise SynthbenchError(f"{name}: expected a positive number, got {chosen!r}")
    return number


@dataclass(frozen=True)
class SendSettings:
    """Concurrency, rate limits, retries and timeouts of one model's calls, and the mode:
    ``online`` or ``batch`` (the provider's batch API: half the price, hours)."""

    concurrency: int = 32
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_retries: int = 4
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    timeout_base_s: float = 30.0
    timeout_per_token_s: float = 0.1
    mode: str = "online"
    batch_poll_s: float = 30.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SynthbenchError(f"request mode must be online or batch, got {self.mode!r}")

    @classmethod
    def from_env(cls, model_id: str, mode: str, environ: Mapping[str, str]) -> SendSettings:
        """``SYNTHBENCH_CONCURRENCY``, ``SYNTHBENCH_RPM``, ``SYNTHBENCH_TPM`` (a number or
        ``provider/model=number`` pairs), ``SYNTHBENCH_MAX_RETRIES``,
        ``SYNTHBENCH_REQUEST_TIMEOUT`` (base seconds) and ``SYNTHBENCH_BATCH_POLL``."""
        env = environ
        settings = cls(mode=mode)
        concurrency = _number_env("SYNTHBENCH_CONCURRENCY", env, model_id)
        retries = env.get("SYNTHBENCH_MAX_RETRIES", "").strip()
        timeout = _number_env("SYNTHBENCH_REQUEST_TIMEOUT", env, model_id)
        if retries and not retries.isdigit():
            raise SynthbenchError(f"SYNTHBENCH_MAX_RETRIES must be an integer >= 0, "
                                  f"got {retries!r}")
        poll = _number_env("SYNTHBENCH_BATCH_POLL", env, model_id)
        return replace(
            settings, batch_poll_s=poll or settings.batch_poll_s,
            concurrency=int(concurrency) if concurrency else settings.concurrency,
            requests_per_minute=_number_env("SYNTHBENCH_RPM", env, model_id),
            tokens_per_minute=_number_env("SYNTHBENCH_TPM", env, model_id),
            max_retries=int(retries) if retries else settings.max_retries,
            timeout_base_s=timeout or settings.timeout_base_s,
        )

    def timeout_for(self, max_tokens: int) -> float:
        return self.timeout_base_s + self.timeout_per_token_s * max_tokens

    @property
    def batch(self) -> bool:
        return self.mode == "batch"


@dataclass(frozen=True)
class CacheSettings:
    """The request cache: one SQLite file shared by every provider, or none at all."""

    path: Path | None = None  # None: <cache dir>/requests.sqlite
    enabled: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CacheSettings:
        """``SYNTHBENCH_REQUEST_CACHE``: a path, or ``off``."""
        raw = environ.get("SYNTHBENCH_REQUEST_CACHE", "").strip()
        if raw.lower() == "off":
            return cls(enabled=False)
        return cls(path=Path(raw).expanduser() if raw else None)

    @property
    def file(self) -> Path:
        return self.path or cache_dir() / "requests.sqlite"
