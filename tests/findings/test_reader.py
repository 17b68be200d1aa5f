"""The case reader cannot be made to crash or to mislead: each malformed input gets an InputError.

Every input below once produced a traceback, a quiet misreading or an unbounded message. The
property-based tests at the end feed random bytes, YAML and JSON and require either a valid
case or an InputError, never anything else; ``HEPCAL_FUZZ_EXAMPLES`` raises their example count
(``make fuzz``).
"""

from __future__ import annotations

import io
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepcal.errors import InputError
from hepcal.findings.io import LIMITS, _decode, iter_cases, iter_jsonl, load_case, loads_json, read_text
from hepcal.findings.model import CaseError, parse_case

EXAMPLES = int(os.environ.get("HEPCAL_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def read(text: str) -> object:
    return parse_case(_decode(text, "case.yaml"), where="case.yaml")


def refused(text: str) -> str:
    with pytest.raises(InputError) as info:
        read(text)
    return str(info.value)


@pytest.mark.parametrize(("text", "says"), [
    ("finding: {size_mm: 010}", "leading zero"),
    ("finding: {size_mm: 1:30}", "base-60"),
    ("finding: {size_mm: 0x1F}", "hexadecimal"),
    ("finding: {size_mm: 0o17}", "hexadecimal, octal"),
    ("finding: {size_mm: 1_000}", "underscores"),
    ("finding: {size_mm: .inf}", "infinite"),
    ("finding: {size_mm: .NaN}", "not-a-number"),
    ("finding: {central_scar: yes}", "boolean word"),
    ("finding: {central_scar: no}", "boolean word"),
    ("finding: {central_scar: on}", "boolean word"),
    ("finding: {central_scar: Off}", "boolean word"),
    ("finding: {size_mm: !!int abc}", "tags"),
    ("finding: {size_mm: !!timestamp x}", "tags"),
    ("finding: !!map {size_mm: 3}", "tags"),
    ("finding: {size_mm: !!python/object:os.system x}", "tags"),
])
def test_ambiguous_scalars_and_tags_are_refused(text, says):
    message = refused(text)
    assert says in message and "line 1" in message


def test_yaml_12_numbers_and_booleans_are_read():
    case = read("finding: {size_mm: 12.5, central_scar: true, capsular_retraction: False, count: few}\nlabs: {afp_elevated: null}")
    assert case.finding.size_mm == 12.5 and case.finding.central_scar is True and case.finding.capsular_retraction is False
    quoted = refused("finding: {size_mm: '010'}")  # a quoted value is text: the model says what is allowed
    assert "'010' is not allowed; expected a number" in quoted


def test_alias_bomb_is_refused_fast_without_formatting_the_expansion():
    assert len(BOMB) < 600
    start = time.perf_counter()
    message = refused(BOMB)
    assert time.perf_counter() - start < 2.0
    assert "expands to more than" in message and len(message) < 300


def test_a_few_aliases_are_fine():
    case = read("history: {fever: &t true, jaundice: *t}\nfinding: {count: few}\n")
    assert case.history.fever is True and case.history.jaundice is True


@pytest.mark.parametrize("text", [
    "[" * 1000 + "]" * 1000,
    "{\"a\":" * 1000 + "1" + "}" * 1000,
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 60)),
    "[" * 200_000,
])
def test_deep_nesting_is_refused(text):
    message = refused(text)
    assert "nested more than" in message or "neither valid JSON nor valid YAML" in message


