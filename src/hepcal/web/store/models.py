"""Tables of the store. Changing them needs a new migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CaseRecord(Base):
    """One saved assessment. Re-assessing makes a new record pointing at the one it came from."""

    __tablename__ = "cases"

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
