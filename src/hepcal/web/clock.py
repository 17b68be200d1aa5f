"""Times on the pages, always with their zone.

The store keeps UTC (SQLite hands the value back without a zone, PostgreSQL with the session's),
so a time is converted to UTC and shown with "UTC" written after it: a reader never has to guess.
"""

from __future__ import annotations

from datetime import datetime, timezone


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a value without a zone is UTC (that is how the store writes it)."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def utc_text(when: datetime) -> str:
    """``2026-12-06 20:15 UTC``."""
    return as_utc(when).strftime("%Y-%m-%d %H:%M UTC")


def utc_iso(when: datetime) -> str:
    """The machine-readable form for ``<time datetime=...>``, with its offset."""
    return as_utc(when).isoformat(timespec="seconds")
