"""Which case keys each modality can show (``applicability.yaml`` beside the knowledge base).

Used to keep next findings to what the case's own examinations could answer. The file is
optional: a knowledge-base folder without it restricts nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from hepcal import yamlfile
from hepcal.errors import KnowledgeBaseError
from hepcal.findings.contract import contract

FILE = "applicability.yaml"


class ApplicabilityFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    modalities: dict[str, tuple[str, ...]]


def problems(data: ApplicabilityFile) -> list[str]:
    c = contract()
    allowed = c.fields["finding.modality"].values
    out = []
    for key, mods in data.modalities.items():
        if key not in c.fields:
            out.append(f"{FILE}: {key} is not a key of the case format")
        bad = [m for m in mods if m not in allowed]
        if bad:
            out.append(f"{FILE}: {key}: unknown modality {', '.join(bad)}; allowed: {', '.join(allowed)}")
    return out


@lru_cache(maxsize=8)
def modalities(kb_source: str) -> dict[str, frozenset[str]]:
    """key -> modalities that can show it, for the knowledge base read from ``kb_source``."""
    path = Path(kb_source) / FILE
    if not path.is_file():
        return {}
    try:
        data = ApplicabilityFile.model_validate(yamlfile.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise KnowledgeBaseError([f"{FILE}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None
    found = problems(data)
    if found:
        raise KnowledgeBaseError(found)
    return {k: frozenset(v) for k, v in data.modalities.items()}


def observable(key: str, case_modalities: set[str] | None, table: dict[str, frozenset[str]]) -> bool:
    """Whether one of the case's modalities can show ``key`` (no modality entered: any can)."""
    need = table.get(key)
    return need is None or not case_modalities or bool(need & case_modalities)
