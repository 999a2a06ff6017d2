"""The request layer under every provider, one concept per module.

- ``errors``   what can go wrong with a call and what the layer does about it; key redaction
- ``settings`` how requests are sent (``SendSettings``) and cached (``CacheSettings``)
- ``limits``   token buckets and the budget, owned by the run (``Limits``), no module globals
- ``shared``   the same limits owned by one place for many processes (a cluster's workers)
- ``context``  ``CallContext``: the mode, cache and limits a run hands every provider it builds
- ``cache``    the SQLite request cache and its one front end, for API and in-process models
- ``layer``    ``RequestLayer``: one API model's backend, cache view, settings and event loop
- ``provider`` ``LayeredProvider``: an API plugin's backend as a ``Provider``
- ``online``   sending one request at a time, concurrently, with retries and the budget
- ``batch``    sending through a provider's batch API, resumable by stored job ids
"""

from synthbench.calls.cache import CachedProvider, cache_key
from synthbench.calls.context import CallContext
from synthbench.calls.errors import BudgetReached, CallError, classify_status, redact
from synthbench.calls.layer import RequestLayer, estimate_input_tokens
from synthbench.calls.limits import Budget, Limits, TokenBucket
from synthbench.calls.provider import LayeredProvider
from synthbench.calls.settings import CacheSettings, SendSettings
from synthbench.calls.shared import LimitsOwner, SharedLimits

__all__ = [
    "Budget",
    "BudgetReached",
    "CacheSettings",
    "CachedProvider",
    "CallContext",
    "CallError",
    "LayeredProvider",
    "Limits",
    "LimitsOwner",
    "RequestLayer",
    "SendSettings",
    "SharedLimits",
    "TokenBucket",
    "cache_key",
    "classify_status",
    "estimate_input_tokens",
    "redact",
]
