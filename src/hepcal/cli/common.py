"""What every command shares: the consoles and the translation of errors into exit codes.

Exit codes: 0 success; 1 some items of a batch failed (the good ones were processed);
2 bad input or usage (nothing was processed). A user's error is one clear message on stderr,
never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from hepcal.errors import HepcalError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PARTIAL = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn HepcalError (and a broken pipe) into a message and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HepcalError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False)
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
