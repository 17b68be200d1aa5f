"""``hepcal scan`` and ``hepcal phantom`` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from tests.imaging.conftest import example

runner = CliRunner()


@pytest.fixture(scope="module")
def phantom_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("ph")
    p = d / "ph.nii.gz"
    r = runner.invoke(app, ["phantom", "--pattern", "rim", "--pattern", "dense_nodular", "--spacing", "1.5", "--seed", "5", "--out", str(p)])
    assert r.exit_code == 0, r.output
    return p


def test_scan_json_with_overrides(phantom_file):
    r = runner.invoke(app, ["scan", str(phantom_file), "--format", "json", "--no-progress", "--set", "history.chronic_liver_disease=true"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["phase"]["used"] == "unenhanced" and d["liver"]["source"] == "built-in"
    pats = sorted(p for les in d["lesions"] for p in les["finding"]["calcification"])
    assert pats == ["dense_nodular", "rim"]
    les = d["lesions"][0]
    assert les["case"]["history"]["chronic_liver_disease"] is True
    assert abs(sum(x["probability"] for x in les["assessment"]["differential"]) - 1) < 1e-6
    assert len(les["centroid_mm_lps"]) == 3 and len(les["centroid_voxel"]) == 3


def test_scan_out_writes_findings_and_images(tmp_path, phantom_file):
    liver = phantom_file.parent / "ph_liver.nii.gz"
    r = runner.invoke(app, ["scan", str(phantom_file), "--liver-mask", str(liver), "--out", str(tmp_path / "res"), "--no-progress"])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "res" / "findings.json").read_text())
    assert d["liver"]["source"] == "given mask"
    for les in d["lesions"]:
        assert (tmp_path / "res" / les["key_image"]).exists()
    assert (tmp_path / "res" / "overview.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "finding.bogus=1"], "unknown key"),
        (["--phase", "venous"], "venous"),
        (["--liver-label", "5"], "--liver-mask"),
    ],
)
def test_scan_bad_input_exits_2_without_traceback(phantom_file, args, message):
    r = runner.invoke(app, ["scan", str(phantom_file), "--no-progress", *args])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output


def test_scan_missing_study():
    r = runner.invoke(app, ["scan", "no-such-study"])
    assert r.exit_code == 2 and "no such file" in r.output


def test_scan_real_dicom_writes_nothing_to_segment(tmp_path):
    r = runner.invoke(app, ["scan", str(example("ct_dicom")), "--out", str(tmp_path / "res"), "--no-progress"])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "res" / "findings.json").read_text())
    assert d["lesions"] == [] and d["phase"]["used"] == "portal"
