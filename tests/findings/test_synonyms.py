"""A refused value names what the reader probably meant, and is never converted silently."""

from __future__ import annotations

import pytest

from hepcal.findings import CaseError, contract, parse_case
from hepcal.findings.synonyms import suggest, synonyms


def test_every_synonym_points_at_an_allowed_value_of_an_enum_key():
    fields = contract().fields
    for path, words in synonyms().items():
        spec = fields[path]
        assert spec.type in ("enum", "enum_list"), path
        for word, value in words.items():
            assert value in spec.values, (path, word, value)
            assert word not in spec.values, (path, word)  # a synonym never shadows a real value


@pytest.mark.parametrize(("case", "meant"), [
    ({"finding": {"calcification": ["eggshell"]}}, "'rim'"),
    ({"finding": {"calcification": ["stellate scar"]}}, "'central_scar'"),
    ({"finding": {"calcification": ["punctuate"]}}, "'punctate'"),  # a misspelling
    ({"finding": {"modality": ["ultrasound"]}}, "'us'"),
    ({"finding": {"lesion": "solid-cystic"}}, "'mixed'"),
    ({"patient": {"sex": "F"}, "finding": {"count": "single"}}, "'female'"),
])
def test_refused_value_suggests_the_contract_word(case, meant):
    with pytest.raises(CaseError) as e:
        parse_case(case)
    assert f"did you mean {meant}?" in str(e.value)


def test_no_suggestion_for_an_unrelated_word():
    with pytest.raises(CaseError) as e:
        parse_case({"finding": {"calcification": ["banana"]}})
    assert "did you mean" not in str(e.value)
    assert "takes values from punctate" in str(e.value)
    assert suggest("finding.calcification", 3, contract().fields["finding.calcification"].values) is None


@pytest.mark.parametrize(("word", "advice"), [
    ("rim", "write [rim];"),  # the right word, but not in a list
    ("eggshell", "did you mean [rim]?"),  # a reader's word, not in a list
])
def test_one_word_where_a_list_is_expected_is_named_as_such(word, advice):
    with pytest.raises(CaseError) as e:
        parse_case({"finding": {"calcification": word}})
    text = str(e.value)
    assert "is one value, not a list" in text and advice in text
    assert "did you mean 'rim'" not in text  # never "'rim' … did you mean 'rim'?"
