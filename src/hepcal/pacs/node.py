"""A DICOM node: receives studies by C-STORE, analyses each once it is complete, sends the
results (SEG, SR) to a destination by C-STORE. Built on ``pynetdicom``.

The queue is on disk, one folder per study, and a study moves through it by atomic renames::

    incoming/<StudyInstanceUID>/    instances arrive here; the folder's last write is its clock
    working/<StudyInstanceUID>/     quiet for ``quiet_seconds``: taken for analysis
    done/<StudyInstanceUID>/        results sent (or failed, with ``status.json`` saying why)

A restart finds ``working/`` studies and finishes them: a study whose results were already sent
(``sent.json`` written before the move to ``done/``) is only moved, never analysed or sent twice.
Instances of a study that arrive after it was taken start a new ``incoming/`` folder, analysed
as a new delivery.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepcal.errors import InputError

__all__ = ["Destination", "NodeConfig", "StudyQueue", "parse_destination", "serve"]

logger = logging.getLogger(__name__)

_AET = re.compile(r"^[\x20-\x7e]{1,16}$")
_SAFE = re.compile(r"^[0-9.]{1,64}$")


@dataclass(frozen=True)
class Destination:
    aet: str
    host: str
    port: int


def parse_destination(text: str) -> Destination:
    """``AET@host:port`` → a :class:`Destination`."""
    m = re.match(r"^([^@]{1,16})@([^:]+):(\d{1,5})$", text)
    if not m or not _AET.match(m.group(1)) or not (0 < int(m.group(3)) < 65536):
        raise InputError(f"--send-to {text!r}: expected AET@host:port, e.g. PACS@127.0.0.1:4242 (AE title of 1-16 printable characters)")
    return Destination(m.group(1).strip(), m.group(2), int(m.group(3)))


def check_aet(aet: str) -> str:
    if not _AET.match(aet) or aet != aet.strip() or "\\" in aet:
        raise InputError(f"AE title {aet!r}: 1-16 printable ASCII characters, no backslash, no leading or trailing space")
    return aet


@dataclass
class NodeConfig:
    aet: str
    port: int
    queue: Path
    destination: Destination | None = None
    allowed: frozenset[str] = frozenset()  # calling AE titles accepted; empty = any when allow_any
    allow_any: bool = False
    quiet_seconds: float = 30.0
    host: str = "127.0.0.1"


class StudyQueue:
    """The on-disk queue (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        for name in ("incoming", "working", "done"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def incoming(self, study_uid: str) -> Path:
        if not _SAFE.match(study_uid):
            raise InputError(f"StudyInstanceUID {study_uid[:70]!r} is not a UID (digits and dots, at most 64)")
        return self.root / "incoming" / study_uid

    def store(self, ds: Any) -> Path:
        """Write one received instance (atomically: a partial file never carries a .dcm name)."""
        folder = self.incoming(str(ds.StudyInstanceUID))
        folder.mkdir(parents=True, exist_ok=True)
        sop = str(ds.SOPInstanceUID)
        if not _SAFE.match(sop):
            raise InputError(f"SOPInstanceUID {sop[:70]!r} is not a UID")
        tmp = folder / f".{sop}.part"
        ds.save_as(tmp, enforce_file_format=True)
        final = folder / f"{sop}.dcm"
        os.replace(tmp, final)
        os.utime(folder)
        return final

    def ready(self, quiet_seconds: float, now: float | None = None) -> list[str]:
        """Studies whose last instance arrived at least ``quiet_seconds`` ago."""
        now = time.time() if now is None else now
        out = []
        for folder in sorted((self.root / "incoming").iterdir()):
            if folder.is_dir() and now - folder.stat().st_mtime >= quiet_seconds and any(folder.glob("*.dcm")):
                out.append(folder.name)
        return out

    def take(self, study_uid: str) -> Path:
        """incoming → working (a unique name, so a later delivery of the same study stays apart)."""
        target = self.root / "working" / f"{study_uid}@{time.time_ns()}"
        os.replace(self.incoming(study_uid), target)
        return target

    def pending(self) -> list[Path]:
        """Studies taken but not finished (after a restart)."""
        return sorted(p for p in (self.root / "working").iterdir() if p.is_dir())

    def finish(self, work: Path, status: dict[str, Any]) -> Path:
        (work / "status.json").write_text(json.dumps(status, indent=2) + "\n")
        target = self.root / "done" / work.name
        os.replace(work, target)
        return target


def _send(dest: Destination, aet: str, files: list[Path]) -> list[str]:
    """C-STORE ``files`` to ``dest``; returns the SOP instance UIDs it accepted."""
    import pydicom
    from pynetdicom import AE, StoragePresentationContexts

    ae = AE(ae_title=aet)
    ae.requested_contexts = StoragePresentationContexts[:127]
    datasets = [pydicom.dcmread(f) for f in files]
    assoc = ae.associate(dest.host, dest.port, ae_title=dest.aet)
    if not assoc.is_established:
        raise InputError(f"the destination {dest.aet}@{dest.host}:{dest.port} refused the association or could not be reached")
    sent = []
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if status and int(getattr(status, "Status", 0xFFFF)) == 0x0000:
                sent.append(str(ds.SOPInstanceUID))
            else:
                raise InputError(f"the destination refused {ds.SOPClassUID.name if hasattr(ds.SOPClassUID, 'name') else 'an object'} (status {getattr(status, 'Status', 'none')})")
    finally:
        assoc.release()
    return sent


Analyse = Callable[[Path, Path], list[Path]]  # (study folder, results folder) -> files to send


def process(queue: StudyQueue, work: Path, analyse: Analyse, config: NodeConfig) -> dict[str, Any]:
    """Analyse one taken study and send its results; idempotent across restarts."""
    sent_marker = work / "sent.json"
    if sent_marker.exists():  # sent before a crash: finish the move only
        status = json.loads(sent_marker.read_text())
        queue.finish(work, status)
        return status
    results = work / "results"
    t0 = time.perf_counter()
    try:
        shutil.rmtree(results, ignore_errors=True)
        files = analyse(work, results)
        sent = _send(config.destination, config.aet, files) if config.destination and files else []
        status = {"status": "ok", "sent": sent, "files": [f.name for f in files], "seconds": round(time.perf_counter() - t0, 2)}
        sent_marker.write_text(json.dumps(status, indent=2) + "\n")
    except InputError as exc:
        status = {"status": "failed", "error": str(exc), "seconds": round(time.perf_counter() - t0, 2)}
    except Exception as exc:  # a bug: logged with its traceback, the study kept for inspection
        logger.exception("study %s failed", work.name)
        status = {"status": "failed", "error": f"internal error ({type(exc).__name__}); see the log", "seconds": round(time.perf_counter() - t0, 2)}
    queue.finish(work, status)
    return status


def serve(config: NodeConfig, analyse: Analyse, *, stop: threading.Event | None = None, poll_seconds: float = 1.0,
          on_status: Callable[[str, dict[str, Any]], None] | None = None) -> None:
    """Run the node until ``stop`` is set: the C-STORE / C-ECHO server and the study worker."""
    from pynetdicom import AE, AllStoragePresentationContexts, evt
    from pynetdicom.sop_class import Verification

    check_aet(config.aet)
    queue = StudyQueue(config.queue)
    stop = stop or threading.Event()

    def on_store(event: Any) -> int:
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            queue.store(ds)
            return 0x0000
        except InputError as exc:
            logger.warning("refused an instance: %s", exc)
            return 0xA900  # dataset does not match SOP class / cannot be processed
        except OSError:
            logger.exception("could not store an instance")
            return 0xA700  # out of resources

    ae = AE(ae_title=config.aet)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context(Verification)
    if not config.allow_any:  # pynetdicom rejects other calling AE titles at association
        ae.require_calling_aet = sorted(config.allowed)
    handlers = [(evt.EVT_C_STORE, on_store)]
    server = ae.start_server((config.host, config.port), block=False, evt_handlers=handlers)
    try:
        for work in queue.pending():  # left by a restart
            status = process(queue, work, analyse, config)
            if on_status:
                on_status(work.name, status)
        while not stop.is_set():
            for study in queue.ready(config.quiet_seconds):
                work = queue.take(study)
                status = process(queue, work, analyse, config)
                if on_status:
                    on_status(work.name, status)
            stop.wait(poll_seconds)
    finally:
        server.shutdown()
