"""The published cases, read once, in the record format of docs/case-library.md.

Similar cases and the calibration of the "atypical" flag read the case library through this
one function. It prefers the library's own loader (``hepcal.evidence.library.load_cases``)
when the package has it, and otherwise reads the library's JSON Lines files and the project's
validation cases directly, turning the latter's flat format into library records. Nothing here
knows a diagnosis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]
_URL = re.compile(r"(https?://\S+?)\.?$")
_DOI = re.compile(r"doi:\s*(10\.\S+?)\.?(?:\s|$)", re.IGNORECASE)


def _from_validation(raw: dict[str, Any]) -> dict[str, Any]:
    """A validation line (``diagnosis`` an id, ``source`` a citation string) as a library record."""
    source = raw.get("source") or ""
    found = _URL.search(source)
    doi = _DOI.search(source)
    diagnosis = raw.get("diagnosis")
    return {
        "id": raw["id"],
        "source": {"citation": source, "url": found.group(1) if found else None, "doi": doi.group(1) if doi else None},
        "case": raw["case"],
        "diagnosis": {"raw": diagnosis, "ids": [diagnosis] if diagnosis else []},
    }


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def default_sources() -> tuple[list[Path], list[Path]]:
    """(library files, validation files) as found beside the package, in a fixed order."""
    library = sorted((_PACKAGE / "evidence" / "cases").glob("*.jsonl"))
    validation = [p for p in [_PACKAGE.parents[1] / "validation" / "cases.jsonl"] if p.is_file()]
    return library, validation


def read_records(library: Iterable[Path] = (), validation: Iterable[Path] = ()) -> tuple[dict[str, Any], ...]:
    """Library records from library-format files, then validation-format files; an id seen once only."""
    out: dict[str, dict[str, Any]] = {}
    for path in library:
        for rec in _read_jsonl(path):
            out.setdefault(rec["id"], rec)
    for path in validation:
        for raw in _read_jsonl(path):
            out.setdefault(raw["id"], _from_validation(raw))
    return tuple(out[k] for k in sorted(out))


@lru_cache(maxsize=1)
def load_records() -> tuple[dict[str, Any], ...]:
    """The development case library as records (``id``, ``case``, ``diagnosis``, ``source``), by id."""
    try:
        from hepcal.evidence.library import load_cases  # type: ignore[import-not-found]
    except ImportError:
        return read_records(*default_sources())
    recs = {c.record.id: c.record.model_dump(mode="json") for c in load_cases()}
    return tuple(recs[k] for k in sorted(recs))
