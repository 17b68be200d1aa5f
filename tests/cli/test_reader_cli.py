"""What the terminal shows for malformed cases: inert text, bounded, with the documented exit codes."""

from __future__ import annotations

import json

from tests.cli.test_cli import run

GOOD = json.dumps({"finding": {"calcification": ["rim"], "count": "few"}})


def test_markup_emoji_and_control_characters_stay_inert(tmp_path):
    f = tmp_path / "evil.json"
    f.write_text(json.dumps({"finding": {"\x1b[31mred": 1, ":smile:": 2, "[bold]loud[/bold]": 3, "\u202eevil": 4}}))
    r = run("assess", str(f))
    assert r.exit_code == 2
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert ":smile:" in r.stderr and "😄" not in r.stderr
    assert "[bold]loud[/bold]" in r.stderr


def test_line_100_is_not_an_emoji(tmp_path):
    f = tmp_path / "many.jsonl"
    f.write_text("\n".join([GOOD] * 99 + ["not json"]) + "\n")
    r = run("assess", str(f), "--format", "jsonl")
    assert r.exit_code == 1
    assert "many.jsonl:100: not valid JSON" in r.stderr and "💯" not in r.stderr
    assert "1 line(s) could not be assessed; the other 99 were" in r.stderr


def test_jsonl_where_every_line_fails_exits_2_without_claiming_others(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("nope\n{}\n")
    r = run("assess", str(f), "--format", "jsonl")
    assert r.exit_code == 2 and "none of its 2 line(s) could be assessed" in r.stderr
    assert "the others" not in r.stderr and "Traceback" not in r.stderr


def test_blank_jsonl_exits_2(tmp_path):
    f = tmp_path / "blank.jsonl"
    f.write_text("\n\n")
    r = run("assess", str(f))
    assert r.exit_code == 2 and "holds no case" in r.stderr


def test_validate_on_an_empty_file_exits_2(tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_text("")
    r = run("validate", str(f))
    assert r.exit_code == 2 and "no labelled case" in r.stderr


def test_huge_integer_line_does_not_abort_the_stream(tmp_path):
    f = tmp_path / "big.jsonl"
    f.write_text('{"finding": {"size_mm": ' + "9" * 5000 + "}}\n" + GOOD + "\n")
    r = run("assess", str(f), "--format", "jsonl")
    assert r.exit_code == 1 and "big.jsonl:1:" in r.stderr and "too long" in r.stderr
    assert json.loads(r.stdout)["line"] == 2


def test_alias_bomb_message_is_short(tmp_path):
    from tests.findings.test_reader import BOMB

    f = tmp_path / "bomb.yaml"
    f.write_text(BOMB)
    r = run("assess", str(f))
    assert r.exit_code == 2 and "expands to more than" in r.stderr and len(r.stderr) < 400


def test_long_path_is_a_clear_error():
    r = run("assess", "p" * 300 + ".yaml")
    assert r.exit_code == 2 and "Traceback" not in r.stderr and "error:" in r.stderr


def test_many_bad_items_print_a_bounded_message(tmp_path):
    f = tmp_path / "many.json"
    f.write_text(json.dumps({"finding": {"calcification": ["bad"] * 9000}}))
    r = run("assess", str(f))
    assert r.exit_code == 2 and "more problem(s) not listed" in r.stderr and len(r.stderr) < 10_000


def test_set_uses_the_one_text_rule():
    from hepcal.findings.overrides import coerce
    from hepcal.web.checklist import case_from_form

    for text, value in (("yes", True), ("Off", False), ("1", True), ("f", False)):
        assert coerce("finding.central_scar", text) is value
        assert case_from_form({"finding.central_scar": [text]})["finding"]["central_scar"] is value
    assert coerce("finding.size_mm", " 12.5 ") == 12.5 == case_from_form({"finding.size_mm": ["12.5"]})["finding"]["size_mm"]
