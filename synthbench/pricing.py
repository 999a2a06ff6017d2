"""Money: a versioned price table for API models, and the cost of a usage under a price.

Prices are US dollars per million tokens, as the providers list them on their pricing pages
at ``PRICES_VERSION``. A model missing here may still be priced by its provider plugin
(``describe()["price_per_million_tokens"]``, e.g. from litellm's bundled map); a model with
no price anywhere has an unknown cost (``None``), never a made-up one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from synthbench.types import Usage

PRICES_VERSION = "2026-11-01"
BATCH_DISCOUNT = 0.5  # both OpenAI's Batch API and Anthropic's Message Batches halve the price


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens: fresh input, input served from the prompt cache, output."""

    input: float
    output: float
    cached_input: float | None = None
    source: str = f"synthbench price table {PRICES_VERSION}"

    def cost(self, usage: Usage, batch: bool = False) -> float:
        """Dollars for ``usage``; cached input at its own rate (the input rate if none)."""
        cached = self.input if self.cached_input is None else self.cached_input
        fresh = max(0, usage.input_tokens - usage.cached_input_tokens)
        usd = (fresh * self.input + usage.cached_input_tokens * cached
               + usage.output_tokens * self.output) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# provider/model -> price; dated model ids match their undated family by prefix.
PRICES: Mapping[str, Price] = {
    "openai/gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "openai/gpt-4o": Price(2.50, 10.00, 1.25),
    "openai/gpt-4.1": Price(2.00, 8.00, 0.50),
    "openai/gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "openai/gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "openai/gpt-3.5-turbo": Price(0.50, 1.50),
    "anthropic/claude-3-haiku": Price(0.25, 1.25, 0.03),
    "anthropic/claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    "anthropic/claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "anthropic/claude-sonnet-4": Price(3.00, 15.00, 0.30),
    "anthropic/claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "anthropic/claude-opus-4": Price(15.00, 75.00, 1.50),
    "local": Price(0.0, 0.0, 0.0, "local model: no per-token price"),
}


def price_for(model_id: str, described: Mapping[str, Any] | None = None) -> Price | None:
    """The price of ``model_id``: the table (longest matching family first), else what the
    provider's ``describe()`` states, else ``None`` (unknown)."""
    model_id = model_id.strip()
    families = sorted((k for k in PRICES if model_id == k or model_id.startswith(k + "-")),
                      key=len, reverse=True)
    if families:
        return PRICES[families[0]]
    stated = (described or {}).get("price_per_million_tokens")
    if isinstance(stated, Mapping) and "input" in stated and "output" in stated:
        cached = stated.get("cached_input")
        return Price(float(stated["input"]), float(stated["output"]),
                     None if cached is None else float(cached),
                     str(stated.get("source", "stated by the provider plugin")))
    return None


def cost_record(usage: Usage, price: Price | None, batch: bool = False) -> dict[str, Any]:
    """The ``cost`` block of a cell: tokens, dollars (``None`` when unpriced), the price used."""
    return {"input_tokens": usage.input_tokens, "cached_input_tokens": usage.cached_input_tokens,
            "output_tokens": usage.output_tokens,
            "usd": None if price is None else round(price.cost(usage, batch), 6),
            "price_per_million_tokens": None if price is None else price.as_dict(),
            "batch_discount": batch}
