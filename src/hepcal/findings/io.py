"""Reading cases from files and streams (the I/O edge of ``findings``).

Formats: one case as JSON or YAML, or many cases as JSON Lines (one case per line). A JSONL
stream is read lazily, line by line as bytes, so that thousands of cases are assessed in constant
memory and a bad line (malformed JSON, invalid UTF-8, too long, too deep) is reported with its
true number without stopping the good ones.

Every document comes from a user, so it is read under the bounds of :class:`ReaderLimits`
(size, nesting depth, number length, values after alias expansion) and YAML under the rules of
:func:`hepcal.yamlfile.load_untrusted`. Breaking a bound is an :class:`InputError` naming it;
nothing here can be made to raise anything else (the property-based tests in
``tests/findings`` hold it to that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from hepcal import yamlfile
from hepcal.errors import InputError, shown
from hepcal.findings.model import CaseError, parse_case


@dataclass(frozen=True)
class ReaderLimits:
    """Bounds on one case document (a case file, a request body or one JSONL line).

    A real case is a few hundred bytes, three levels deep and holds numbers of a few digits;
    these bounds are orders of magnitude above that and far below what could hurt the process.
    """

    max_document_bytes: int = 1024 * 1024
    max_depth: int = 20
    max_nodes: int = 10_000
    max_number_chars: int = 50

    @property
    def yaml(self) -> yamlfile.DocumentLimits:
        return yamlfile.DocumentLimits(self.max_depth, self.max_nodes, self.max_number_chars)


LIMITS = ReaderLimits()


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _Refused(ValueError):
    """A JSON document broke one of the limits (the message says which)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: a key given twice is an error, not silently the last value."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def _number_hooks(limits: ReaderLimits) -> dict[str, Any]:
    def check(text: str) -> str:
        if len(text) > limits.max_number_chars:
            raise _Refused(f"a number of {len(text)} characters is too long; at most {limits.max_number_chars} are allowed")
        return text

    def constant(name: str) -> Any:
        raise _Refused(f"{name} is not a number a case can hold; write a finite number")

    return {"parse_int": lambda s: int(check(s)), "parse_float": lambda s: float(check(s)), "parse_constant": constant}


def _check_shape(data: Any, limits: ReaderLimits) -> None:
    """Refuse a decoded JSON value nested deeper or holding more values than the limits allow."""
    stack = [(data, 0)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise _Refused(f"the document holds more than {limits.max_nodes} values")
        if isinstance(node, (dict, list)):
            if depth + 1 > limits.max_depth:
                raise _Refused(f"nested more than {limits.max_depth} levels deep; a case has three (section, key, list)")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _loads_json(text: str | bytes, limits: ReaderLimits = LIMITS) -> Any:
    if len(text) > limits.max_document_bytes:
        raise _Refused(f"{len(text)} bytes is too large for one case; at most {limits.max_document_bytes} are allowed")
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs, **_number_hooks(limits))
    except RecursionError:
        raise _Refused(f"nested more than {limits.max_depth} levels deep; a case has three (section, key, list)") from None
    _check_shape(data, limits)
    return data


def _repeated(where: str, key: object, at: str = "") -> InputError:
    return InputError(f"{where}: key {shown(key)} is given twice in one mapping{at}; give each key once")


def loads_json(text: str | bytes, where: str, limits: ReaderLimits = LIMITS) -> Any:
    """``json.loads`` under the reader's limits that refuses a key given twice in one object.

    A repeated key or a broken limit is an InputError naming it; malformed JSON still raises
    ``json.JSONDecodeError`` (or ``UnicodeDecodeError`` for bytes) for the caller to word.
    """
    try:
        return _loads_json(text, limits)
    except _RepeatedKey as exc:
        raise _repeated(where, exc.key) from None
    except _Refused as exc:
        raise InputError(f"{where}: {exc}") from None


def _decode(text: str, where: str, limits: ReaderLimits = LIMITS) -> Any:
    """JSON first (strict), then YAML, so both formats work whatever the file is called.

    A key repeated in one mapping is an error in both (neither format forbids it, and the last
    value would silently win).
    """
    try:
        return loads_json(text, where, limits)
    except json.JSONDecodeError:
        pass
    try:
        return yamlfile.load_untrusted(text, limits.yaml)
    except yamlfile.UntrustedYamlError as exc:
        at = f" line {exc.line}:" if exc.line else ""
        raise InputError(f"{where}:{at} {exc}") from None
    except yamlfile.DuplicateKeyError as exc:
        mark = exc.problem_mark
        raise _repeated(where, exc.key, f" (line {mark.line + 1})" if mark else "") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{where}: neither valid JSON nor valid YAML{at}") from None


