"""``hepcal serve``: the web app under uvicorn (on 127.0.0.1 unless told otherwise)."""

from __future__ import annotations

import dataclasses
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepcal.cli.common import err, handle_errors


LogLevel = Enum("LogLevel", {n: n for n in ("critical", "error", "warning", "info", "debug")}, type=str)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback needs users (hepcal users add), HEPCAL_TOKEN or HEPCAL_USERS.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
        database_url: Annotated[Optional[str], typer.Option("--database-url", help="SQLAlchemy URL of the case store (default: HEPCAL_DATABASE_URL, else a SQLite file in the data folder).")] = None,
        data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Folder for the SQLite file and scan jobs (default: HEPCAL_DATA_DIR or ~/.local/share/hepcal).")] = None,
        log_level: Annotated[LogLevel, typer.Option("--log-level", help="How much the server logs.")] = LogLevel.info,
    ) -> None:
        """Start the web app: checklist assessment, CT upload, stored cases, JSON API."""
        from hepcal.web.settings import allowed_hosts_for, check_exposure, from_env, secure_cookies_for
        from hepcal.web.store import open_store

        settings = from_env()
        # Off loopback the session cookie only travels over HTTPS (a TLS proxy in front).
        changes: dict = {"allowed_hosts": allowed_hosts_for(host), "secure_cookies": secure_cookies_for(host, settings)}
        if data_dir is not None:
            changes["data_dir"] = data_dir
            if database_url is None and not _env_url():
                changes["database_url"] = f"sqlite:///{data_dir / 'cases.sqlite3'}"
        if database_url is not None:
            changes["database_url"] = database_url
        settings = dataclasses.replace(settings, **changes)
        store = open_store(settings.database_url)
        try:
            has_users = store.has_users()
        finally:
            store.engine.dispose()
        check_exposure(host, settings, has_users)

        import uvicorn

        from hepcal.web.app import create_app

        logging.basicConfig(level=log_level.value.upper(), format="%(levelname)s %(name)s: %(message)s")
        web_app = create_app(settings)
        shown = f"[{host}]" if ":" in host else host
        err.print(f"hepcal: http://{shown}:{port}  (cases: {_safe_url(settings.database_url)})", highlight=False, markup=False)
        uvicorn.run(web_app, host=host, port=port, log_level=log_level.value, server_header=False, proxy_headers=False)


def _env_url() -> bool:
    import os

    return bool(os.environ.get("HEPCAL_DATABASE_URL"))


def _safe_url(url: str) -> str:
    """The database URL without its password, for the start-up line."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails later with its own message
        return "(database URL)"
