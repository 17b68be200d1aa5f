"""The case store: every assessment with its findings, knowledge-base version, time and user.

SQLAlchemy 2 over any database URL (SQLite by default, PostgreSQL through
``HEPCAL_DATABASE_URL``); the schema is created and upgraded by the Alembic migrations shipped
in ``migrations/``, applied at start.
"""

from hepcal.web.store.db import Store, open_store
from hepcal.web.store.models import CaseRecord, ScanJob

__all__ = ["CaseRecord", "ScanJob", "Store", "open_store"]
