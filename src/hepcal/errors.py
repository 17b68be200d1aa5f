"""Exceptions shared by every layer.

The library raises; only the CLI and web layers turn these into exit codes or HTTP answers.
A user's mistake is an :class:`InputError` whose message names the problem and what is
allowed, so that no entry point ever has to show a traceback.
"""

from __future__ import annotations


class HepcalError(Exception):
    """Base class of every error hepcal raises on purpose."""


class InputError(HepcalError):
    """The user's input is wrong (bad case, bad file, bad option)."""


class KnowledgeBaseError(HepcalError):
    """The knowledge base failed validation; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = f"knowledge base is invalid ({len(self.problems)} problem(s))"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))
