"""One unit of batch work: a study to scan, with the clinical context a manifest gave it.

A :class:`Study` is small and picklable: it travels from the driver to a worker (a local
process or a Dask worker on another machine), so it carries paths and text, never pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["nifti", "dicom", "zip", "unknown"]


@dataclass(frozen=True)
class Study:
    """What to scan and how, plus the key that makes a rerun skip it once done.

    ``key`` identifies the *result*: the study's own identity (content hash or
    SeriesInstanceUID, ``study_key``) plus, when a manifest adds a mask or clinical context,
    a short hash of that context, so editing a manifest row re-runs that study only.
    ``problem`` is set when the study could be named but not prepared (missing file, bad
    manifest value): it is then recorded as failed without being sent to a worker.
    """

    key: str
    study_key: str
    source: str
    kind: Kind
    path: str
    series_uid: str | None = None
    mask: str | None = None
    mask_label: int | None = None
    overrides: tuple[str, ...] = ()
    row: int | None = None
    problem: str | None = None
