"""The results folder: one small file per finished study, tables rebuilt from them.

Durability comes from the parts: each finished study is written to ``parts/<key>.json``
through a temporary name and ``os.replace``, so a file there is always complete and a kill at
any moment loses only the studies still in flight. The Parquet tables and ``summary.csv`` are
derived: rebuilt from the parts periodically and at the end, so they can always be regenerated.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hepcal.batch.rows import TOP_DIAGNOSES, finding_columns
from hepcal.batch.summary import Summary, not_excluded, summarize, summary_rows
from hepcal.errors import InputError
from hepcal.findings import contract

logger = logging.getLogger(__name__)

STUDIES = "studies.parquet"
LESIONS = "lesions.parquet"
SUMMARY = "summary.csv"
PARTS = "parts"


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_parts(parts: Path) -> dict[str, dict[str, Any]]:
    """Every record in a parts folder, by key (temporary and damaged files ignored)."""
    records: dict[str, dict[str, Any]] = {}
    for f in parts.iterdir():
        if not f.name.endswith(".json") or f.name.startswith("."):
            continue
        try:
            rec = json.loads(f.read_text())
        except (OSError, ValueError):
            logger.warning("%s is damaged and is ignored (that study will run again)", f)
            continue
        if isinstance(rec, dict) and "key" in rec:
            records[str(rec["key"])] = rec
    return records


class ResultStore:
    """Reads and writes one results folder."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out}: exists and is not a folder; --out must be a folder for the results")
        self.parts = self.out / PARTS
        self.parts.mkdir(parents=True, exist_ok=True)

    def part_path(self, key: str) -> Path:
        return self.parts / f"{key}.json"

    @staticmethod
    def peek(out: str | Path) -> dict[str, dict[str, Any]]:
        """The outcomes recorded in ``out`` without creating anything (empty if none)."""
        parts = Path(out) / PARTS
        return load_parts(parts) if parts.is_dir() else {}

    def load(self) -> dict[str, dict[str, Any]]:
        """Every finished study recorded so far, by key."""
        return load_parts(self.parts)

    def write(self, record: Mapping[str, Any]) -> None:
        _atomic_bytes(self.part_path(str(record["key"])), json.dumps(record, default=str).encode())

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        _atomic_bytes(self.out / "batch.json", (json.dumps(meta, indent=2, default=str) + "\n").encode())

    def write_tables(self, records: Iterable[Mapping[str, Any]], threshold: float) -> Summary:
        """(Re)build studies.parquet, lesions.parquet and summary.csv from ``records``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        recs = list(records)
        study_rows, lesion_rows_ = [], []
        for r in recs:
            flagged = [les for les in r.get("lesions") or [] if not_excluded(les, threshold)]
            ps = [les.get("p_malignant") for les in r.get("lesions") or [] if les.get("p_malignant") is not None]
            study_rows.append(
                {
                    **r,
                    "context": "; ".join(r.get("context") or []),
                    "max_p_malignant": max(ps) if ps else None,
                    "malignancy_not_excluded": bool(flagged) if r.get("status") == "ok" else None,
                    "started_at": _ts(r.get("started_at")),
                    "finished_at": _ts(r.get("finished_at")),
                }
            )
            for les in r.get("lesions") or []:
                lesion_rows_.append({"key": r["key"], "source": r.get("source"), **les, "malignancy_not_excluded": not_excluded(les, threshold)})
        for name, rows, schema in ((STUDIES, study_rows, studies_schema()), (LESIONS, lesion_rows_, lesions_schema())):
            table = pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema)
            buf = io.BytesIO()
            pq.write_table(table, buf)
            _atomic_bytes(self.out / name, buf.getvalue())
        summary = summarize(recs, threshold)
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\n")
        w.writerow(("section", "item", "value"))
        w.writerows(summary_rows(summary))
        _atomic_bytes(self.out / SUMMARY, text.getvalue().encode())
        return summary


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz=timezone.utc) if value is not None else None


def studies_schema() -> Any:
    import pyarrow as pa

    s, f64, i64 = pa.string(), pa.float64(), pa.int64()
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("key", s), ("study_key", s), ("source", s), ("kind", s), ("path", s), ("series_uid", s),
            ("row", i64), ("mask", s), ("mask_label", i64), ("context", s),
            ("status", s), ("error", s), ("error_type", s), ("failed_check", s), ("warnings", pa.list_(s)),
            ("lesion_count", i64), ("phase", s), ("phase_detected", s), ("aorta_hu", f64),
            ("candidate_hu", f64), ("threshold_hu", f64), ("liver_source", s), ("liver_volume_ml", f64),
            ("max_p_malignant", f64), ("malignancy_not_excluded", pa.bool_()),
            ("seconds", f64), ("cpu_seconds", f64), ("started_at", ts), ("finished_at", ts),
            ("worker", s), ("worker_context", s), ("hepcal_version", s), ("kb_version", s),
        ]
    )  # fmt: skip


_ARROW_OF = {"bool": "bool_", "number": "float64", "enum": "string"}


def lesions_schema() -> Any:
    import pyarrow as pa

    fields = contract().fields
    cols: list[tuple[str, Any]] = [("key", pa.string()), ("source", pa.string()), ("lesion", pa.int64())]
    for name in finding_columns():
        t = fields[name].type
        cols.append((name, pa.list_(pa.string()) if t == "enum_list" else getattr(pa, _ARROW_OF[t])()))
    cols += [
        ("calcification_volume_mm3", pa.float64()),
        ("centroid_mm_lps", pa.list_(pa.float64())),
        ("centroid_voxel", pa.list_(pa.float64())),
        ("key_image", pa.string()),
    ]
    for i in range(1, TOP_DIAGNOSES + 1):
        cols += [(f"dx{i}", pa.string()), (f"dx{i}_name", pa.string()), (f"dx{i}_p", pa.float64())]
    cols += [("p_malignant", pa.float64()), ("doubtful", pa.bool_()), ("action", pa.string()), ("rule", pa.string()), ("malignancy_not_excluded", pa.bool_())]
    return pa.schema(cols)
