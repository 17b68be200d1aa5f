"""Opening the store: engine, durable SQLite settings, migrations, and the queries the app uses.

A case is acknowledged (HTTP 201) only after its transaction has committed; with SQLite the
journal is WAL with ``synchronous=FULL`` so a committed case survives the process being killed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hepcal.errors import InputError
from hepcal.web.store.models import CaseRecord, ScanJob, User, WebSession

DEFAULT_TEAM = "default"

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and durable pragmas."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"HEPCAL_DATABASE_URL {url!r} is not a database URL; expected e.g. sqlite:///cases.sqlite3 or postgresql://user@host/db") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("hepcal.web.store").joinpath("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def search_text(label: str, case: dict[str, Any], assessment: dict[str, Any]) -> str:
    """Lower-case text a search matches: label, findings and the leading diagnoses."""
    words = [label]
    for section, keys in case.items():
        for key, value in keys.items():
            words.append(f"{section}.{key}={value}")
    for entry in assessment.get("differential", [])[:3]:
        words += [entry["id"], entry["name"]]
    words.append(assessment.get("recommendation", {}).get("action", ""))
    return " ".join(str(w) for w in words).lower()


@dataclass
class Store:
    """The app's handle on the database (one per process)."""

    engine: Engine

    def __post_init__(self) -> None:
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._session()

    # -- cases ---------------------------------------------------------------------------
    def add_case(self, *, user: str, label: str, case: dict[str, Any], assessment: dict[str, Any],
                 reassessed_from: int | None = None, team: str = DEFAULT_TEAM,
                 client_key: str | None = None, request_digest: str | None = None) -> tuple[CaseRecord, bool]:
        """Store a case; returns (record, created).

        With a ``client_key`` the save is idempotent per user: a retry with the same key returns
        the record stored the first time (created False), so an answer lost in a crash never
        makes a duplicate. The same key with different content is an InputError.
        """
        if client_key is not None:
            found = self.case_by_key(user, client_key)
            if found is not None:
                return self._same_request(found, request_digest), False
        top = assessment["differential"][0] if assessment.get("differential") else {}
        rec = CaseRecord(
            created_at=_now(),
            user=user,
            team=team,
            kb_version=str(assessment.get("knowledge_base", {}).get("version", "")),
            label=label,
            top_diagnosis=str(top.get("id", "")),
            malignancy_probability=float(assessment.get("malignancy_probability", 0.0)),
            action=str(assessment.get("recommendation", {}).get("action", "")),
            search_text=search_text(label, case, assessment),
            case=case,
            assessment=assessment,
            reassessed_from=reassessed_from,
            client_key=client_key,
            request_digest=request_digest,
        )
        try:
            with self.session() as s, s.begin():
                s.add(rec)
        except IntegrityError:
            found = self.case_by_key(user, client_key) if client_key is not None else None
            if found is None:
                raise
            return self._same_request(found, request_digest), False  # a concurrent retry won the race
        return rec, True

    @staticmethod
    def _same_request(found: CaseRecord, request_digest: str | None) -> CaseRecord:
        if found.request_digest and request_digest and found.request_digest != request_digest:
            raise InputError("this Idempotency-Key was already used for a different case; use a new key for a new save")
        return found

    def case_by_key(self, user: str, client_key: str) -> CaseRecord | None:
        with self.session() as s:
            return s.scalars(select(CaseRecord).where(CaseRecord.user == user, CaseRecord.client_key == client_key)).first()

    def get_case(self, case_id: int, team: str | None = None) -> CaseRecord | None:
        """The case, or None when it does not exist or belongs to another team than ``team``."""
        with self.session() as s:
            rec = s.get(CaseRecord, case_id)
        return rec if rec is not None and (team is None or rec.team == team) else None

    def list_cases(self, query: str = "", limit: int = 50, offset: int = 0, team: str | None = None) -> tuple[list[CaseRecord], int]:
        """Newest first; every whitespace-separated word of ``query`` must match; only ``team``'s."""
        stmt = select(CaseRecord)
        count = select(func.count(CaseRecord.id))
        if team is not None:
            stmt, count = stmt.where(CaseRecord.team == team), count.where(CaseRecord.team == team)
        for word in query.lower().split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            cond = or_(CaseRecord.search_text.like(pattern, escape="\\"), CaseRecord.user.like(pattern, escape="\\"))
            stmt, count = stmt.where(cond), count.where(cond)
        stmt = stmt.order_by(CaseRecord.id.desc()).limit(limit).offset(offset)
        with self.session() as s:
            return list(s.scalars(stmt)), int(s.scalar(count) or 0)

    def iter_cases(self, batch: int = 200, team: str | None = None) -> Iterator[CaseRecord]:
        """Every case (of ``team``), oldest first, in batches (for export)."""
        last = 0
        while True:
            stmt = select(CaseRecord).where(CaseRecord.id > last)
            if team is not None:
                stmt = stmt.where(CaseRecord.team == team)
            with self.session() as s:
                rows = list(s.scalars(stmt.order_by(CaseRecord.id).limit(batch)))
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    # -- scan jobs -----------------------------------------------------------------------
    def add_job(self, job_id: str, user: str, team: str = DEFAULT_TEAM) -> ScanJob:
        job = ScanJob(id=job_id, created_at=_now(), user=user, team=team, status="queued", progress=0.0, stage="queued", message="")
        with self.session() as s, s.begin():
            s.add(job)
        return job

    def get_job(self, job_id: str, team: str | None = None) -> ScanJob | None:
        with self.session() as s:
            job = s.get(ScanJob, job_id)
        return job if job is not None and (team is None or job.team == team) else None

    def update_job(self, job_id: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            job = s.get(ScanJob, job_id)
            if job is not None:
                for k, v in values.items():
                    setattr(job, k, v)

    def list_jobs(self, limit: int = 20, team: str | None = None) -> list[ScanJob]:
        stmt = select(ScanJob)
        if team is not None:
            stmt = stmt.where(ScanJob.team == team)
        with self.session() as s:
            return list(s.scalars(stmt.order_by(ScanJob.created_at.desc()).limit(limit)))

    def jobs_before(self, moment: datetime) -> list[str]:
        """Ids of the finished or failed jobs created before ``moment`` (for retention)."""
        with self.session() as s:
            return list(s.scalars(select(ScanJob.id).where(ScanJob.created_at < moment, ScanJob.status.in_(("done", "failed")))))

    def job_ids(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(ScanJob.id)))

    def delete_jobs(self, ids: list[str]) -> None:
        if ids:
            with self.session() as s, s.begin():
                s.execute(delete(ScanJob).where(ScanJob.id.in_(ids)))

    def interrupt_unfinished_jobs(self) -> int:
        """Jobs left queued or running by a stopped server can never finish: mark them failed."""
        with self.session() as s, s.begin():
            jobs = list(s.scalars(select(ScanJob).where(ScanJob.status.in_(("queued", "running")))))
            for job in jobs:
                job.status, job.message = "failed", "the server stopped before this scan finished; upload it again"
            return len(jobs)


    # -- users and sessions ------------------------------------------------------------------
    def add_user(self, name: str, team: str, password_hash: str) -> User:
        user = User(name=name, team=team, password_hash=password_hash, created_at=_now())
        try:
            with self.session() as s, s.begin():
                s.add(user)
        except IntegrityError:
            raise InputError(f"user {name!r} exists already; remove it first or choose another name") from None
        return user

    def get_user(self, name: str) -> User | None:
        with self.session() as s:
            return s.get(User, name)

    def list_users(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def has_users(self) -> bool:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(User)) > 0

    def remove_user(self, name: str) -> bool:
        """Delete the user and end every session of theirs; False when there was no such user."""
        with self.session() as s, s.begin():
            gone = s.execute(delete(User).where(User.name == name)).rowcount
            s.execute(update(WebSession).where(WebSession.user == name).values(revoked=True))
        return bool(gone)

    def revoke_sessions(self, user: str) -> int:
        with self.session() as s, s.begin():
            return s.execute(update(WebSession).where(WebSession.user == user, WebSession.revoked.is_(False)).values(revoked=True)).rowcount

    def add_session(self, digest: str, user: str, team: str, expires_at: datetime) -> None:
        with self.session() as s, s.begin():
            s.add(WebSession(token_digest=digest, user=user, team=team, created_at=_now(), expires_at=expires_at, revoked=False))

    def live_session(self, digest: str) -> WebSession | None:
        """The session with this token digest if it is neither revoked nor expired."""
        with self.session() as s:
            ws = s.get(WebSession, digest)
        if ws is None or ws.revoked:
            return None
        expires = ws.expires_at if ws.expires_at.tzinfo else ws.expires_at.replace(tzinfo=timezone.utc)
        return ws if expires > _now() else None

    def end_session(self, digest: str) -> None:
        with self.session() as s, s.begin():
            s.execute(update(WebSession).where(WebSession.token_digest == digest).values(revoked=True))

    def purge_sessions(self) -> int:
        """Forget sessions that are expired or revoked (they can never be used again)."""
        with self.session() as s, s.begin():
            return s.execute(delete(WebSession).where(or_(WebSession.expires_at < _now(), WebSession.revoked.is_(True)))).rowcount


def open_store(url: str) -> Store:
    """Connect, migrate to the newest schema, and return the store."""
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)
