"""The error a user can fix. A leaf: it imports nothing of synthbench, so every layer can raise
it without depending on another."""


class SynthbenchError(Exception):
    """An error the user can fix; the CLI prints its message as one line and exits non-zero."""
