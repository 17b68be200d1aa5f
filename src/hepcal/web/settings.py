"""Server settings read from the environment, and the check that refuses an exposed server.

Everything configurable is an environment variable so that a container or a service unit can
set it without a config file: ``HEPCAL_DATABASE_URL``, ``HEPCAL_TOKEN``, ``HEPCAL_USERS``,
``HEPCAL_DATA_DIR``, ``HEPCAL_MAX_UPLOAD_MB``, ``HEPCAL_SESSION_HOURS``,
``HEPCAL_JOB_RETENTION_DAYS``, ``HEPCAL_SCAN_MEMORY_MB``, ``HEPCAL_SCAN_TIMEOUT_S``,
``HEPCAL_PROXY_USER_HEADER``, ``HEPCAL_SECURE_COOKIES`` (docs/web.md describes each).
"""

from __future__ import annotations

import getpass
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hepcal.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD_MB = 512
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Settings:
    """What the web app needs to know; built once at start and passed explicitly."""

    database_url: str
    data_dir: Path
    users: Mapping[str, str] = field(default_factory=dict)  # token -> user name
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    local_user: str = "local"
    allowed_hosts: tuple[str, ...] = ("*",)
    secure_cookies: bool = False
    session_hours: float = 12.0  # a sign-in lasts this long
    job_retention_days: float = 7.0  # finished scan jobs and their folders are deleted after this
    scan_memory_mb: int = 4096  # address-space limit of a scan worker process
    scan_timeout_s: int = 1800  # wall-clock limit of one scan job
    proxy_user_header: str | None = None  # trusted reverse-proxy header naming the user (off by default)

    @property
    def auth_required(self) -> bool:
        """Whether the settings alone demand sign-in (named users in the store demand it too)."""
        return bool(self.users) or self.proxy_user_header is not None

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def scans_dir(self) -> Path:
        return self.data_dir / "scans"


def _default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hepcal"


def parse_users(token: str | None, users: str | None) -> dict[str, str]:
    """Tokens allowed to use the app: ``HEPCAL_TOKEN`` (user "token") and ``HEPCAL_USERS``.

    ``HEPCAL_USERS`` is ``name:token,name:token``; a token shorter than 16 characters is refused
    because it would be guessable.
    """
    out: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    if token:
        pairs.append(("token", token.strip()))
    for item in (users or "").split(","):
        if not item.strip():
            continue
        name, sep, secret = item.partition(":")
        if not sep or not name.strip() or not secret.strip():
            raise InputError(f"HEPCAL_USERS entry {item.strip()!r} is not NAME:TOKEN; expected e.g. alice:<token>,bob:<token>")
        pairs.append((name.strip(), secret.strip()))
    for name, secret in pairs:
        if len(secret) < 16:
            raise InputError(f"the token of user {name!r} is shorter than 16 characters; use a long random token (e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
        out[secret] = name
    return out


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from environment variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("HEPCAL_DATA_DIR") or _default_data_dir(env))
    url = env.get("HEPCAL_DATABASE_URL") or f"sqlite:///{data_dir / 'cases.sqlite3'}"
    raw_mb = env.get("HEPCAL_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB))
    try:
        max_mb = int(raw_mb)
    except ValueError:
        raise InputError(f"HEPCAL_MAX_UPLOAD_MB={raw_mb!r} is not a whole number of megabytes") from None
    if not 1 <= max_mb <= 16384:
        raise InputError(f"HEPCAL_MAX_UPLOAD_MB={max_mb} is out of range; allowed 1 to 16384")
    try:
        local = getpass.getuser()
    except (KeyError, OSError):
        local = "local"
    return Settings(
        database_url=url,
        data_dir=data_dir,
        users=parse_users(env.get("HEPCAL_TOKEN"), env.get("HEPCAL_USERS")),
        max_upload_mb=max_mb,
        local_user=local,
        secure_cookies=env.get("HEPCAL_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        session_hours=_number(env, "HEPCAL_SESSION_HOURS", 12.0, 0.01, 24 * 30),
        job_retention_days=_number(env, "HEPCAL_JOB_RETENTION_DAYS", 7.0, 0.0, 3650),
        scan_memory_mb=int(_number(env, "HEPCAL_SCAN_MEMORY_MB", 4096, 256, 1024 * 1024)),
        scan_timeout_s=int(_number(env, "HEPCAL_SCAN_TIMEOUT_S", 1800, 5, 7 * 24 * 3600)),
        proxy_user_header=(env.get("HEPCAL_PROXY_USER_HEADER") or "").strip().lower() or None,
    )


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw[:40]!r} is not a number; allowed {low:g} to {high:g}") from None
    if not low <= value <= high:
        raise InputError(f"{name}={value:g} is out of range; allowed {low:g} to {high:g}")
    return value


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, settings: Settings, has_users: bool = False) -> None:
    """Refuse to listen beyond this machine without authentication.

    Anyone who can reach the port could read every stored case, so a non-loopback address needs
    named users (``hepcal users add``), ``HEPCAL_TOKEN``/``HEPCAL_USERS`` or a trusted proxy header.
    """
    if not is_loopback(host) and not (settings.auth_required or has_users):
        raise InputError(
            f"refusing to listen on {host}: that address is reachable from other machines and no "
            "authentication is configured. Add users (hepcal users add NAME), or set HEPCAL_TOKEN "
            "(a long random string) or HEPCAL_USERS=name:token,..., or listen on 127.0.0.1 (the default)."
        )


def secure_cookies_for(host: str, settings: Settings) -> bool:
    """Cookies are ``Secure`` (HTTPS only) when asked, and always when listening beyond loopback."""
    return settings.secure_cookies or not is_loopback(host)


def allowed_hosts_for(host: str) -> tuple[str, ...]:
    """Host headers accepted: loopback names only when bound to loopback (defeats DNS rebinding)."""
    if is_loopback(host):
        return ("127.0.0.1", "localhost", "::1", "[::1]")
    return ("*",)
