"""What the API models cost: a versioned table of US dollars per million tokens, as the
providers list them on their pricing pages at ``PRICES_VERSION``. A model missing here may
still be priced by its SDK (litellm's bundled map); a model with no price anywhere has an
unknown cost (``None``), never a made-up one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthbench import Price

PRICES_VERSION = "2026-11-01"
SOURCE = f"synthbench price table {PRICES_VERSION}"

# provider/model -> price; dated model ids match their undated family by prefix.
PRICES: Mapping[str, Price] = {
    "openai/gpt-4o-mini": Price(0.15, 0.60, 0.075, SOURCE),
    "openai/gpt-4o": Price(2.50, 10.00, 1.25, SOURCE),
    "openai/gpt-4.1": Price(2.00, 8.00, 0.50, SOURCE),
    "openai/gpt-4.1-mini": Price(0.40, 1.60, 0.10, SOURCE),
    "openai/gpt-4.1-nano": Price(0.10, 0.40, 0.025, SOURCE),
    "openai/gpt-3.5-turbo": Price(0.50, 1.50, None, SOURCE),
    "anthropic/claude-3-haiku": Price(0.25, 1.25, 0.03, SOURCE),
    "anthropic/claude-3-5-haiku": Price(0.80, 4.00, 0.08, SOURCE),
    "anthropic/claude-haiku-4-5": Price(1.00, 5.00, 0.10, SOURCE),
    "anthropic/claude-sonnet-4": Price(3.00, 15.00, 0.30, SOURCE),
    "anthropic/claude-sonnet-4-5": Price(3.00, 15.00, 0.30, SOURCE),
    "anthropic/claude-opus-4": Price(15.00, 75.00, 1.50, SOURCE),
}


def price_for(model_id: str, stated: Mapping[str, Any] | None = None) -> Price | None:
    """The price of ``model_id``: the table (longest matching family first), else the price
    ``stated`` by the SDK (``Price.as_dict()`` form), else ``None`` (unknown)."""
    model_id = model_id.strip()
    families = sorted((k for k in PRICES if model_id == k or model_id.startswith(k + "-")),
                      key=len, reverse=True)
    if families:
        return PRICES[families[0]]
    return Price.from_dict(stated)
