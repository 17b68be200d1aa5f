"""Suggestions for a refused value: the contract's word for a reader's word, or a near spelling.

A value outside the vocabulary is never converted (the model is strict on purpose); the error
message names what the reader probably meant, so a new user fixes the case in one step.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from hepcal import yamlfile


@lru_cache(maxsize=1)
def synonyms() -> dict[str, dict[str, str]]:
    """``{key path: {reader's word: contract value}}`` from ``synonyms.yaml``."""
    text = resources.files("hepcal.findings").joinpath("synonyms.yaml").read_text(encoding="utf-8")
    return {k: {str(w): str(v) for w, v in (m or {}).items()} for k, m in (yamlfile.safe_load(text) or {}).items()}


def _normal(word: str) -> str:
    return re.sub(r"[\s\-/]+", "_", word.strip().lower())


def suggest(path: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    """The allowed value ``value`` most likely meant at key ``path`` (``finding.calcification``), or None."""
    if not isinstance(value, str) or not allowed:
        return None
    word = _normal(value)
    if word in allowed:
        return word
    known = synonyms().get(path, {}).get(word)
    if known in allowed:
        return known
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.75)
    return close[0] if close else None
