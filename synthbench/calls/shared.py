"""Limits owned by one place and shared by several processes (the workers of a cluster).

``LimitsOwner`` keeps the real token buckets and budget; ``SharedLimits`` is the ``Limits``
a worker hands its providers, and asks the owner through ``call(method, *args)`` at every
reservation, so the rate per (provider, model) and ``--max-cost`` hold for the whole cluster,
not per worker. The transport is the caller's: a Ray actor (``synthbench.run.ray_executor``),
or a plain method call in tests. Waits are returned in seconds, so the owner's and the
workers' clocks never meet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from synthbench.calls.limits import Budget, Limits, TokenBucket

Call = Callable[..., Any]


class LimitsOwner:
    """The cluster's one ``Limits``, addressed by (provider, model) in plain arguments."""

    def __init__(self, max_usd: float | None = None) -> None:
        self.limits = Limits(max_usd)

    def _bucket(self, key: tuple[str, str], rates: tuple[float | None, float | None]
                ) -> TokenBucket:
        return self.limits.bucket(key[0], key[1], *rates)

    def reserve(self, key: tuple[str, str], rates: tuple[float | None, float | None],
                tokens: int) -> float:
        return self._bucket(key, rates).reserve(tokens)

    def throttled(self, key: tuple[str, str], rates: tuple[float | None, float | None],
                  retry_after: float | None) -> None:
        self._bucket(key, rates).throttled(retry_after)

    def succeeded(self, key: tuple[str, str], rates: tuple[float | None, float | None]) -> None:
        self._bucket(key, rates).succeeded()

    def observe(self, key: tuple[str, str], rates: tuple[float | None, float | None],
                headers: dict[str, str]) -> None:
        self._bucket(key, rates).observe(headers)

    def budget_reserve(self, worst_usd: float) -> bool:
        return self.limits.budget is None or self.limits.budget.reserve(worst_usd)

    def budget_settle(self, worst_usd: float, actual_usd: float) -> None:
        if self.limits.budget is not None:
            self.limits.budget.settle(worst_usd, actual_usd)

    def spent(self) -> float:
        """Dollars settled so far across the cluster."""
        return self.limits.budget.spent if self.limits.budget is not None else 0.0


class SharedBucket(TokenBucket):
    """A worker's handle on the owner's bucket of one (provider, model)."""

    def __init__(self, call: Call, key: tuple[str, str], rpm: float | None,
                 tpm: float | None) -> None:
        super().__init__(rpm, tpm)
        self._call, self._key, self._rates = call, key, (rpm, tpm)

    def reserve(self, tokens: int) -> float:
        return float(self._call("reserve", self._key, self._rates, tokens))

    def throttled(self, retry_after: float | None) -> None:
        self._call("throttled", self._key, self._rates, retry_after)

    def succeeded(self) -> None:
        self._call("succeeded", self._key, self._rates)

    def observe(self, headers: Mapping[str, str]) -> None:
        self._call("observe", self._key, self._rates, dict(headers))


class SharedBudget(Budget):
    """A worker's handle on the owner's budget."""

    def __init__(self, call: Call, max_usd: float) -> None:
        super().__init__(max_usd)
        self._call = call

    def reserve(self, worst_usd: float) -> bool:
        return bool(self._call("budget_reserve", worst_usd))

    def settle(self, worst_usd: float, actual_usd: float) -> None:
        self._call("budget_settle", worst_usd, actual_usd)


class SharedLimits(Limits):
    """``Limits`` whose buckets and budget live with a ``LimitsOwner`` reached by ``call``."""

    def __init__(self, call: Call, max_usd: float | None = None) -> None:
        super().__init__(None)
        self._call = call
        self.budget = SharedBudget(call, max_usd) if max_usd is not None else None

    def bucket(self, provider: str, model: str, rpm: float | None,
               tpm: float | None) -> TokenBucket:
        with self._lock:
            key = (provider, model)
            if key not in self._buckets:
                self._buckets[key] = SharedBucket(self._call, key, rpm, tpm)
            return self._buckets[key]
