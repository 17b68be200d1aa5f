"""Exceptions shared by every layer.

The library raises; only the CLI and web layers turn these into exit codes or HTTP answers.
A user's mistake is an :class:`InputError` whose message names the problem and what is
allowed, so that no entry point ever has to show a traceback.
"""

from __future__ import annotations

import reprlib


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


# How much of a user's input an error message may quote. A message names the problem; echoing a
# 10 MB value, an expanded alias bomb or a million bad list items back would bury it (and, for
# the bomb, take minutes and gigabytes to format).
MAX_SHOWN_CHARS = 60
MAX_LISTED_PROBLEMS = 20


def _repr() -> "reprlib.Repr":
    r = reprlib.Repr()
    r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset = 2, 4, 4, 4, 4
    r.maxstring = r.maxother = r.maxlong = MAX_SHOWN_CHARS
    return r


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """A short ``repr`` of a user's value: bounded in length and depth whatever its size."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = _repr().repr(value)
    except (ValueError, RecursionError):  # an int beyond str()'s digit limit deep inside
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit + 20 else text[:limit] + "…"


def listed(lines: list[str], limit: int = MAX_LISTED_PROBLEMS) -> list[str]:
    """At most ``limit`` lines, then one saying how many more were left out."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"… and {len(lines) - limit} more problem(s) not listed"]


class NotFound(HepcalError):
    """Something the user asked for by id does not exist (the web app answers 404).

    Only this error becomes a 404: a ``KeyError`` or ``LookupError`` from a bug is a 500 with a
    logged trace, never a misleading "not found".
    """
