"""The CLI end to end: formats, streams, exit codes, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()
RIM = str(EXAMPLES / "seed-rim-calcified-mass.yaml")


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_assess_table_shows_differential_and_recommendation():
    r = run("assess", RIM)
    assert r.exit_code == 0, r.output
    assert "Differential" in r.stdout and ("Recommendation" in r.stdout or "Plan" in r.stdout)
    assert "Organised haematoma" in r.stdout


def test_assess_json_is_the_contract_output():
    r = run("assess", RIM, "--format", "json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert abs(sum(e["probability"] for e in out["differential"]) - 1) < 1e-9
    assert out["knowledge_base"]["version"]


def test_assess_reads_stdin():
    r = run("assess", "-", "--format", "json", input=json.dumps({"finding": {"calcification": ["rim"]}}))
    assert r.exit_code == 0
    assert json.loads(r.stdout)["differential"]


def test_bad_case_exit_2_message_on_stderr_nothing_on_stdout(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("finding:\n  lesion: lump\n")
    r = run("assess", str(bad), "--format", "json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "finding.lesion" in r.stderr and "'lump'" in r.stderr and "cystic" in r.stderr
    assert "Traceback" not in r.stderr


def test_repeated_key_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text("finding:\n  count: solitary\n  count: few\n")
    r = run("assess", str(bad), "--format", "json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "'count' is given twice" in r.stderr and "Traceback" not in r.stderr


def test_missing_file_is_a_clear_error():
    r = run("assess", "does-not-exist.yaml")
    assert r.exit_code == 2 and "no such file" in r.stderr and r.stdout == ""


def test_jsonl_streams_good_lines_and_reports_bad_ones(tmp_path):
    f = tmp_path / "cases.jsonl"
    f.write_text("\n".join([
        json.dumps({"finding": {"calcification": ["rim"]}}),
        "{broken",
        json.dumps({"finding": {"calcification": ["weird"]}}),
        json.dumps({"finding": {"calcification": ["ductal"], "duct_dilatation": True}}),
    ]) + "\n")
    r = run("assess", str(f), "--format", "jsonl")
    assert r.exit_code == 1
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["line"] for x in lines] == [1, 4]
    assert "cases.jsonl:2" in r.stderr and "cases.jsonl:3" in r.stderr


def test_explain_lists_likelihood_ratios_and_references():
    r = run("explain", RIM, "hydatid_cyst", "--format", "json")
    assert r.exit_code == 0
    x = json.loads(r.stdout)
    assert x["diagnosis"]["id"] == "hydatid_cyst"
    rim = next(f for f in x["findings"] if f["finding"] == "finding.calcification=rim")
    assert rim["likelihood_ratio"] > 1 and rim["src"]
    assert x["references"]
    table = run("explain", RIM, "hydatid_cyst")
    assert table.exit_code == 0 and "References" in table.stdout


def test_explain_table_keeps_every_finding_name_at_80_columns():
    """The findings table must not squeeze the finding's name out of an 80-column terminal."""
    from rich.console import Console

    from hepcal.cli.render_explain import explanation_view

    x = json.loads(run("explain", RIM, "hydatid_cyst", "--format", "json").stdout)
    console = Console(record=True, width=80)
    console.print(explanation_view(x))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for f in x["findings"]:
        assert f["finding"][:14] in text, f["finding"]
    assert f"{x['findings'][0]['likelihood_ratio']:.2f}" in text


def test_explain_unknown_diagnosis():
    r = run("explain", RIM, "unicorn")
    assert r.exit_code == 2 and "hydatid_cyst" in r.stderr


def test_kb_commands():
    assert run("kb", "check").exit_code == 0
    listing = run("kb", "list")
    assert listing.exit_code == 0 and "granuloma" in listing.stdout
    show = run("kb", "show", "hydatid_cyst")
    assert show.exit_code == 0 and "WHO" in show.stdout
    assert run("kb", "show", "nothing").exit_code == 2


def test_kb_check_reports_a_broken_base(tmp_path):
    import shutil

    from hepcal.knowledge.loader import default_path

    kb = tmp_path / "kb"
    shutil.copytree(default_path(), kb, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = kb / "diagnoses" / "granuloma.yaml"
    path.write_text(path.read_text().replace("finding.calcification.rim: {p: 0.03, estimate: true}", "finding.calcification.rim: {p: 1.5}"))
    r = run("kb", "check", "--kb", str(kb))
    assert r.exit_code == 1
    assert "granuloma" in r.stderr and "outside" in r.stderr and "no source" in r.stderr


def test_schema_is_json_schema():
    r = run("schema")
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    assert s["$schema"].startswith("https://json-schema.org/")


def test_real_process_stdin_and_exit_codes():
    """The installed entry point, as a user runs it (stdin pipe, exit code, stderr)."""
    ok = subprocess.run([sys.executable, "-m", "hepcal", "assess", "-", "--format", "json"],
                        input='{"finding": {"calcification": ["rim"]}}', capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["differential"]
    bad = subprocess.run([sys.executable, "-m", "hepcal", "assess", "-"], input="finding: {count: lots}",
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and "finding.count" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_validate_reports_metrics(tmp_path):
    f = tmp_path / "v.jsonl"
    f.write_text("\n".join([
        json.dumps({"case": {"finding": {"calcification": ["ductal"], "duct_dilatation": True}}, "diagnosis": "hepatolithiasis", "source": "test"}),
        json.dumps({"case": {"finding": {"calcification": ["dense_nodular"], "lesion": "none", "size_mm": 5}}, "diagnosis": "granuloma", "source": "test"}),
    ]) + "\n")
    r = run("validate", str(f), "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["n"] == 2 and s["top1"] == 1.0 and s["brier"] < 0.5
    assert set(s["per_diagnosis"]) == {"hepatolithiasis", "granuloma"}


def test_validate_bad_line_exit_1(tmp_path):
    f = tmp_path / "v.jsonl"
    f.write_text(json.dumps({"case": {"finding": {"count": "few"}}, "diagnosis": "nope", "source": "x"}) + "\n"
                 + json.dumps({"case": {"finding": {"calcification": ["ductal"]}}, "diagnosis": "hepatolithiasis", "source": "t"}) + "\n")
    r = run("validate", str(f))
    assert r.exit_code == 1 and "not a known id" in r.stderr


def test_validate_every_line_bad_exits_2(tmp_path):
    f = tmp_path / "v.jsonl"
    f.write_text(json.dumps({"case": {"finding": {"count": "few"}}, "diagnosis": "nope", "source": "x"}) + "\n")
    r = run("validate", str(f))
    assert r.exit_code == 2 and "not a known id" in r.stderr and "no labelled case" in r.stderr


@pytest.mark.parametrize("args", [["assess"], ["explain", RIM], ["nonsense"]])
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_jsonl_non_utf8_is_a_clear_error(tmp_path):
    f = tmp_path / "latin.jsonl"
    f.write_bytes(json.dumps({"finding": {"count": "few"}}).encode() + b"\n\xff\xfe\n")
    r = run("assess", str(f), "--format", "jsonl")
    # line 2 is reported on its own number; line 1 was assessed
    assert r.exit_code == 1 and "latin.jsonl:2: not UTF-8" in r.stderr and "Traceback" not in r.stderr
    assert json.loads(r.stdout.splitlines()[0])["line"] == 1
