"""Message catalogues: every word a report shows, one YAML file per language.

A language is added by dropping ``messages/<lang>.yaml``; no code changes. A catalogue may cover
only some sections (``zh.yaml`` has the patient summary): a document whose section it lacks is
written in English (:func:`section_language`). Lookups are plain nested dicts so templates can
write ``m.report.title``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from hepcal import yamlfile
from hepcal.errors import InputError

DEFAULT_LANGUAGE = "en"


def available_languages() -> tuple[str, ...]:
    """Languages that have a catalogue, e.g. ``("en",)``."""
    folder = resources.files("hepcal.report").joinpath("messages")
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


@lru_cache(maxsize=8)
def messages(lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The catalogue of ``lang``; raises InputError naming the languages that exist."""
    langs = available_languages()
    if lang not in langs:
        raise InputError(f"no report wording for language {lang!r}; available: {', '.join(langs)}")
    text = resources.files("hepcal.report").joinpath("messages", f"{lang}.yaml").read_text("utf-8")
    return yamlfile.safe_load(text)


def missing_keys(reference: dict[str, Any], other: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys of ``reference`` (recursively) that ``other`` lacks: what a translation still needs."""
    out: list[str] = []
    for key, value in reference.items():
        path = f"{prefix}{key}"
        if key not in other:
            out.append(path)
        elif isinstance(value, dict) and isinstance(other[key], dict):
            out += missing_keys(value, other[key], path + ".")
    return out


def section_language(lang: str, section: str) -> str:
    """``lang`` when its catalogue has ``section`` (e.g. "report", "fhir"), else English."""
    return lang if section in messages(lang) else DEFAULT_LANGUAGE
