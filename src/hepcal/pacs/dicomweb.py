"""A study over DICOMweb: list its series (QIDO-RS), fetch the chosen one (WADO-RS), store the
results back (STOW-RS). Built on ``dicomweb-client``; credentials come from the environment only.

Environment (never the command line, never logged):

- ``HEPCAL_DICOMWEB_TOKEN``: a bearer token, or
- ``HEPCAL_DICOMWEB_USER`` and ``HEPCAL_DICOMWEB_PASSWORD``: HTTP basic authentication.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hepcal.errors import InputError
from hepcal.pacs.selection import Choice, SeriesSummary, choose_series, summarise

__all__ = ["PacsError", "StudyRef", "Stored", "client_from_env", "fetch_study", "is_dicomweb_url", "parse_study_url", "push"]

logger = logging.getLogger(__name__)

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class PacsError(InputError):
    """The PACS could not be reached or refused a request (the message names which)."""


@dataclass(frozen=True)
class StudyRef:
    base_url: str  # the DICOMweb service root, e.g. https://pacs.example/dicom-web
    study_uid: str


def is_dicomweb_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def parse_study_url(url: str) -> StudyRef:
    """``<service root>/studies/<StudyInstanceUID>`` → the root and the UID."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r} is not a DICOMweb study address; expected https://<host>/<root>/studies/<StudyInstanceUID>")
    if parts.username or parts.password:
        raise InputError("credentials in the address are refused; set HEPCAL_DICOMWEB_TOKEN, or HEPCAL_DICOMWEB_USER and HEPCAL_DICOMWEB_PASSWORD")
    path = parts.path.rstrip("/")
    m = re.search(r"^(.*)/studies/([^/]+)$", path)
    if not m or not _UID.match(m.group(2)) or len(m.group(2)) > 64:
        raise InputError(f"{url!r}: expected .../studies/<StudyInstanceUID> (digits and dots, at most 64 characters)")
    return StudyRef(f"{parts.scheme}://{parts.netloc}{m.group(1)}", m.group(2))


def _session(env: Mapping[str, str]) -> Any:
    from dicomweb_client.session_utils import create_session, create_session_from_user_pass

    token = env.get("HEPCAL_DICOMWEB_TOKEN")
    user, password = env.get("HEPCAL_DICOMWEB_USER"), env.get("HEPCAL_DICOMWEB_PASSWORD")
    if token:
        session = create_session()
        session.headers["Authorization"] = f"Bearer {token}"
        return session
    if user or password:
        if not (user and password):
            raise InputError("basic authentication needs both HEPCAL_DICOMWEB_USER and HEPCAL_DICOMWEB_PASSWORD")
        return create_session_from_user_pass(user, password)
    return create_session()


def client_from_env(base_url: str, env: Mapping[str, str] | None = None) -> Any:
    """A ``DICOMwebClient`` for ``base_url`` with the credentials of the environment."""
    from dicomweb_client.api import DICOMwebClient

    return DICOMwebClient(url=base_url, session=_session(os.environ if env is None else env))


