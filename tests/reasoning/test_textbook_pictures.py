"""The knowledge base agrees with its own prose: a diagnosis's classic picture makes it lead."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hepcal.reasoning import assess

PICTURES = yaml.safe_load((Path(__file__).parent / "textbook_pictures.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("picture", PICTURES, ids=[p["leads"] for p in PICTURES])
def test_classic_picture_leads_and_is_not_atypical(picture):
    a = assess(picture["case"]).to_dict()
    assert a["differential"][0]["id"] == picture["leads"], (picture["picture"], [(e["id"], e["probability"]) for e in a["differential"][:3]])
    assert not a["atypical"], picture["picture"]


def test_the_pictures_cover_distinct_diagnoses():
    leads = [p["leads"] for p in PICTURES]
    assert len(leads) == len(set(leads)) >= 20
