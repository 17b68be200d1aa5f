"""A case acknowledged with 201 survives the server being killed with SIGKILL mid-stream."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(db: Path, data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "HEPCAL_DATABASE_URL": f"sqlite:///{db}", "HEPCAL_DATA_DIR": str(data)}
    env.pop("HEPCAL_TOKEN", None)
    env.pop("HEPCAL_USERS", None)
    proc = subprocess.Popen([sys.executable, "-m", "hepcal", "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


def _kill_mid_stream(server: subprocess.Popen, post_loop, acknowledged, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Three clients post through ``post_loop``; SIGKILL the server once 40 saves are acknowledged."""
    workers = [threading.Thread(target=post_loop, args=(w,)) for w in range(3)]
    try:
        for t in workers:
            t.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # mid-stream: the workers are still posting
        server.wait(timeout=10)
    finally:
        stop.set()
        for t in workers:
            t.join(timeout=10)
        if server.poll() is None:
            server.kill()
    assert len(acknowledged) >= 40


def test_acknowledged_cases_survive_sigkill(tmp_path: Path, rim_case: dict) -> None:
    db, port = tmp_path / "cases.sqlite3", _free_port()
    server = _start(db, tmp_path, port)
    acknowledged: list[tuple[int, str]] = []
    stop = threading.Event()

    def post_loop(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for i in range(400):  # bounded
                if stop.is_set():
                    return
                label = f"w{worker}-{i}"
                try:
                    r = client.post("/api/cases", json={"case": rim_case, "label": label})
                except httpx.HTTPError:
                    return  # the server is gone: this one was never acknowledged
                if r.status_code == 201:
                    acknowledged.append((r.json()["id"], label))

    _kill_mid_stream(server, post_loop, acknowledged, stop)

    server = _start(db, tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for case_id, label in acknowledged:
                r = client.get(f"/api/cases/{case_id}")
                assert r.status_code == 200, f"acknowledged case {case_id} was lost"
                assert r.json()["label"] == label
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def test_retries_after_sigkill_neither_lose_nor_duplicate(tmp_path: Path, rim_case: dict) -> None:
    """Saves with an Idempotency-Key, the server killed mid-stream, then every save retried: each
    label is stored exactly once and an acknowledged save keeps its id."""
    db, port = tmp_path / "cases.sqlite3", _free_port()
    server = _start(db, tmp_path, port)
    acknowledged: dict[str, int] = {}
    attempted: list[str] = []
    stop = threading.Event()

    def post_loop(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for i in range(400):
                if stop.is_set():
                    return
                label = f"w{worker}-{i}"
                attempted.append(label)
                try:
                    r = client.post("/api/cases", json={"case": rim_case, "label": label}, headers={"Idempotency-Key": label})
                except httpx.HTTPError:
                    return  # the answer was lost: stored or not, the retry below must not duplicate it
                if r.status_code == 201:
                    acknowledged[label] = r.json()["id"]

    _kill_mid_stream(server, post_loop, acknowledged, stop)

    server = _start(db, tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for label in attempted:  # the client retries everything it is unsure of
                r = client.post("/api/cases", json={"case": rim_case, "label": label}, headers={"Idempotency-Key": label})
                assert r.status_code in (200, 201), r.text
                if label in acknowledged:
                    assert r.status_code == 200 and r.json()["id"] == acknowledged[label]
            labels = [line for line in client.get("/api/cases/export.jsonl").text.splitlines() if line]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    import json

    stored = [json.loads(line)["label"] for line in labels]
    assert sorted(stored) == sorted(set(attempted)), "a save was lost or stored twice"
