"""``refusal_filter``: remove texts that are a model's refusal ("I'm sorry, but I can't ...",
"As an AI ..."), with the detector generation already uses: ``parse_text`` drops a completion
that starts as a refusal and counts it in ``generation.counts.refusals``. Run as a step, the
same test (``REFUSAL``) is applied to the texts a cell kept, which catches refusals that came
through another way (a generator that parses replies itself, texts from outside) and makes the
removal visible in the curation record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthbench import REFUSAL, Example, InterventionContext, InterventionOutcome
from synthbench_interventions._removal import removal


class RefusalFilter:
    """Removal of refusals (no parameters)."""

    def get_params(self) -> dict[str, Any]:
        return {}

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome:
        reasons = {i: {"matched": match.group(0)} for i, e in enumerate(examples)
                   if (match := REFUSAL.match(e.text.strip())) is not None}
        return removal(examples, reasons, detector="synthbench.REFUSAL (as parse_text)")
