"""The DICOM node: its on-disk queue survives a restart without losing or repeating a study, it
answers C-ECHO, refuses unknown AE titles, and round-trips a study with Orthanc as sender and
receiver (the SEG and SR land in Orthanc)."""

from __future__ import annotations

import json
import threading
import time

import pydicom
import pytest

from hepcal.errors import InputError
from hepcal.pacs.node import NodeConfig, StudyQueue, parse_destination, process, serve

from .conftest import free_port, phantom_series, upload


def _instance(study: str, sop: str) -> pydicom.Dataset:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    return ds


def test_destination_and_uids_are_checked(tmp_path):
    assert parse_destination("PACS@127.0.0.1:4242").port == 4242
    for bad in ("PACS127.0.0.1:4242", "PACS@host", "WAYTOOLONGAETITLE1@h:1", "P@h:70000"):
        with pytest.raises(InputError, match="AET@host:port"):
            parse_destination(bad)
    q = StudyQueue(tmp_path)
    with pytest.raises(InputError, match="not a UID"):
        q.store(_instance("../../etc", "1.2"))


def test_queue_takes_a_study_once_it_is_quiet_and_a_restart_repeats_nothing(tmp_path):
    q = StudyQueue(tmp_path / "q")
    q.store(_instance("1.2.3", "1.2.3.1"))
    assert q.ready(quiet_seconds=60) == []  # still arriving
    assert q.ready(quiet_seconds=0) == ["1.2.3"]
    work = q.take("1.2.3")
    calls = []

    def analyse(study, results):  # type: ignore[no-untyped-def]
        calls.append(study.name)
        results.mkdir()
        return []

    config = NodeConfig(aet="HEPCAL", port=0, queue=tmp_path / "q")
    status = process(q, work, analyse, config)
    assert status["status"] == "ok" and calls == [work.name]
    assert (tmp_path / "q" / "done" / work.name / "status.json").exists()
    # a crash after sending, before the move: the restart only moves it
    q.store(_instance("1.2.4", "1.2.4.1"))
    work2 = q.take("1.2.4")
    (work2 / "sent.json").write_text(json.dumps({"status": "ok", "sent": ["x"], "files": [], "seconds": 1}))
    assert q.pending() == [work2]

    def must_not_run(study, results):  # type: ignore[no-untyped-def]
        raise AssertionError("a sent study was analysed again")

    assert process(q, work2, must_not_run, config)["sent"] == ["x"]
    assert q.pending() == []


def test_a_failed_analysis_is_kept_with_its_reason(tmp_path):
    q = StudyQueue(tmp_path)
    q.store(_instance("1.2.5", "1.2.5.1"))
    work = q.take("1.2.5")

    def broken(study, results):  # type: ignore[no-untyped-def]
        raise InputError("no series of this study can be analysed")

    status = process(q, work, broken, NodeConfig(aet="HEPCAL", port=0, queue=tmp_path))
    assert status["status"] == "failed" and "no series" in status["error"]


def _start(config, analyse):  # type: ignore[no-untyped-def]
    stop = threading.Event()
    seen: dict = {}
    t = threading.Thread(target=serve, args=(config, analyse), kwargs={"stop": stop, "poll_seconds": 0.2, "on_status": lambda s, st: seen.update({s: st})}, daemon=True)
    t.start()
    time.sleep(1.0)
    return stop, t, seen


def test_echo_answers_and_unknown_ae_titles_are_refused(tmp_path):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    port = free_port()
    stop, t, _ = _start(NodeConfig(aet="HEPCAL", port=port, queue=tmp_path, allowed=frozenset({"FRIEND"})), lambda s, r: [])
    try:
        friend = AE(ae_title="FRIEND")
        friend.add_requested_context(Verification)
        assoc = friend.associate("127.0.0.1", port, ae_title="HEPCAL")
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        assoc.release()
        stranger = AE(ae_title="STRANGER")
        stranger.add_requested_context(Verification)
        assoc = stranger.associate("127.0.0.1", port, ae_title="HEPCAL")
        assert not assoc.is_established and assoc.is_rejected
    finally:
        stop.set()
        t.join(10)


@pytest.mark.slow
def test_listen_round_trip_with_orthanc_as_sender_and_receiver(orthanc, tmp_path):
    from hepcal.pacs.analysis import analyse_folder
    from hepcal.pacs.node import Destination

    files = phantom_series(tmp_path / "ct", seed="listen-round-trip")
    study_uid = upload(orthanc, files)
    config = NodeConfig(aet="HEPCAL", port=orthanc.hepcal_port, queue=tmp_path / "queue", allowed=frozenset({orthanc.aet}),
                        destination=Destination(orthanc.aet, "127.0.0.1", orthanc.dicom_port), quiet_seconds=1.0)
    stop, t, seen = _start(config, lambda work, results: analyse_folder(work, results).to_send)
    try:
        t0 = time.perf_counter()
        study_id = orthanc.post("/tools/lookup", study_uid)[0]["ID"]
        orthanc.post("/modalities/hepcal/store", json.dumps({"Resources": [study_id], "Synchronous": True}))
        deadline = time.time() + 240
        while not seen and time.time() < deadline:
            time.sleep(0.3)
        assert seen, "the node finished no study"
        status = next(iter(seen.values()))
        assert status["status"] == "ok", status
        assert len(status["sent"]) == 2  # the SEG and the SR
        modalities = sorted(orthanc.get(f"/series/{s}")["MainDicomTags"].get("Modality", "") for s in orthanc.get(f"/studies/{study_id}")["Series"])
        assert modalities == ["CT", "SEG", "SR"]
        elapsed = time.perf_counter() - t0
        print(f"study sent by Orthanc to SR stored back: {elapsed:.1f} s (quiet time 1 s, analysis {status['seconds']} s)")
    finally:
        stop.set()
        t.join(20)
