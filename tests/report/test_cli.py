"""hepcal report, hepcal assess --report: files written, clean errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hepcal.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()
CASE = str(EXAMPLES / "seed-us-echogenic-focus.yaml")


def test_report_from_a_case_writes_four_files(tmp_path):
    r = runner.invoke(app, ["report", CASE, "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["fhir.json", "patient.html", "report.html", "report.pdf"]
    assert "report.pdf" in r.stdout


def test_report_from_a_scan_writes_the_sr_too(tmp_path, scan_findings):
    r = runner.invoke(app, ["report", str(scan_findings), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "sr.dcm").is_file() and (tmp_path / "report.pdf").is_file()


def test_assess_report_keeps_stdout_for_the_assessment(tmp_path):
    r = runner.invoke(app, ["assess", CASE, "--format", "json", "--report", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["differential"]
    assert (tmp_path / "patient.html").is_file()


def test_assess_report_refuses_a_stream(tmp_path):
    lines = tmp_path / "cases.jsonl"
    lines.write_text(json.dumps({"finding": {"calcification": ["rim"]}}) + "\n")
    r = runner.invoke(app, ["assess", str(lines), "--report", str(tmp_path / "r")])
    assert r.exit_code == 2 and "one case" in r.output


def test_unknown_language_and_missing_file_exit_2_without_traceback(tmp_path):
    r = runner.invoke(app, ["report", CASE, "--out", str(tmp_path), "--lang", "xx"])
    assert r.exit_code == 2 and "'en'" in r.output and "'zh'" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["report", str(tmp_path / "none.yaml"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_out_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(app, ["report", CASE, "--out", str(f)])
    assert r.exit_code == 2 and "not a folder" in r.output


def test_bad_findings_file_is_named(tmp_path):
    bad = tmp_path / "findings.json"
    bad.write_text(json.dumps({"lesions": [{"nothing": 1}]}))
    r = runner.invoke(app, ["report", str(bad), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "lesion 1" in r.output


def test_assess_report_in_chinese(tmp_path):
    r = runner.invoke(app, ["assess", CASE, "--format", "json", "--report", str(tmp_path), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert '<html lang="zh">' in (tmp_path / "patient.html").read_text("utf-8")
