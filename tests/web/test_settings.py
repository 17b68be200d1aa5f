from __future__ import annotations

from pathlib import Path

import pytest

from hepcal.errors import InputError
from hepcal.web.settings import Settings, allowed_hosts_for, check_exposure, from_env, is_loopback, parse_users

TOKEN = "x" * 24


def _settings(users: dict[str, str] | None = None) -> Settings:
    return Settings(database_url="sqlite://", data_dir=Path("."), users=users or {})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_exposure(host, _settings())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_exposed_address_without_token_is_refused(host: str) -> None:
    with pytest.raises(InputError, match="refusing to listen on .*HEPCAL_TOKEN"):
        check_exposure(host, _settings())


def test_exposed_address_with_token_is_allowed() -> None:
    check_exposure("0.0.0.0", _settings({TOKEN: "token"}))


def test_users_and_token_are_parsed() -> None:
    users = parse_users(TOKEN, f"alice:{'a' * 20},bob:{'b' * 20}")
    assert users == {TOKEN: "token", "a" * 20: "alice", "b" * 20: "bob"}


def test_short_token_is_refused() -> None:
    with pytest.raises(InputError, match="shorter than 16"):
        parse_users("secret", None)


def test_malformed_users_entry_is_refused() -> None:
    with pytest.raises(InputError, match="NAME:TOKEN"):
        parse_users(None, "alice")


def test_from_env_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = from_env({"HEPCAL_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    assert s.max_upload_mb == 512 and not s.auth_required


def test_from_env_reads_url_token_and_limit(tmp_path: Path) -> None:
    s = from_env({"HEPCAL_DATA_DIR": str(tmp_path), "HEPCAL_DATABASE_URL": "postgresql://u@h/db",
                  "HEPCAL_TOKEN": TOKEN, "HEPCAL_MAX_UPLOAD_MB": "64"})
    assert s.database_url == "postgresql://u@h/db" and s.auth_required and s.max_upload_bytes == 64 * 1024 * 1024


def test_bad_upload_limit_is_refused() -> None:
    with pytest.raises(InputError, match="HEPCAL_MAX_UPLOAD_MB"):
        from_env({"HEPCAL_MAX_UPLOAD_MB": "lots"})


def test_loopback_binding_restricts_host_headers() -> None:
    assert "localhost" in allowed_hosts_for("127.0.0.1") and "*" not in allowed_hosts_for("127.0.0.1")
    assert allowed_hosts_for("0.0.0.0") == ("*",)
