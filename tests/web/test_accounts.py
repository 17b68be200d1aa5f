"""Named users, sessions in the store (expiry, revocation), the login rate limit, team visibility,
idempotent saves, and the answers every route shares (headers, 404 only for our own not-found)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hepcal.cli.main import app as cli
from hepcal.web.app import create_app
from hepcal.web.security import SECURITY_HEADERS, SESSION_COOKIE
from hepcal.web.settings import Settings
from tests.web.conftest import FakePipeline

PASSWORD = "correct horse battery"
CASE = {"finding": {"calcification": ["rim"], "count": "solitary", "lesion": "cystic"}}


def add_user(settings: Settings, name: str, team: str = "default", password: str = PASSWORD) -> None:
    r = CliRunner().invoke(cli, ["users", "add", name, "--team", team, "--password-stdin", "--database-url", settings.database_url],
                           input=password + "\n")
    assert r.exit_code == 0, r.output


@pytest.fixture
def accounts(settings: Settings):  # type: ignore[no-untyped-def]
    add_user(settings, "alice", "liver")
    add_user(settings, "bob", "liver")
    add_user(settings, "carol", "chest")
    with TestClient(create_app(settings, pipeline=FakePipeline()), raise_server_exceptions=False) as c:
        yield c


def sign_in(c: TestClient, name: str, password: str = PASSWORD) -> str:
    r = c.post("/api/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_users_cli_lists_hashes_and_refuses_bad_input(settings: Settings) -> None:
    add_user(settings, "dora")
    runner = CliRunner()
    listed = runner.invoke(cli, ["users", "list", "--database-url", settings.database_url])
    assert listed.exit_code == 0 and "dora" in listed.stdout
    again = runner.invoke(cli, ["users", "add", "dora", "--password-stdin", "--database-url", settings.database_url], input=PASSWORD + "\n")
    assert again.exit_code == 2 and "exists already" in again.stderr
    short = runner.invoke(cli, ["users", "add", "eve", "--password-stdin", "--database-url", settings.database_url], input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.stderr
    bad = runner.invoke(cli, ["users", "add", "x/../y", "--password-stdin", "--database-url", settings.database_url], input=PASSWORD + "\n")
    assert bad.exit_code == 2 and "not allowed" in bad.stderr
    from hepcal.web.store import open_store

    store = open_store(settings.database_url)
    stored = store.get_user("dora").password_hash
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert runner.invoke(cli, ["users", "remove", "dora", "--database-url", settings.database_url]).exit_code == 0
    assert store.get_user("dora") is None
    assert runner.invoke(cli, ["users", "remove", "dora", "--database-url", settings.database_url]).exit_code == 2


def test_named_users_make_sign_in_required(accounts: TestClient) -> None:
    assert accounts.get("/api/cases").status_code == 401
    assert accounts.post("/api/session", json={"name": "alice", "password": "wrong password!"}).status_code == 422
    token = sign_in(accounts, "alice")
    assert accounts.get("/api/cases", headers=bearer(token)).status_code == 200


def test_page_sign_in_sets_a_session_cookie_not_the_password(accounts: TestClient) -> None:
    accounts.get("/login")
    csrf = accounts.cookies["hepcal_csrf"]
    r = accounts.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.cookies.get(SESSION_COOKIE) or accounts.cookies.get(SESSION_COOKIE)
    assert cookie and PASSWORD not in cookie
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "max-age=" in set_cookie and "samesite=strict" in set_cookie
    page = accounts.get("/assess").text
    assert 'action="/logout"' in page and "Sign out" in page
    # sign out ends the session in the store: the copied cookie no longer works
    assert accounts.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    accounts.cookies.set(SESSION_COOKIE, cookie)
    assert accounts.get("/api/cases").status_code == 401


def test_sessions_expire_and_are_revoked_with_the_user(accounts: TestClient, settings: Settings) -> None:
    from sqlalchemy import update

    from hepcal.web.store.models import WebSession

    store = accounts.app.state.services.store
    token = sign_in(accounts, "alice")
    with store.session() as s, s.begin():
        s.execute(update(WebSession).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert accounts.get("/api/cases", headers=bearer(token)).status_code == 401
    token = sign_in(accounts, "bob")
    assert CliRunner().invoke(cli, ["users", "revoke", "bob", "--database-url", settings.database_url]).exit_code == 0
    assert accounts.get("/api/cases", headers=bearer(token)).status_code == 401
    token = sign_in(accounts, "carol")
    assert CliRunner().invoke(cli, ["users", "remove", "carol", "--database-url", settings.database_url]).exit_code == 0
    assert accounts.get("/api/cases", headers=bearer(token)).status_code == 401
    token = sign_in(accounts, "alice")
    assert accounts.delete("/api/session", headers=bearer(token)).status_code == 204
    assert accounts.get("/api/cases", headers=bearer(token)).status_code == 401


def test_login_is_rate_limited(accounts: TestClient) -> None:
    for _ in range(5):
        assert accounts.post("/api/session", json={"name": "alice", "password": "not the password"}).status_code == 422
    r = accounts.post("/api/session", json={"name": "alice", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]


def test_cases_record_the_user_and_are_visible_to_their_team_only(accounts: TestClient) -> None:
    alice, bob, carol = (sign_in(accounts, n) for n in ("alice", "bob", "carol"))
    saved = accounts.post("/api/cases", json={"case": CASE}, headers=bearer(alice)).json()
    assert saved["user"] == "alice" and saved["team"] == "liver"
    assert accounts.get(f"/api/cases/{saved['id']}", headers=bearer(bob)).status_code == 200
    assert accounts.get(f"/api/cases/{saved['id']}", headers=bearer(carol)).status_code == 404
    assert accounts.get("/api/cases", headers=bearer(carol)).json()["total"] == 0
    assert accounts.get("/api/cases", headers=bearer(bob)).json()["total"] == 1
    assert "alice" not in accounts.get("/api/cases/export.jsonl", headers=bearer(carol)).text


def test_a_retried_save_returns_the_stored_case(client: TestClient) -> None:
    headers = {"Idempotency-Key": "7f1c2a9e-retry-1"}
    first = client.post("/api/cases", json={"case": CASE, "label": "a"}, headers=headers)
    again = client.post("/api/cases", json={"case": CASE, "label": "a"}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert client.get("/api/cases").json()["total"] == 1
    other = client.post("/api/cases", json={"case": CASE, "label": "b"}, headers=headers)
    assert other.status_code == 422 and "different case" in other.json()["error"]
    assert client.post("/api/cases", json={"case": CASE}).status_code == 201  # no key: a new record each time
    assert client.get("/api/cases").json()["total"] == 2


def test_a_resubmitted_form_saves_once(client: TestClient) -> None:
    from tests.web.conftest import csrf_of

    csrf = csrf_of(client)
    assert 'name="idempotency_key"' in client.get("/assess").text
    form = {"csrf_token": csrf, "finding.calcification": "rim", "finding.count": "few", "idempotency_key": "form-key-123"}
    a = client.post("/cases", data=form, follow_redirects=False)
    b = client.post("/cases", data=form, follow_redirects=False)
    assert a.status_code == b.status_code == 303 and a.headers["location"] == b.headers["location"]
    assert client.get("/api/cases").json()["total"] == 1


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/cases/999", 404), ("GET", "/no/such/page", 404), ("GET", "/static/hepcal.css", 200),
    ("GET", "/static/nope.css", 404), ("POST", "/api/assess", 422), ("GET", "/openapi.json", 200), ("GET", "/api/docs", 200),
])
def test_every_answer_carries_the_security_headers(client: TestClient, method: str, path: str, status: int) -> None:
    r = client.request(method, path, content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == status
    for k, v in SECURITY_HEADERS.items():
        assert r.headers.get(k) == v, (k, path)


def test_too_large_and_wrong_host_answers_carry_the_headers(settings: Settings) -> None:
    s = dataclasses.replace(settings, allowed_hosts=("127.0.0.1",))
    with TestClient(create_app(s, pipeline=FakePipeline()), raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        big = c.post("/api/assess", content=b"x" * (3 * 1024 * 1024), headers={"content-type": "application/json"})
        assert big.status_code == 413 and big.headers["x-frame-options"] == "DENY"
        wrong = c.get("/api/health", headers={"host": "evil.example"})
        assert wrong.status_code == 400 and wrong.headers["x-frame-options"] == "DENY"


def test_a_bug_is_a_logged_500_without_detail_not_a_404(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("secret_internal_key")

    client.app.state.services.store.get_case = broken
    with caplog.at_level(logging.ERROR):
        r = client.get("/api/cases/1")
        page = client.get("/cases/1")
    assert r.status_code == 500 and page.status_code == 500
    assert "secret_internal_key" not in r.text and "secret_internal_key" not in page.text
    assert "reference" in r.json()["error"] and r.headers["content-security-policy"]
    assert "secret_internal_key" in caplog.text


def test_openapi_declares_response_schemas_and_security_schemes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"HTTPBearer", "APIKeyCookie"} <= set(spec["components"]["securitySchemes"])
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert any(k.startswith("2") for k in op["responses"]), (method, path)
            for code, answer in op["responses"].items():
                if not code.startswith("2") or code == "204":
                    continue
                assert answer.get("content"), (method, path, code)
                assert any(c.get("schema") is not None or media != "application/json" for media, c in answer["content"].items()), (method, path, code)
    assert spec["paths"]["/api/cases/{case_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CaseOut"}


def test_docs_page_is_not_blank_under_the_csp(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200 and "/api/cases" in r.text and "<script" not in r.text and "cdn" not in r.text.lower()


def test_exposure_check_counts_named_users(tmp_path: Path) -> None:
    from hepcal.errors import InputError
    from hepcal.web.settings import check_exposure

    s = Settings(database_url="sqlite://", data_dir=tmp_path)
    with pytest.raises(InputError, match="hepcal users add"):
        check_exposure("0.0.0.0", s)
    check_exposure("0.0.0.0", s, has_users=True)


@pytest.mark.parametrize("body", [
    b'{"finding": ' * 1000 + b"1" + b"}" * 1000,
    b'{"finding": {"size_mm": ' + b"9" * 5000 + b"}}",
    b'{"finding": {"size_mm": NaN}}',
    b'{"finding": {"calcification": [' + b",".join([b'"bad"'] * 20000) + b"]}}",
])
def test_hostile_case_bodies_are_422_not_500(client: TestClient, body: bytes) -> None:
    r = client.post("/api/assess", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and len(r.text) < 20_000, r.text[:200]


def test_cookies_are_secure_off_loopback(tmp_path: Path) -> None:
    from hepcal.web.settings import secure_cookies_for

    s = Settings(database_url="sqlite://", data_dir=tmp_path)
    assert not secure_cookies_for("127.0.0.1", s) and not secure_cookies_for("::1", s)
    assert secure_cookies_for("0.0.0.0", s) and secure_cookies_for("10.1.2.3", s)
    assert secure_cookies_for("127.0.0.1", dataclasses.replace(s, secure_cookies=True))


def test_trusted_proxy_header_names_the_user(settings: Settings) -> None:
    add_user(settings, "dave", "liver")
    s = dataclasses.replace(settings, proxy_user_header="x-remote-user")
    with TestClient(create_app(s, pipeline=FakePipeline()), raise_server_exceptions=False) as c:
        assert c.get("/api/cases").status_code == 401  # no header: nobody
        saved = c.post("/api/cases", json={"case": CASE}, headers={"x-remote-user": "dave", "x-csrf-token": "1"})
        # a proxy-authenticated browser still needs the CSRF double submit
        assert saved.status_code == 403
        csrf = c.get("/assess", headers={"x-remote-user": "dave"}).cookies.get("hepcal_csrf") or c.cookies["hepcal_csrf"]
        saved = c.post("/api/cases", json={"case": CASE}, headers={"x-remote-user": "dave", "x-csrf-token": csrf})
        assert saved.status_code == 201 and saved.json()["user"] == "dave" and saved.json()["team"] == "liver"
        assert c.get("/api/cases", headers={"x-remote-user": "erin"}).json()["total"] == 0  # team default


def test_migration_from_0001_keeps_cases_in_team_default(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from importlib import resources
    from sqlalchemy import text

    from hepcal.web.store.db import make_engine, open_store

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("hepcal.web.store").joinpath("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO cases (created_at, user, kb_version, label, top_diagnosis, malignancy_probability, action, "
                          "search_text, \"case\", assessment) VALUES ('2025-01-01 00:00:00', 'old', '1', 'kept', 'x', 0.1, 'a', '', '{}', '{}')"))
    engine.dispose()
    store = open_store(url)
    rec = store.get_case(1, team="default")
    assert rec is not None and rec.label == "kept" and rec.client_key is None
