"""Fixtures of the web tests: an app on a temporary SQLite store, a client, a fake CT pipeline."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from hepcal.web.app import create_app  # noqa: E402
from hepcal.web.settings import Settings  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
# Smallest PNG (1x1 grey) for fake key images.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010800000000"
                    "3a7e9b550000000a49444154789c63680000008200813a2d8d2d0000000049454e44ae426082")


def nifti_bytes() -> bytes:
    """A minimal NIfTI-1 header (348 bytes + 4 of extension) with one voxel; enough for the sniffer."""
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    header[344:348] = b"n+1\x00"
    return bytes(header) + b"\x00" * 4 + b"\x00\x00"


@dataclasses.dataclass
class FakeResult:
    lesions: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"lesions": self.lesions, "phase": "unknown"}


class FakePipeline:
    """Stands in for hepcal.imaging.pipeline: one rim-calcified lesion with a key image."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, Path | None]] = []

    def scan_study(self, path: Path, *, liver_mask: Path | None = None, progress: Any = None, **_: Any) -> FakeResult:
        self.calls.append((Path(path), liver_mask))
        if progress is not None:
            progress(0.5, "finding calcifications")
        finding = {"modality": ["ct"], "calcification": ["rim"], "count": "solitary", "max_hu": 420.0}
        return FakeResult([{"finding": finding, "key_image": "lesion-1.png", "volume_mm3": 900.0}])

    def write_outputs(self, result: FakeResult, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "lesion-1.png").write_bytes(PNG)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'cases.sqlite3'}", data_dir=tmp_path, max_upload_mb=2)


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def app(settings: Settings, pipeline: FakePipeline):  # type: ignore[no-untyped-def]
    return create_app(settings, pipeline=pipeline)


@pytest.fixture
def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token_client(settings: Settings, pipeline: FakePipeline) -> TestClient:
    s = dataclasses.replace(settings, users={TOKEN: "alice"})
    with TestClient(create_app(s, pipeline=pipeline), raise_server_exceptions=False) as c:
        yield c


def csrf_of(client: TestClient) -> str:
    """The CSRF cookie the app issues on a first page view."""
    client.get("/assess")
    return client.cookies["hepcal_csrf"]
