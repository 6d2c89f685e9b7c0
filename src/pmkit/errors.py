"""Errors that say what went wrong, where, and what was expected.

Every pmkit error derives from :class:`PmkitError` and also from the builtin
that matches it, so ``except ValueError`` keeps working for callers that do not
know pmkit.
"""

from __future__ import annotations


class PmkitError(Exception):
    """Root of every error pmkit raises on purpose."""


class SpecError(PmkitError, ValueError):
    """``incident.yaml`` is missing, unreadable or does not match the spec.

    ``problems`` lists one line per problem, each naming the key path.
    """

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path}: {len(problems)} {noun}:\n{lines}")


class SourceError(PmkitError, ValueError):
    """A source cannot be read at all (missing file, wrong format for the whole file)."""


class OutsideFolderError(SourceError):
    """A source's path resolves outside the incident folder (``..``, absolute, a symlink) and the source does
    not allow it: an error for the author to fix, never turned into a reject."""


class SchemaError(PmkitError, ValueError):
    """A frame does not follow the events or series contract (a bug in a loader)."""


class UnknownFormatError(PmkitError, LookupError):
    """No loader is registered for a (kind, format) pair."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else ""


class MilestoneOrderError(PmkitError, ValueError):
    """Milestones are in an impossible order (e.g. resolved before impact start)."""


class MissingExtraError(PmkitError, ImportError):
    """An optional part of pmkit was used without its extra; the message says what to install.

    Defined here (the lowest layer) so loaders can raise it too (``lake``); :mod:`pmkit.report.extras`
    raises it for ``render``."""

    exit_code = 2
