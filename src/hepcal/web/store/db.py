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
from sqlalchemy import Engine, create_engine, event, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from hepcal.errors import InputError
from hepcal.web.store.models import CaseRecord, ScanJob

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
                 reassessed_from: int | None = None) -> CaseRecord:
        top = assessment["differential"][0] if assessment.get("differential") else {}
        rec = CaseRecord(
            created_at=_now(),
            user=user,
            kb_version=str(assessment.get("knowledge_base", {}).get("version", "")),
            label=label,
            top_diagnosis=str(top.get("id", "")),
            malignancy_probability=float(assessment.get("malignancy_probability", 0.0)),
            action=str(assessment.get("recommendation", {}).get("action", "")),
            search_text=search_text(label, case, assessment),
            case=case,
            assessment=assessment,
            reassessed_from=reassessed_from,
        )
        with self.session() as s, s.begin():
            s.add(rec)
        return rec

    def get_case(self, case_id: int) -> CaseRecord | None:
        with self.session() as s:
            return s.get(CaseRecord, case_id)

    def list_cases(self, query: str = "", limit: int = 50, offset: int = 0) -> tuple[list[CaseRecord], int]:
        """Newest first; every whitespace-separated word of ``query`` must match."""
        stmt = select(CaseRecord)
        count = select(func.count(CaseRecord.id))
        for word in query.lower().split():
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            cond = or_(CaseRecord.search_text.like(pattern, escape="\\"), CaseRecord.user.like(pattern, escape="\\"))
            stmt, count = stmt.where(cond), count.where(cond)
        stmt = stmt.order_by(CaseRecord.id.desc()).limit(limit).offset(offset)
        with self.session() as s:
            return list(s.scalars(stmt)), int(s.scalar(count) or 0)

    def iter_cases(self, batch: int = 200) -> Iterator[CaseRecord]:
        """Every case, oldest first, in batches (for export)."""
        last = 0
        while True:
            with self.session() as s:
                rows = list(s.scalars(select(CaseRecord).where(CaseRecord.id > last).order_by(CaseRecord.id).limit(batch)))
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    # -- scan jobs -----------------------------------------------------------------------
    def add_job(self, job_id: str, user: str) -> ScanJob:
        job = ScanJob(id=job_id, created_at=_now(), user=user, status="queued", progress=0.0, stage="queued", message="")
        with self.session() as s, s.begin():
            s.add(job)
        return job

    def get_job(self, job_id: str) -> ScanJob | None:
        with self.session() as s:
            return s.get(ScanJob, job_id)

    def update_job(self, job_id: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            job = s.get(ScanJob, job_id)
            if job is not None:
                for k, v in values.items():
                    setattr(job, k, v)

    def list_jobs(self, limit: int = 20) -> list[ScanJob]:
        with self.session() as s:
            return list(s.scalars(select(ScanJob).order_by(ScanJob.created_at.desc()).limit(limit)))

    def interrupt_unfinished_jobs(self) -> int:
        """Jobs left queued or running by a stopped server can never finish: mark them failed."""
        with self.session() as s, s.begin():
            jobs = list(s.scalars(select(ScanJob).where(ScanJob.status.in_(("queued", "running")))))
            for job in jobs:
                job.status, job.message = "failed", "the server stopped before this scan finished; upload it again"
            return len(jobs)


def open_store(url: str) -> Store:
    """Connect, migrate to the newest schema, and return the store."""
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)
