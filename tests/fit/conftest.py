"""A small hand-made library and a copy of the knowledge base to fit, in a temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hepcal.knowledge.loader import default_path
from tests.evidence.handmade import SERIES


def rec(case_id: str, ids: list[str], finding: dict, malignant: bool = False, **sections) -> dict:
    return {
        "id": case_id,
        "source": {"citation": f"Author A. Case {case_id}. J Test 2020;1:1-2.", "url": f"https://example.org/{case_id}"},
        "kind": "case_report",
        "case": {"finding": finding, **sections},
        "diagnosis": {"raw": ids[0] if ids else "something else", "ids": ids, "malignant": malignant, "proof": "histology"},
        "encoded": {"by": "test", "at": "2026-12-06"},
    }


CASES = [
    rec("hyd-1", ["hydatid_cyst"], {"calcification": ["rim"], "lesion": "cystic"}),
    rec("hyd-2", ["hydatid_cyst"], {"calcification": ["rim"], "lesion": "cystic", "count": "solitary"}),
    rec("hyd-3", ["hydatid_cyst"], {"calcification": ["punctate"], "lesion": "mixed"}),
    rec("gran-1", ["granuloma"], {"calcification": ["dense_nodular"], "lesion": "none", "size_mm": 5}),
    rec("gran-2", ["granuloma", "healed_abscess"], {"calcification": ["punctate"], "lesion": "none", "count": "few"}),
    rec("met-1", ["metastasis"], {"calcification": ["amorphous"], "lesion": "solid", "count": "multiple"}, True,
        history={"known_primary": "colorectal"}),
    rec("stones-1", ["hepatolithiasis"], {"calcification": ["ductal"], "duct_dilatation": True}),
    rec("oov-1", [], {"calcification": ["rim"], "lesion": "solid"}),
]



def write_library(root: Path, cases: list[dict] = CASES, series: str = SERIES, holdout: str | None = None) -> Path:
    (root / "cases").mkdir(parents=True)
    (root / "cases" / "a.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (root / "series").mkdir()
    (root / "series" / "s.yaml").write_text(series)
    if holdout is not None:
        (root / "holdout").mkdir()
        (root / "holdout" / "h.jsonl").write_text(holdout)
    return root


@pytest.fixture
def lib_root(tmp_path) -> Path:
    return write_library(tmp_path / "evidence")


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(default_path(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__", "fitted.json"))
    return dest
