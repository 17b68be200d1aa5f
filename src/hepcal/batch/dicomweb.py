"""A DICOMweb query as the list of studies of a batch.

``hepcal batch --dicomweb <service root> --modality CT --since 20240101 --until 20240131`` asks
the PACS (QIDO-RS ``search_for_studies``) for the studies with that modality and study date
range; each becomes one batch study keyed by its StudyInstanceUID (``uid-<uid>``), so a rerun
skips the studies already done exactly as for a folder. A worker fetches the study's series
chosen by ``pacs/selection.yaml`` (WADO-RS, into a temporary folder removed afterwards), scans
it like a local series and records it in the same tables. Credentials come from the
environment, as for ``hepcal scan <study address>`` (:mod:`hepcal.pacs.dicomweb`).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from hepcal.batch.keys import series_key
from hepcal.batch.study import Study
from hepcal.errors import InputError

__all__ = ["DicomwebQuery", "find_studies", "parse_query", "run_fetched", "scan_fetched", "source_of"]

#: Studies asked for per QIDO-RS request (the query pages through the rest).
PAGE = 100
_MODALITY = re.compile(r"^[A-Z]{2,4}$")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_TAG_STUDY_UID, _TAG_DATE, _TAG_MODALITIES = "0020000D", "00080020", "00080061"


def _date(text: str | None, what: str) -> str | None:
    if text is None or text == "":
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").strftime("%Y%m%d")
    except ValueError:
        raise InputError(f"{what} {text!r}: expected a date as YYYYMMDD, e.g. 20240131") from None


@dataclass(frozen=True)
class DicomwebQuery:
    """Which studies of a DICOMweb service a batch takes (all filters optional except the root)."""

    base_url: str  # the service root, e.g. https://pacs.example/dicom-web
    modality: str | None = "CT"
    since: str | None = None  # YYYYMMDD, inclusive
    until: str | None = None  # YYYYMMDD, inclusive
    limit: int | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--dicomweb {self.base_url!r}: expected the DICOMweb service root, e.g. https://pacs.example/dicom-web")
        if parts.username or parts.password:
            raise InputError("credentials in the address are refused; set HEPCAL_DICOMWEB_TOKEN, or HEPCAL_DICOMWEB_USER and HEPCAL_DICOMWEB_PASSWORD")
        if self.modality is not None and not _MODALITY.match(self.modality):
            raise InputError(f"--modality {self.modality!r}: expected a DICOM modality code such as CT")
        since, until = _date(self.since, "--since"), _date(self.until, "--until")
        if since and until and since > until:
            raise InputError(f"--since {since} is after --until {until}; nothing could match")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"--limit {self.limit}: expected a positive number of studies")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)

    def filters(self) -> dict[str, str]:
        """The QIDO-RS search filters (attribute keyword → value)."""
        out: dict[str, str] = {}
        if self.modality:
            out["ModalitiesInStudy"] = self.modality
        if self.since or self.until:
            out["StudyDate"] = f"{self.since or ''}-{self.until or ''}"
        return out

    def url(self) -> str:
        """The query as one QIDO-RS address (shown in batch.json; ``parse_query`` reads it back)."""
        params = dict(self.filters())
        if self.limit is not None:
            params["limit"] = str(self.limit)
        return f"{self.base_url}/studies" + (f"?{urlencode(params)}" if params else "")

    def __str__(self) -> str:
        return self.url()


def parse_query(address: str, *, modality: str | None = None, since: str | None = None, until: str | None = None,
                limit: int | None = None) -> DicomwebQuery:
    """A service root plus options, or a QIDO-RS studies address with its filters in the query string.

    ``https://pacs/dicom-web/studies?ModalitiesInStudy=CT&StudyDate=20240101-20240131&limit=50``
    is the same query as ``https://pacs/dicom-web`` with ``modality="CT", since="20240101",
    until="20240131", limit=50``. A filter given both ways must agree.
    """
    parts = urlsplit(address)
    root = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    found: dict[str, Any] = {}
    if root.endswith("/studies"):
        root = root[: -len("/studies")]
    allowed = {"ModalitiesInStudy", "StudyDate", "limit"}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in allowed:
            raise InputError(f"--dicomweb: query parameter {key!r} is not supported; allowed: {', '.join(sorted(allowed))}")
        if key == "ModalitiesInStudy":
            found["modality"] = value
        elif key == "StudyDate":
            lo, sep, hi = value.partition("-")
            found["since"] = lo or None
            found["until"] = (hi or None) if sep else (lo or None)  # one date: that day
        else:
            try:
                found["limit"] = int(value)
            except ValueError:
                raise InputError(f"--dicomweb: limit={value!r} is not a number") from None
    given = {"modality": modality, "since": since, "until": until, "limit": limit}
    for key, value in given.items():
        if value is None:
            continue
        if key in found and found[key] != value:
            raise InputError(f"--{key} {value} disagrees with {key} in the --dicomweb address ({found[key]}); give it once")
        found[key] = value
    found.setdefault("modality", "CT")
    return DicomwebQuery(root, **found)


def _first(rec: Mapping[str, Any], tag: str) -> str:
    values = (rec.get(tag) or {}).get("Value") or [""]
    return str(values[0])


def find_studies(query: DicomwebQuery, *, client: Any | None = None) -> list[Study]:
    """The studies the query selects, one batch study each, oldest first (QIDO-RS, paged)."""
    from hepcal.pacs.dicomweb import _call, client_from_env

    client = client or client_from_env(query.base_url)
    records: list[Mapping[str, Any]] = []
    while query.limit is None or len(records) < query.limit:
        want = PAGE if query.limit is None else min(PAGE, query.limit - len(records))
        page = _call(f"QIDO-RS studies {query.url()}", client.search_for_studies, search_filters=query.filters(),
                     fields=["StudyDate", "ModalitiesInStudy"], limit=want, offset=len(records)) or []
        records.extend(page)
        if len(page) < want:
            break
    studies: dict[str, Study] = {}
    for rec in sorted(records, key=lambda r: (_first(r, _TAG_DATE), _first(r, _TAG_STUDY_UID))):
        uid = _first(rec, _TAG_STUDY_UID)
        if not _UID.match(uid) or len(uid) > 64:
            continue  # the PACS returned no usable UID: nothing could be fetched
        address = f"{query.base_url}/studies/{uid}"
        studies[uid] = Study(key=series_key(uid), study_key=series_key(uid), source=address, kind="dicom", path=address)
    if not studies:
        raise InputError(f"{query.url()}: the PACS lists no study for this query (check --modality, --since, --until)")
    return list(studies.values())


def scan_fetched(study: Study, ctx: Any) -> dict[str, Any]:
    """Fetch the study's chosen series into a temporary folder and scan it there (a worker's task)."""
    from hepcal.batch.worker import scan
    from hepcal.pacs.dicomweb import fetch_study, parse_study_url

    with tempfile.TemporaryDirectory(prefix="hepcal-dicomweb-") as tmp:
        folder, choice = fetch_study(parse_study_url(study.path), tmp)
        result = scan(replace(study, path=str(folder), series_uid=choice.chosen.uid), ctx)
    study_part = result.get("study")
    if isinstance(study_part, dict):
        study_part["source"] = study.path  # the study's address, not the removed temporary folder
        study_part["series_choice"] = {"series_uid": choice.chosen.uid, "series": choice.chosen.label(), "reasons": choice.reasons}
    return result


def run_fetched(study: Study) -> dict[str, Any]:
    """``run_study`` with the fetch: the batch task of a DICOMweb query (picklable, module level)."""
    from hepcal.batch.worker import run_study

    return run_study(study, scanner=scan_fetched)


def source_of(folder: Any, address: str | None, **query: Any) -> Any:
    """The batch input of the command line: the folder/manifest, or the DICOMweb query (not both)."""
    options = [f"--{k}" for k, v in query.items() if v is not None]
    if address is None:
        if folder is None:
            raise InputError("give a folder of studies, a manifest.csv, or --dicomweb <service root>")
        if options:
            raise InputError(f"{', '.join(options)} only apply with --dicomweb")
        return folder
    if folder is not None:
        raise InputError(f"give either {folder} or --dicomweb, not both")
    return parse_query(address, **query)