def _open(source: str | Path, expected: str, limits: ReaderLimits | None = None) -> IO[bytes]:
    """Open a file for reading bytes, turning every failure into an InputError naming the file."""
    path = Path(source)
    name = shown(str(source), 120)
    try:
        if not path.exists():
            raise InputError(f"{name}: no such file")
        if path.is_dir():
            raise InputError(f"{name}: is a folder; expected {expected}")
        if limits is not None and path.stat().st_size > limits.max_document_bytes:
            raise InputError(f"{name}: {path.stat().st_size} bytes is too large for one case; at most "
                             f"{limits.max_document_bytes} are allowed (many cases belong in a .jsonl file)")
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or 'operating system error'})") from None


def _text(raw: bytes, where: str, limits: ReaderLimits) -> str:
    if len(raw) > limits.max_document_bytes:
        raise InputError(f"{where}: more than {limits.max_document_bytes} bytes is too large for one case")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{where}: line {line} is not UTF-8 text; a case file is JSON or YAML in UTF-8") from None


def read_text(source: str | Path, stdin: IO[Any] | None = None, limits: ReaderLimits = LIMITS) -> tuple[str, str]:
    """Return (text, display name) of one document; ``-`` reads standard input."""
    if str(source) == "-":
        if stdin is None:
            raise InputError("'-' (standard input) is not available here")
        stream = getattr(stdin, "buffer", stdin)
        raw = stream.read(limits.max_document_bytes + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        return _text(raw, "<stdin>", limits), "<stdin>"
    with _open(source, "a case file (.json, .yaml, .yml or .jsonl)", limits) as f:
        where = shown(str(source), 120) if len(str(source)) > 120 else str(source)
        return _text(f.read(limits.max_document_bytes + 1), where, limits), where


def open_lines(source: str | Path) -> IO[bytes]:
    """Open a file for streaming line by line (as bytes), with the same clear errors as read_text."""
    return _open(source, "a JSON Lines file")


def load_case(source: str | Path, stdin: IO[Any] | None = None) -> Any:
    """Read and validate one case from a JSON or YAML file (or ``-``)."""
    text, where = read_text(source, stdin)
    if not text.strip():
        raise InputError(f"{where}: empty; expected one case as JSON or YAML")
    return parse_case(_decode(text, where), where=where)


def load_mapping(source: str | Path, stdin: IO[Any] | None = None) -> tuple[Any, str]:
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


_TOO_LONG = object()


def _bounded_lines(lines: IO[Any] | Iterable[Any], limit: int) -> Iterator[Any]:
    """The lines of a stream, each at most ``limit`` bytes; a longer one becomes ``_TOO_LONG``.

    A file object is read with ``readline(limit)`` so that a line without an end (a 3 GB blob)
    is skipped in bounded pieces instead of being read whole.
    """
    readline = getattr(lines, "readline", None)
    if readline is None:
        yield from lines
        return
    while True:
        chunk = readline(limit + 1)
        if not chunk:
            return
        if len(chunk) > limit and not chunk.endswith(("\n" if isinstance(chunk, str) else b"\n")):
            while chunk and not chunk.endswith(("\n" if isinstance(chunk, str) else b"\n")):
                chunk = readline(1024 * 1024)
            yield _TOO_LONG
            continue
        yield chunk


def iter_jsonl(lines: IO[Any] | Iterable[Any], where: str, limits: ReaderLimits = LIMITS) -> Iterator[Line]:
    """Yield each non-blank line of a JSONL stream as a decoded object or the error of that line.

    ``lines`` is a binary or text stream or a list of lines; bytes are decoded line by line, so a
    line that is not UTF-8 is reported on its own number while the others go on. A text stream
    whose decoding fails cannot be resumed: that error ends it (pass binary streams).
    """
    it = iter(_bounded_lines(lines, limits.max_document_bytes))
    number = 0
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield Line(number + 1, error=InputError(f"{where}:{number + 1}: not UTF-8 text; JSON Lines files are UTF-8 (reading stopped here)"))
            return
        number += 1
        at = f"{where}:{number}"
        if raw is _TOO_LONG:
            yield Line(number, error=InputError(f"{at}: longer than {limits.max_document_bytes} bytes; one case is far shorter"))
            continue
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Line(number, error=InputError(f"{at}: not UTF-8 text (byte {exc.start + 1}); JSON Lines files are UTF-8"))
                continue
        if not raw.strip():
            continue
        try:
            yield Line(number, record=_loads_json(raw, limits))
        except _RepeatedKey as exc:
            yield Line(number, error=_repeated(at, exc.key))
        except _Refused as exc:
            yield Line(number, error=InputError(f"{at}: {exc}"))
        except json.JSONDecodeError as exc:
            yield Line(number, error=InputError(f"{at}: not valid JSON ({exc.msg} at column {exc.colno})"))


def iter_cases(lines: IO[Any] | Iterable[Any], where: str) -> Iterator[Line]:
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
