"""Measured subjectivity: task level (Li's pairwise protocol answered by an LLM judge, a
Bradley–Terry fit with bootstrap intervals) and instance level (annotator agreement, or a
judge's proxy for it, and score curves over agreement thresholds).

The names below are imported on first use, so ``synthbench list`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthbench.subjectivity.agreement import (
        agreement_curve,
        agreement_from_predictions,
        instance_agreement,
    )
    from synthbench.subjectivity.protocol import ProtocolSettings, measure, summary
    from synthbench.subjectivity.proxy import proxy_agreement
    from synthbench.subjectivity.run import measure_tasks
    from synthbench.subjectivity.store import best_record, read_records

_EXPORTS = {
    "agreement_curve": "agreement", "agreement_from_predictions": "agreement",
    "instance_agreement": "agreement",
    "ProtocolSettings": "protocol", "measure": "protocol", "summary": "protocol",
    "proxy_agreement": "proxy", "measure_tasks": "run",
    "best_record": "store", "read_records": "store",
}
__all__ = ["ProtocolSettings", "agreement_curve", "agreement_from_predictions", "best_record",
           "instance_agreement", "measure", "measure_tasks", "proxy_agreement", "read_records",
           "summary"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"synthbench.subjectivity.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'synthbench.subjectivity' has no attribute {name!r}")
