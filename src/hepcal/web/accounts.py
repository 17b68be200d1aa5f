"""Accounts: password hashes, session tokens and the login rate limit.

- Passwords are hashed with the standard library's ``hashlib.scrypt`` (memory-hard, salted);
  only the hash is stored, in the ``users`` table managed by ``hepcal users``.
- A session token is 32 random bytes given to the client once (cookie or bearer); the store
  keeps only its SHA-256, with the user, the team and an expiry, so a stolen database holds no
  usable token and signing out or removing a user revokes the session at once.
- Failed logins are counted per client address and per user name; past the limit the login
  answers 429 until the window has passed (per server process).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from hepcal.errors import InputError

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
TEAM_NAME = USER_NAME
MIN_PASSWORD = 12
DEFAULT_TEAM = "default"


@dataclass(frozen=True)
class Identity:
    """Who is asking: the name recorded on what they save and the team whose cases they see."""

    user: str
    team: str = DEFAULT_TEAM


def check_name(name: str, what: str = "user name") -> str:
    if not USER_NAME.match(name or ""):
        raise InputError(f"{what} {name[:40]!r} is not allowed; use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def hash_password(password: str) -> str:
    """An scrypt hash of ``password`` with a fresh salt, as ``scrypt$n$r$p$salt$hash`` (hex)."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password has {len(password)} characters; at least {MIN_PASSWORD} are needed")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


_DUMMY = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'00' * 16}${'00' * SCRYPT_LEN}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; an unknown user costs the same time (``None``)."""
    try:
        _, n, r, p, salt, digest = (stored or _DUMMY).split("$")
        got = hashlib.scrypt(password.encode()[:1024], salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2)
    except ValueError:
        return False
    return stored is not None and hmac.compare_digest(got.hex(), digest)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a session token (a random 256-bit token needs no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyAttempts(Exception):
    """Too many failed logins from this address or for this name; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass
class LoginLimiter:
    """At most ``max_failures`` failed logins per key (address, name) within ``window_s`` seconds."""

    max_failures: int = 5
    window_s: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    raise TooManyAttempts(int(self.window_s - (now - q[0])) + 1)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget idle keys so a scan of names cannot grow memory
                for k in [k for k, q in self._failures.items() if not q or now - q[-1] > self.window_s]:
                    del self._failures[k]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