def _call(what: str, fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a DICOMweb request; errors become a PacsError that names the request (no credentials)."""
    import requests

    try:
        return fn(*args, **kw)
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        hint = " (check HEPCAL_DICOMWEB_TOKEN or HEPCAL_DICOMWEB_USER/PASSWORD)" if code in (401, 403) else ""
        raise PacsError(f"{what}: the PACS answered HTTP {code}{hint}") from None
    except requests.exceptions.RequestException as exc:
        raise PacsError(f"{what}: the PACS could not be reached ({type(exc).__name__})") from None


def list_series(client: Any, study_uid: str) -> list[SeriesSummary]:
    """Every series of the study, summarised from QIDO-RS and its first instance's metadata."""
    found = _call(f"QIDO-RS series of study {study_uid}", client.search_for_series, study_instance_uid=study_uid)
    if not found:
        raise PacsError(f"study {study_uid}: the PACS lists no series for it (wrong UID, or no access)")
    out = []
    for rec in found:
        uid = _first(rec, "0020000E")
        modality = _first(rec, "00080060")
        first = None
        if modality == "CT":
            insts = _call(f"QIDO-RS instances of series {uid}", client.search_for_instances, study_instance_uid=study_uid,
                          series_instance_uid=uid, limit=1, fields=["00080008", "00181210", "00180050", "00180010"])
            if insts:
                sop = _first(insts[0], "00080018")
                first = _call(f"WADO-RS metadata of {sop}", client.retrieve_instance_metadata, study_instance_uid=study_uid,
                              series_instance_uid=uid, sop_instance_uid=sop)
        out.append(summarise(rec, first))
    return out


def _first(rec: Mapping[str, Any], tag: str) -> str:
    entry = rec.get(tag) or {}
    values = entry.get("Value") or [""]
    return str(values[0])


def fetch_study(ref: StudyRef, dest: str | Path, *, client: Any | None = None, every_usable: bool = False) -> tuple[Path, Choice]:
    """Fetch the series the rules choose into ``dest/<SeriesInstanceUID>/``; returns that folder.

    ``every_usable`` (a multi-phase scan): every series that passes the required rules is
    fetched into ``dest/`` (one subfolder each) and ``dest`` is returned.
    """
    client = client or client_from_env(ref.base_url)
    choice = choose_series(list_series(client, ref.study_uid))
    wanted = [choice.chosen.uid] + ([u for u, why in choice.rejected.items() if why.startswith("not preferred") or why.startswith("equal")] if every_usable else [])
    for uid in wanted:
        folder = Path(dest) / uid
        folder.mkdir(parents=True, exist_ok=True)
        datasets = _call(f"WADO-RS series {uid}", client.retrieve_series, study_instance_uid=ref.study_uid, series_instance_uid=uid)
        for ds in datasets:
            ds.save_as(folder / f"{ds.SOPInstanceUID}.dcm", enforce_file_format=True)
        logger.info("fetched %d instances of series %s", len(datasets), uid)
    return (Path(dest) if every_usable else Path(dest) / choice.chosen.uid), choice


@dataclass
class Stored:
    stored: list[str] = field(default_factory=list)  # SOP instance UIDs stored now
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why it was not stored


def _referenced_series(ds: Any) -> set[str]:
    """Series a SEG or SR refers to (ReferencedSeriesSequence, at top level or in the evidence)."""
    out: set[str] = set()
    for seq_name in ("ReferencedSeriesSequence", "CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for item in getattr(ds, seq_name, None) or []:
            if getattr(item, "SeriesInstanceUID", None):
                out.add(str(item.SeriesInstanceUID))
            for sub in getattr(item, "ReferencedSeriesSequence", None) or []:
                if getattr(sub, "SeriesInstanceUID", None):
                    out.add(str(sub.SeriesInstanceUID))
    return out


def _key(ds: Any) -> tuple[str, str, str, frozenset[str]]:
    """What makes two results the same: kind, hepcal's version, its description, the source series."""
    software = getattr(ds, "SoftwareVersions", "")
    software = "\\".join(software) if isinstance(software, (list, tuple)) or type(software).__name__ == "MultiValue" else str(software)
    return (str(ds.Modality), software, str(getattr(ds, "SeriesDescription", "")), frozenset(_referenced_series(ds)))


def _stored_keys(client: Any, study_uid: str) -> set[tuple[str, str, str, frozenset[str]]]:
    """Keys of the hepcal results already in the study (SEG and SR series made by hepcal)."""
    import pydicom

    keys = set()
    for modality in ("SEG", "SR"):
        series = _call(f"QIDO-RS {modality} series", client.search_for_series, study_instance_uid=study_uid, search_filters={"Modality": modality})
        for rec in series or []:
            uid = _first(rec, "0020000E")
            for meta in _call(f"WADO-RS metadata of series {uid}", client.retrieve_series_metadata, study_instance_uid=study_uid, series_instance_uid=uid) or []:
                ds = pydicom.Dataset.from_json(meta)
                if str(getattr(ds, "Manufacturer", "")) == "hepcal":
                    keys.add(_key(ds))
    return keys


def push(ref: StudyRef, files: Iterable[str | Path], *, client: Any | None = None) -> Stored:
    """Store the result objects (SEG, SR) in the study by STOW-RS, each once.

    A rerun of the same hepcal version on the same series finds its earlier results in the
    study (same kind, version, description and referenced series) and stores nothing again.
    """
    import pydicom

    client = client or client_from_env(ref.base_url)
    existing = _stored_keys(client, ref.study_uid)
    result = Stored()
    todo = []
    for path in files:
        ds = pydicom.dcmread(path)
        if str(ds.StudyInstanceUID) != ref.study_uid:
            raise InputError(f"{Path(path).name} belongs to study {ds.StudyInstanceUID}, not to {ref.study_uid}; nothing was stored")
        if _key(ds) in existing:
            result.skipped[Path(path).name] = "already stored by this hepcal version for this series"
            continue
        todo.append(ds)
    if todo:
        _call("STOW-RS", client.store_instances, datasets=todo, study_instance_uid=ref.study_uid)
        result.stored = [str(ds.SOPInstanceUID) for ds in todo]
    return result
