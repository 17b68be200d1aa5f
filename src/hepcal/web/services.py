"""What the routes share: assessing a case, saving it, accepting an upload.

Routes stay thin: they parse the request, call one of these, and shape the answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hepcal.errors import InputError
from hepcal.findings import case_to_dict, parse_case
from hepcal.reasoning import assess
from hepcal.web.accounts import DEFAULT_TEAM, Identity, LoginLimiter, new_session_token, token_digest, verify_password
from hepcal.web.scans import ScanRunner, new_job_id, save_upload, typed_name
from hepcal.web.settings import Settings
from hepcal.web.store import CaseRecord, Store
from hepcal.web.uploads import ZipLimits, check_zip, sniff

log = logging.getLogger(__name__)

MAX_LABEL = 500
MAX_CLIENT_KEY = 200
USERS_CHECK_S = 5.0  # how long "are there named users?" is remembered (users are added by the CLI)


@dataclass
class Services:
    settings: Settings
    store: Store
    runner: ScanRunner
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    _users_seen: tuple[float, bool] = (0.0, False)

    def auth_required(self) -> bool:
        """Sign-in is needed when tokens or a proxy header are configured or named users exist."""
        if self.settings.auth_required:
            return True
        at, known = self._users_seen
        now = time.monotonic()
        if now - at > USERS_CHECK_S:
            known = self.store.has_users()
            self._users_seen = (now, known)
        return known

    # -- accounts -------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, client: str) -> tuple[Identity, str]:
        """Check a name and password (or a configured token as the password) and open a session.

        Returns (identity, session token). Raises InputError for wrong credentials and
        TooManyAttempts past the rate limit.
        """
        keys = (f"addr:{client}", f"name:{name.lower()[:100]}")
        self.limiter.check(*keys)
        who: Identity | None = None
        user = self.store.get_user(name) if name else None
        if verify_password(password, user.password_hash if user is not None else None) and user is not None:
            who = Identity(user.name, user.team)
        else:
            from hepcal.web.security import match_token

            token_user = match_token(password.strip(), self.settings) if password else None
            if token_user is not None and (not name or name == token_user):
                who = Identity(token_user, DEFAULT_TEAM)
        if who is None:
            self.limiter.failed(*keys)
            raise InputError("that name and password (or access token) are not valid")
        self.limiter.succeeded(*keys)
        token = new_session_token()
        expires = datetime.now(timezone.utc) + timedelta(hours=self.settings.session_hours)
        self.store.add_session(token_digest(token), who.user, who.team, expires)
        return who, token

    def sign_out(self, token: str | None) -> None:
        if token:
            self.store.end_session(token_digest(token))

    # -- cases ----------------------------------------------------------------------------
    @staticmethod
    def assess_case(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(validated case as plain data, assessment output); raises CaseError for a bad case."""
        case = parse_case(data)
        return case_to_dict(case), assess(case).to_dict()

    def save_case(self, data: Any, label: str, who: Identity, reassessed_from: int | None = None,
                  client_key: str | None = None) -> tuple[CaseRecord, bool]:
        """Assess and store a case for ``who``; returns (record, created).

        With a ``client_key`` (the client's Idempotency-Key) a retry returns the first record.
        """
        label = clean_label(label)
        key = clean_client_key(client_key)
        case, assessment = self.assess_case(data)
        digest = hashlib.sha256(json.dumps([case, label, reassessed_from], sort_keys=True).encode()).hexdigest() if key else None
        return self.store.add_case(user=who.user, team=who.team, label=label, case=case, assessment=assessment,
                                   reassessed_from=reassessed_from, client_key=key, request_digest=digest)

    def reassess(self, record: CaseRecord, who: Identity, client_key: str | None = None) -> tuple[CaseRecord, bool]:
        """The stored findings assessed again with the knowledge base now installed."""
        return self.save_case(record.case, record.label, who, reassessed_from=record.id, client_key=client_key)

    # -- scans ----------------------------------------------------------------------------
    def start_scan(self, study: Any, mask: Any | None, who: Identity) -> str:
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
        self.store.add_job(job_id, who.user, who.team)
        self.runner.submit(job_id, study_path, kind, mask_path)
        return job_id


def clean_label(label: str | None) -> str:
    """A case label: printable text, at most 500 characters (it is escaped wherever shown)."""
    text = "".join(ch for ch in (label or "") if ch.isprintable()).strip()
    if len(text) > MAX_LABEL:
        raise InputError(f"the label has {len(text)} characters; at most {MAX_LABEL} are allowed")
    return text


def clean_client_key(key: str | None) -> str | None:
    """An Idempotency-Key: 1-200 printable characters (None when not given)."""
    if key is None or not key.strip():
        return None
    key = key.strip()
    if len(key) > MAX_CLIENT_KEY or not key.isprintable():
        raise InputError(f"the Idempotency-Key must be 1 to {MAX_CLIENT_KEY} printable characters (e.g. a UUID)")
    return key


def record_summary(rec: CaseRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "created_at": rec.created_at.isoformat(),
        "user": rec.user,
        "team": rec.team,
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
