"""Running cells, one concept per module.

- ``workspace`` ``RunSettings`` and ``Workspace``: plugins, settings, the providers, task data
  and oracles a run builds once and shares (and closes), and where each cell lies
- ``stages``    generate, curate, score, measure, run a baseline: each returns a typed value
- ``fitting``   fitting a classifier and scoring it on the real test split
- ``planning``  rehearsing cells: the dry-run estimate and the requests batch mode sends
- ``grid``      configs from the command line's lists; one factory for any component
- ``runner``    ``Runner``: orders the stages, reuses and extends what is stored
- ``headroom``  a classifier's chance level and real ceiling, and the gap a cell closes
"""

from synthbench.run.grid import make_configs
from synthbench.run.runner import CellOutcome, Runner
from synthbench.run.workspace import RunSettings, Workspace

__all__ = ["CellOutcome", "RunSettings", "Runner", "Workspace", "make_configs"]
