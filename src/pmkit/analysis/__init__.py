"""Pure functions over frames: they never read files. Definitions live in their docstrings
and in docs/analyses.md."""
