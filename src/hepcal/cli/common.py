"""What every command shares: the consoles and the translation of errors into exit codes.

Exit codes: 0 success; 1 some items of a batch failed (the good ones were processed);
2 bad input or usage (nothing was processed, or no item of a batch could be). A user's error is
one clear message on stderr, never a traceback.

Messages quote the user's input (a key, a value, a file name), so nothing from it may act on the
terminal: both consoles have emoji codes off (``:100:`` stays text), messages are printed without
markup (``[bold]`` stays text), and :func:`clean` removes control characters (ANSI escapes,
carriage returns, bidirectional overrides) from every message before it is printed.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from hepcal.errors import HepcalError

out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PARTIAL = 1
EXIT_USAGE = 2


def clean(message: object) -> str:
    """The message with every control character shown as ``?`` (safe to print to a terminal)."""
    return _CONTROL.sub("?", str(message))


def error(message: object) -> None:
    """Print ``error: <message>`` on stderr, the message as inert text."""
    err.print(Text.assemble(("error:", "bold red"), " ", clean(message)))


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn HepcalError (and a broken pipe) into a message and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HepcalError as exc:
            error(exc)
            raise typer.Exit(EXIT_USAGE) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def formats(*names: str) -> type[Enum]:
    """The ``--format`` choices of one command: a subset of table, json, jsonl, in that order.

    Every command that prints results takes ``--format``/``-f`` with the choices it can honour;
    ``table`` is the readable default, ``json`` the machine output, ``jsonl`` one line per item.
    """
    unknown = set(names) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}")
    return Enum("Format", {n: n for n in FORMATS if n in names}, type=str)  # type: ignore[return-value]


FORMATS = ("table", "json", "jsonl")


def write_line(text: str) -> None:
    """Write one line to stdout at once (streamed output must not wait for the end)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
