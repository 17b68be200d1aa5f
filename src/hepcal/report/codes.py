"""Coded concepts for FHIR and DICOM SR, read from ``codes.yaml`` (checked codes only)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from hepcal import yamlfile


@lru_cache(maxsize=1)
def codes() -> dict[str, Any]:
    return yamlfile.safe_load(resources.files("hepcal.report").joinpath("codes.yaml").read_text("utf-8"))


def system(scheme: str) -> str:
    """The FHIR system URI of a coding scheme designator (SCT, RADLEX, ...)."""
    return codes()["systems"][scheme]


def fhir_coding(entry: dict[str, str]) -> dict[str, str]:
    return {"system": system(entry["scheme"]), "code": entry["code"], "display": entry["display"]}
