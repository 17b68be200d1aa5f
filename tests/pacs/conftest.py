"""A real PACS for the round trips: Orthanc with its DICOMweb plugin, on loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")  # Debian's orthanc-dicomweb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    http: str  # http://127.0.0.1:<port>
    dicom_port: int
    aet: str
    hepcal_port: int  # where Orthanc's modality "hepcal" (AE HEPCAL) listens

    @property
    def dicomweb(self) -> str:
        return f"{self.http}/dicom-web"

    def get(self, path: str):  # type: ignore[no-untyped-def]
        with urllib.request.urlopen(self.http + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body: bytes | str):  # type: ignore[no-untyped-def]
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.http + path, data=data, method="POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):  # type: ignore[no-untyped-def]
    exe = shutil.which("Orthanc")
    if exe is None or not PLUGIN.exists():
        pytest.skip("Orthanc and its DICOMweb plugin are not installed (Debian packages orthanc and orthanc-dicomweb; .ci/run installs them)")
    root = tmp_path_factory.mktemp("orthanc")
    http, dicom, hepcal = free_port(), free_port(), free_port()
    config = {
        "Name": "hepcal-test", "StorageDirectory": str(root / "storage"), "IndexDirectory": str(root / "index"),
        "HttpPort": http, "DicomPort": dicom, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
        "DicomModalities": {"hepcal": ["HEPCAL", "127.0.0.1", hepcal]},
        "HttpTimeout": 60, "StableAge": 1,
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = open(root / "orthanc.log", "w")
    proc = subprocess.Popen([exe, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(f"http://127.0.0.1:{http}", dicom, "ORTHANC", hepcal)
    deadline = time.time() + 60
    while True:
        try:
            server.get("/system")
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("Orthanc did not start: " + (root / "orthanc.log").read_text()[-2000:])
            time.sleep(0.3)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def phantom_series(folder: Path, seed: str, patterns=("rim", "dense_nodular")) -> list[Path]:
    """A small DICOM CT study with calcified lesions (UIDs reproducible from ``seed``)."""
    ph = make_phantom(lesions=[LesionSpec(p) for p in patterns], spacing=(3.0, 2.0, 2.0), fov_mm=(120.0, 200.0, 260.0), seed=7)
    return write_ct_series(ph.volume, folder, identity=SeriesIdentity(patient_name="PHANTOM^PACS", patient_id="PACS1"), seed=seed)


def upload(server: Orthanc, files: list[Path]) -> str:
    """Store files in Orthanc (its REST upload); returns the StudyInstanceUID."""
    import pydicom

    for f in files:
        server.post("/instances", f.read_bytes())
    return str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