@pytest.mark.parametrize("text", [
    '{"finding": {"size_mm": ' + "9" * 5000 + "}}",
    "finding: {size_mm: " + "9" * 5000 + "}",
    '{"finding": {"size_mm": 1.' + "5" * 5000 + "}}",
])
def test_huge_numbers_are_refused(text):
    assert "is too long" in refused(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_non_finite_constants_are_refused(constant):
    assert "not a number a case can hold" in refused('{"finding": {"size_mm": %s}}' % constant)


def test_invalid_date_is_a_clear_error():
    assert "'2024-13-45' is not allowed; expected a number" in refused("finding: {size_mm: 2024-13-45}")


def test_big_bad_value_is_not_echoed_whole():
    value = "x" * 500_000
    message = str(pytest.raises(InputError, parse_case, {"finding": {"count": value}}).value)
    assert len(message) < 500 and "500000 characters" in message


def test_many_bad_items_are_capped():
    items = ["bad"] * 5000
    message = str(pytest.raises(CaseError, parse_case, {"finding": {"calcification": items}}).value)
    assert "5000 problem(s)" in message and "4980 more problem(s) not listed" in message
    assert len(message) < 5000


def test_unknown_long_key_is_shortened():
    message = str(pytest.raises(CaseError, parse_case, {"finding": {"k" * 100_000: 1}}).value)
    assert len(message) < 2000


def test_oversized_document_is_refused(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text("finding: {count: '" + "x" * (LIMITS.max_document_bytes + 10) + "'}")
    assert "too large for one case" in str(pytest.raises(InputError, load_case, f).value)


def test_long_path_is_a_clear_error():
    message = str(pytest.raises(InputError, load_case, "d" * 300 + ".yaml").value)
    assert ("no such file" in message or "cannot be read" in message) and len(message) < 300


def test_invalid_utf8_in_a_case_file_names_the_line(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_bytes(b"finding:\n  count: few\n  lesion: \xff\n")
    assert "line 3 is not UTF-8" in str(pytest.raises(InputError, load_case, f).value)


def test_jsonl_bad_lines_are_reported_on_their_number_and_the_rest_goes_on():
    good = json.dumps({"finding": {"count": "few"}}).encode()
    stream = io.BytesIO(b"\n".join([
        good,
        b"\xff\xfe not utf-8",
        b'{"finding": {"size_mm": ' + b"9" * 5000 + b"}}",
        b"[" * 5000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"finding": {"count": "few", "count": "many"}}',
        b"x" * (LIMITS.max_document_bytes + 5),
        good,
    ]) + b"\n")
    lines = list(iter_cases(stream, "s.jsonl"))
    assert [ln.number for ln in lines] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [ln.error is None for ln in lines] == [True, False, False, False, False, False, False, True]
    messages = [str(ln.error) for ln in lines if ln.error is not None]
    assert messages[0].startswith("s.jsonl:2: not UTF-8")
    assert "too long" in messages[1] and "nested" in messages[2] and "nested" in messages[3]
    assert "given twice" in messages[4] and "longer than" in messages[5]


def test_request_body_limits_apply_to_loads_json():
    with pytest.raises(InputError, match="too long"):
        loads_json(b'{"a": ' + b"1" * 4400 + b"}", "the request body")


def test_stdin_is_bounded():
    data = io.BytesIO(b"x" * (LIMITS.max_document_bytes + 100))
    with pytest.raises(InputError, match="too large"):
        read_text("-", io.TextIOWrapper(data))


# -- property-based: random input gives a case or an InputError, nothing else ---------------------

def _never_crashes(text: str) -> None:
    try:
        read(text)
    except InputError as exc:
        assert str(exc) and len(str(exc)) < 20_000


yaml_scalars = st.sampled_from([
    "010", "1:30", "0x1F", "0o7", "0b1", "1_000", ".inf", "-.inf", ".nan", "yes", "no", "on", "off", "y", "n", "~", "null",
    "true", "False", "12", "12.5", "-3", "1e3", "1e999", "!!int abc", "!!timestamp x", "!!str 5", "&a 1", "*a", "*b",
    "'q'", '"q"', "2024-13-45", "2024-01-01", "few", "rim", "[rim, coarse]", "{a: 1}", "[", "{", ":", "- x", "? x", "|", ">",
    "9" * 60, "%YAML 1.1", "---", "...", "\t", "\x00", "\u202e", "\x1b[31m", ":smile:", "[bold]",
])
yaml_keys = st.sampled_from(["finding", "history", "labs", "patient", "size_mm", "count", "calcification", "central_scar",
                             "fever", "<<", "? x", "&k key", "*k", "'q'", "x"])


@st.composite
def yaml_documents(draw):
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        indent = "  " * draw(st.integers(0, 3))
        if draw(st.booleans()):
            lines.append(f"{indent}{draw(yaml_keys)}: {draw(yaml_scalars)}")
        else:
            lines.append(f"{indent}- {draw(yaml_scalars)}")
    return "\n".join(lines)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        lines = list(iter_cases(io.BytesIO(data), "fuzz.jsonl"))
        assert all(ln.error is None or isinstance(ln.error, InputError) for ln in lines)
        return
    _never_crashes(text)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_crashes(text):
    _never_crashes(text)


@FUZZ
@given(yaml_documents())
def test_random_yaml_never_crashes(text):
    _never_crashes(text)


@FUZZ
@given(json_values)
def test_random_json_never_crashes(value):
    text = json.dumps(value, allow_nan=True)
    _never_crashes(text)
    lines = list(iter_cases(io.BytesIO(text.encode() + b"\n" + text.encode()), "fuzz.jsonl"))
    assert len(lines) == 2 and all(ln.error is None or isinstance(ln.error, InputError) for ln in lines)


@FUZZ
@given(st.lists(st.binary(max_size=60), max_size=12))
def test_jsonl_streams_keep_their_line_numbers(chunks):
    data = b"\n".join(c.replace(b"\n", b" ").replace(b"\r", b" ") for c in chunks)
    lines = list(iter_jsonl(io.BytesIO(data), "s.jsonl"))
    numbers = [ln.number for ln in lines]
    assert numbers == sorted(set(numbers))
    assert set(numbers) <= set(range(1, len(data.split(b"\n")) + 1))
    assert all(ln.error is None or isinstance(ln.error, InputError) for ln in lines)
