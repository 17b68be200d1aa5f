"""Tables of the store. Changing them needs a new migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CaseRecord(Base):
    """One saved assessment. Re-assessing makes a new record pointing at the one it came from."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("user", "client_key", name="uq_cases_user_client_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(200))
    kb_version: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(500), default="")
    top_diagnosis: Mapped[str] = mapped_column(String(100), default="")
    malignancy_probability: Mapped[float] = mapped_column(Float, default=0.0)
    action: Mapped[str] = mapped_column(String(100), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    case: Mapped[dict[str, Any]] = mapped_column(JSON)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)
    reassessed_from: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    team: Mapped[str] = mapped_column(String(100), default="default", index=True)
    # The client's Idempotency-Key of the save that made this record, and a digest of what was
    # sent with it: a retry with the same key returns this record instead of storing a copy.
    client_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ScanJob(Base):
    """A CT study being (or having been) analysed in the background."""

    __tablename__ = "scan_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    team: Mapped[str] = mapped_column(String(100), default="default", index=True)


class User(Base):
    """A named account (``hepcal users add``); the password is stored only as an scrypt hash."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), default="default")
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser or API client. The token itself is never stored, only its SHA-256.

    A session ends at ``expires_at``, at sign-out, or when its user is removed or revoked.
    """

    __tablename__ = "sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    team: Mapped[str] = mapped_column(String(100), default="default")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
