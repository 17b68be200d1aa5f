"""Reading cases from files and streams (the I/O edge of ``findings``).

Formats: one case as JSON or YAML, or many cases as JSON Lines (one case per line). A JSONL
stream is read lazily so that thousands of cases are assessed in constant memory, and a bad line
is reported with its number without stopping the good ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from hepcal import yamlfile
from hepcal.errors import InputError
from hepcal.findings.model import CaseError, parse_case


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: a key given twice is an error, not silently the last value."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def _loads_json(text: str | bytes) -> Any:
    return json.loads(text, object_pairs_hook=_unique_pairs)


def _repeated(where: str, key: object, at: str = "") -> InputError:
    return InputError(f"{where}: key {key!r} is given twice in one mapping{at}; give each key once")


def loads_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` that refuses a key given twice in one object (an InputError naming it).

    Malformed JSON still raises ``json.JSONDecodeError`` for the caller to word.
    """
    try:
        return _loads_json(text)
    except _RepeatedKey as exc:
        raise _repeated(where, exc.key) from None


def _decode(text: str, where: str) -> Any:
    """JSON first (strict), then YAML, so both formats work whatever the file is called.

    A key repeated in one mapping is an error in both (neither format forbids it, and the last
    value would silently win).
    """
    try:
        return loads_json(text, where)
    except json.JSONDecodeError:
        pass
    try:
        return yamlfile.safe_load(text)
    except yamlfile.DuplicateKeyError as exc:
        mark = exc.problem_mark
        raise _repeated(where, exc.key, f" (line {mark.line + 1})" if mark else "") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{where}: neither valid JSON nor valid YAML{at}") from None


def _open(source: str | Path, expected: str) -> IO[str]:
    """Open a UTF-8 text file, turning every failure into an InputError naming the file."""
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected {expected}")
    try:
        return path.open(encoding="utf-8", errors="strict")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def read_text(source: str | Path, stdin: IO[str] | None = None) -> tuple[str, str]:
    """Return (text, display name); ``-`` reads standard input."""
    if str(source) == "-":
        if stdin is None:
            raise InputError("'-' (standard input) is not available here")
        return stdin.read(), "<stdin>"
    with _open(source, "a case file (.json, .yaml, .yml or .jsonl)") as f:
        try:
            return f.read(), str(source)
        except UnicodeDecodeError:
            raise InputError(f"{source}: not UTF-8 text; a case file is JSON or YAML in UTF-8") from None


def open_lines(source: str | Path) -> IO[str]:
    """Open a text file for streaming line by line, with the same clear errors as read_text."""
    return _open(source, "a JSON Lines file")


def load_case(source: str | Path, stdin: IO[str] | None = None) -> Any:
    """Read and validate one case from a JSON or YAML file (or ``-``)."""
    text, where = read_text(source, stdin)
    if not text.strip():
        raise InputError(f"{where}: empty; expected one case as JSON or YAML")
    return parse_case(_decode(text, where), where=where)


def load_mapping(source: str | Path, stdin: IO[str] | None = None) -> tuple[Any, str]:
    """Read one JSON/YAML document without validating it as a case."""
    text, where = read_text(source, stdin)
    if not text.strip():
        raise InputError(f"{where}: empty; expected JSON or YAML")
    return _decode(text, where), where


@dataclass(frozen=True)
class Line:
    """One line of a JSONL stream: either a parsed record or the error that line raised."""

    number: int
    record: Any = None
    error: InputError | None = None


def iter_jsonl(lines: IO[str] | list[str], where: str) -> Iterator[Line]:
    """Yield each non-blank line of a JSONL stream as a decoded object or an error.

    The stream is consumed lazily, so a file of any length is read in constant memory.
    """
    it = iter(lines)
    number = 0
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise InputError(f"{where}: line {number + 1} is not UTF-8 text; JSON Lines files are UTF-8") from None
        number += 1
        if not raw.strip():
            continue
        try:
            yield Line(number, record=_loads_json(raw))
        except _RepeatedKey as exc:
            yield Line(number, error=_repeated(f"{where}:{number}", exc.key))
        except json.JSONDecodeError as exc:
            yield Line(number, error=InputError(f"{where}:{number}: not valid JSON ({exc.msg} at column {exc.colno})"))


def iter_cases(lines: IO[str] | list[str], where: str) -> Iterator[Line]:
    """Yield each JSONL line as a validated case or the error naming its line number."""
    for line in iter_jsonl(lines, where):
        if line.error is not None:
            yield line
            continue
        try:
            yield Line(line.number, record=parse_case(line.record, where=f"{where}:{line.number}"))
        except CaseError as exc:
            yield Line(line.number, error=exc)


def is_jsonl(source: str | Path) -> bool:
    return str(source).endswith((".jsonl", ".ndjson"))
