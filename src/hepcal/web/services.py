"""What the routes share: assessing a case, saving it, accepting an upload.

Routes stay thin: they parse the request, call one of these, and shape the answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepcal.errors import InputError
from hepcal.findings import case_to_dict, parse_case
from hepcal.reasoning import assess
from hepcal.web.scans import ScanRunner, new_job_id, save_upload, typed_name
from hepcal.web.settings import Settings
from hepcal.web.store import CaseRecord, Store
from hepcal.web.uploads import ZipLimits, check_zip, sniff

log = logging.getLogger(__name__)

MAX_LABEL = 500


@dataclass
class Services:
    settings: Settings
    store: Store
    runner: ScanRunner

    # -- cases ----------------------------------------------------------------------------
    @staticmethod
    def assess_case(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(validated case as plain data, assessment output); raises CaseError for a bad case."""
        case = parse_case(data)
        return case_to_dict(case), assess(case).to_dict()

    def save_case(self, data: Any, label: str, user: str, reassessed_from: int | None = None) -> CaseRecord:
        label = clean_label(label)
        case, assessment = self.assess_case(data)
        return self.store.add_case(user=user, label=label, case=case, assessment=assessment, reassessed_from=reassessed_from)

    def reassess(self, record: CaseRecord, user: str) -> CaseRecord:
        """The stored findings assessed again with the knowledge base now installed."""
        return self.save_case(record.case, record.label, user, reassessed_from=record.id)

    # -- scans ----------------------------------------------------------------------------
    def start_scan(self, study: Any, mask: Any | None, user: str) -> str:
        """Save and check the upload(s), create the job, queue it; returns the job id."""
        job_id = new_job_id()
        folder = self.runner.folder(job_id) / "upload"
        limit = self.settings.max_upload_bytes
        try:
            raw = folder / "study.upload"
            save_upload(study, raw, limit)
            kind = sniff(raw)
            if kind == "zip":
                import zipfile

                try:
                    with zipfile.ZipFile(raw) as zf:
                        check_zip(zf, ZipLimits(max_total_bytes=max(4 * limit, 1024**3)))
                except zipfile.BadZipFile:
                    raise InputError("the upload starts like a zip but is not a readable zip archive") from None
            study_path = raw.rename(folder / typed_name("study", kind))
            mask_path: Path | None = None
            if mask is not None:
                raw_mask = folder / "mask.upload"
                save_upload(mask, raw_mask, limit)
                mkind = sniff(raw_mask)
                if mkind == "zip":
                    raise InputError("the liver mask must be a NIfTI file (.nii or .nii.gz), not a zip")
                mask_path = raw_mask.rename(folder / typed_name("mask", mkind))
        except Exception:
            from hepcal.web.scans import remove_job_folder

            remove_job_folder(self.runner.folder(job_id))
            raise
        self.store.add_job(job_id, user)
        self.runner.submit(job_id, study_path, kind, mask_path)
        return job_id


def clean_label(label: str | None) -> str:
    """A case label: printable text, at most 500 characters (it is escaped wherever shown)."""
    text = "".join(ch for ch in (label or "") if ch.isprintable()).strip()
    if len(text) > MAX_LABEL:
        raise InputError(f"the label has {len(text)} characters; at most {MAX_LABEL} are allowed")
    return text


def record_summary(rec: CaseRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "created_at": rec.created_at.isoformat(),
        "user": rec.user,
        "label": rec.label,
        "kb_version": rec.kb_version,
        "top_diagnosis": rec.top_diagnosis,
        "malignancy_probability": rec.malignancy_probability,
        "action": rec.action,
        "reassessed_from": rec.reassessed_from,
    }


def record_full(rec: CaseRecord) -> dict[str, Any]:
    return {**record_summary(rec), "case": rec.case, "assessment": rec.assessment}


def record_jsonl(rec: CaseRecord) -> str:
    return json.dumps(record_full(rec), ensure_ascii=False)
