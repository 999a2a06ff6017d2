"""The built-in plugins the command line uses when told nothing else, named once (as pytest
names its ``default_plugins``). This is the only core module that names a plugin id: every
other one takes ids as parameters."""

from __future__ import annotations

MODEL = "local"
GENERATORS = ("zero_shot",)
CLASSIFIERS = ("tfidf_lr", "minilm_lr")
ORACLE = "minilm_lr"  # the real-data classifier behind label accuracy and label replacement
# Li et al.'s order, which the leaderboard's findings test: each generator should beat the one
# before it at equal N, and real data should beat both.
GENERATOR_ORDER = ("zero_shot", "few_shot")

EXECUTORS = ("local", "ray")  # cells in this process, or as tasks on a Ray cluster
EXECUTOR = "local"
