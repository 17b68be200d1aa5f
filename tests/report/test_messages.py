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
def test_every_catalogue_has_the_patient_summary_and_every_key_of_the_sections_it_has(lang):
    en, other = messages("en"), messages(lang)
    assert "patient" in other
    for key, value in en.items():
        if isinstance(value, dict) and key in other:
            assert missing_keys(value, other[key]) == [], key
    for key in ("language", "date_format", "percent", "percent_fine"):
        assert key in other


def test_a_section_a_catalogue_lacks_is_written_in_english():
    from hepcal.report.messages import section_language

    assert section_language("zh", "patient") == "zh"
    assert section_language("zh", "report") == "en" and section_language("zh", "fhir") == "en"
    assert section_language("en", "report") == "en"


def test_missing_keys_names_the_path():
    assert missing_keys({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 1}}) == ["a.c", "d"]


def test_unknown_language_is_an_input_error_naming_the_choices():
    with pytest.raises(InputError, match="available: en, zh"):
        messages("xx")


def test_templates_hold_no_english_sentences():
    """Words in templates come from the catalogue: no run of three plain words between tags."""
    for template in (PACKAGE / "templates").glob("*.j2"):
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", template.read_text("utf-8"), flags=re.S)
        text = re.sub(r"<style>.*?</style>|<[^>]+>", "\n", text, flags=re.S)
        for line in text.splitlines():
            assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", line), f"{template.name}: {line.strip()!r}"
