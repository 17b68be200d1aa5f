"""Fixtures of the web tests: an app on a temporary SQLite store, a client, a fake CT pipeline."""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Callable, Sequence
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


FAKE_FINDING = {"modality": ["ct"], "calcification": ["rim"], "size_mm": 40.0, "lesion": "cystic",
                "location": "central", "max_hu": 420.0, "metallic_artifact": False, "count": "solitary"}
FAKE_MIMIC = "density in the lipiodol range: after TACE this may be retained lipiodol rather than calcium"


@dataclasses.dataclass
class FakeResult:
    """Stands in for ``hepcal.imaging.pipeline.ScanResult``: ``to_dict()`` has findings.json's shape."""

    source: str
    cases: list[dict[str, Any]]
    key_images: dict[int, str] = dataclasses.field(default_factory=dict)
    overview_image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        from hepcal.findings import parse_case
        from hepcal.reasoning import assess

        lesions = [{"id": i, "finding": case["finding"], "case": case, "assessment": assess(parse_case(case)).to_dict(),
                    "centroid_mm_lps": [0.0, 0.0, 0.0], "centroid_voxel": [10.0, 20.0, 30.0],
                    "calcification_volume_mm3": 900.0, "couinaud_segment": None,
                    "pattern_basis": "calcium along the wall of a lesion", "features": {}, "mimics": [FAKE_MIMIC],
                    "key_image": self.key_images.get(i)} for i, case in enumerate(self.cases, start=1)]
        return {"hepcal_version": "0", "study": {"source": self.source, "format": "nifti"},
                "phase": {"used": "unenhanced", "detected": {"phase": "unenhanced"}},
                "threshold": {}, "liver": {"source": "built-in", "volume_ml": 1500.0}, "lesions": lesions,
                "excluded_dense_structures": {}, "overview_image": self.overview_image, "dicom_seg": None,
                "notes": ["The image analysis proposes; the clinician confirms."]}


class FakePipeline:
    """Stands in for the CT pipeline: one rim-calcified lesion with a key image.

    ``scan_study`` and ``write_outputs`` have the signatures of ``hepcal.imaging.pipeline.scan_study``
    and ``hepcal.imaging.outputs.write_outputs`` (checked by test_scans.py), so the seam the web
    app calls cannot drift from the real pipeline unnoticed.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Path, Path | None]] = []
        self.steps: list[tuple[str, float]] = []

    def scan_study(
        self,
        path: str | Path,
        *,
        liver_mask: str | Path | None = None,
        liver_label: int | None = None,
        phase: str = "auto",
        overrides: Sequence[str] = (),
        series: str | None = None,
        segmenters: tuple[Any, ...] | None = None,
        progress: Callable[[str, float], None] | None = None,
        assess: bool = True,
    ) -> FakeResult:
        self.calls.append((Path(path), None if liver_mask is None else Path(liver_mask)))
        for step, fraction in (("reading", 0.0), ("detection", 0.5), ("done", 1.0)):
            self.steps.append((step, fraction))
            if progress is not None:
                progress(step, fraction)
        return FakeResult(str(path), [{"finding": dict(FAKE_FINDING), "history": {"incidental": True}}])

    def write_outputs(self, result: FakeResult, out_dir: str | Path, *, images: bool = True, seg: bool = True) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if images:
            for i, _ in enumerate(result.cases, start=1):
                (out / f"lesion-{i}.png").write_bytes(PNG)
                result.key_images[i] = f"lesion-{i}.png"
            (out / "overview.png").write_bytes(PNG)
            result.overview_image = "overview.png"
        path = out / "findings.json"
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


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
