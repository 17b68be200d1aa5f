"""``knowledge/fitted.json``: the fitted likelihoods, their evidence and the hash of their inputs.

The file is generated (``hepcal kb fit``), deterministic, and read by the network compiler. It
holds, for every (diagnosis, variable) with evidence, the expert estimate, the counts per state
(cases and series), the ids that gave them and the fitted value; entries without evidence keep
the estimate and are not written. The hashes say which estimates, library and settings the fit
was made from, so a stale fit is never applied (the estimates hash is checked at every load) and
``hepcal kb check`` says why it is stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FILE = "fitted.json"
ID_LENGTH = 10  # hex digits of a fit's identity shown in every version string
FORMAT = 1


def estimates_hash(ids: tuple[str, ...], keys: list[tuple[str, str]], table: np.ndarray) -> str:
    """Hash of the expert table: diagnosis order, (variable, state) rows and values (12 decimals)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(ids), keys]).encode())
    h.update(np.round(table, 12).astype("<f8").tobytes())
    return h.hexdigest()


def files_hash(files: list[Path], root: Path) -> str:
    """Hash of data files: each relative path and its bytes, in the given order."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Fitted:
    """A parsed fitted.json."""

    strength: float
    inputs: dict[str, str]
    entries: dict[tuple[str, str], dict[str, Any]]  # (diagnosis, variable) -> entry
    raw: dict[str, Any]
    identity: str = ""  # the first hex digits of the file's SHA-256: which numbers an assessment used


def path_in(folder: str | Path) -> Path:
    return Path(folder) / FILE


def read(folder: str | Path) -> Fitted | None:
    """The fitted file of a knowledge-base folder, or None when there is none."""
    p = path_in(folder)
    if not p.is_file():
        return None
    text = p.read_text(encoding="utf-8")
    raw = json.loads(text)
    entries = {(e["diagnosis"], e["variable"]): e for e in raw["entries"]}
    return Fitted(float(raw["strength"]), dict(raw["inputs"]), entries, raw, hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH])


def write(folder: str | Path, payload: dict[str, Any]) -> Path:
    """Write deterministically (sorted keys, fixed layout: one entry per line)."""
    p = path_in(folder)
    head = {k: v for k, v in payload.items() if k != "entries"}
    lines = ["{", *(f"  {json.dumps(k)}: {json.dumps(head[k], sort_keys=True)}," for k in sorted(head)), '  "entries": [']
    entries = payload["entries"]
    lines += [f"    {json.dumps(e, sort_keys=True)}{',' if i < len(entries) - 1 else ''}" for i, e in enumerate(entries)]
    lines += ["  ]", "}"]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p
