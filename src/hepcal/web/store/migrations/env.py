"""Alembic environment: run migrations on the connection the app hands over, or on a URL.

The app calls ``alembic.command.upgrade`` with ``config.attributes["connection"]`` set; a
developer can also run ``alembic -x url=sqlite:///cases.sqlite3 upgrade head`` against a file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from hepcal.web.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
