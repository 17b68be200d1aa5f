"""Report fixtures: every example and a phantom DICOM scan, each written once per session."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hepcal.knowledge import load
from hepcal.report.source import from_findings, load_source
from hepcal.report.writer import write_reports
from tests.conftest import EXAMPLES
from tests.report import scan_study

NOW = datetime(2026, 3, 14, 9, 26, tzinfo=timezone.utc)
EXAMPLE_FILES = sorted(EXAMPLES.glob("seed-*.yaml"))
EXAMPLE_IDS = [p.stem for p in EXAMPLE_FILES]


@pytest.fixture(scope="session")
def kb():
    return load()


@pytest.fixture(scope="session")
def example_reports(kb, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """name → {file name → path} for every example case (WeasyPrint runs once per example)."""
    out = {}
    for path in EXAMPLE_FILES:
        out[path.stem] = write_reports(load_source(path, kb), tmp_path_factory.mktemp(path.stem), kb, now=NOW)
    return out


@pytest.fixture(scope="session")
def scan_findings(tmp_path_factory) -> Path:
    return scan_study.build(tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="session")
def scan_logs() -> list[logging.LogRecord]:
    return []


@pytest.fixture(scope="session")
def scan_reports(kb, scan_findings, scan_logs, tmp_path_factory) -> dict[str, Path]:
    """The reports of the phantom scan; every log record emitted meanwhile is kept in scan_logs."""

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            scan_logs.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        return write_reports(from_findings(scan_findings, kb), tmp_path_factory.mktemp("scan-report"), kb, now=NOW)
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


@pytest.fixture(scope="session")
def normal_scan(tmp_path_factory) -> Path:
    """``hepcal scan --report`` of the real DICOM series without a calcification (../shared/data)."""
    from typer.testing import CliRunner

    from hepcal.cli.main import app
    from tests.conftest import shared_path

    study = shared_path("data", "totalsegmentator-example", "ct_dicom")
    out = tmp_path_factory.mktemp("normal-scan")
    r = CliRunner().invoke(app, ["scan", str(study), "--report", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    return out
