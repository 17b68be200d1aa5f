"""Catalogues: every language has every key, and no wording hides in the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hepcal.errors import InputError
from hepcal.report.messages import available_languages, messages, missing_keys

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "hepcal" / "report"


def test_english_is_available():
    assert "en" in available_languages()


@pytest.mark.parametrize("lang", available_languages())
def test_every_catalogue_has_every_english_key(lang):
    assert missing_keys(messages("en"), messages(lang)) == []


def test_missing_keys_names_the_path():
    assert missing_keys({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 1}}) == ["a.c", "d"]


def test_unknown_language_is_an_input_error_naming_the_choices():
    with pytest.raises(InputError, match="available: en"):
        messages("xx")


def test_templates_hold_no_english_sentences():
    """Words in templates come from the catalogue: no run of three plain words between tags."""
    for template in (PACKAGE / "templates").glob("*.j2"):
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", template.read_text("utf-8"), flags=re.S)
        text = re.sub(r"<style>.*?</style>|<[^>]+>", "\n", text, flags=re.S)
        for line in text.splitlines():
            assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", line), f"{template.name}: {line.strip()!r}"
