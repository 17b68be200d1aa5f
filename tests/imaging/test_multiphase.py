"""Multi-phase studies: calcium found on the unenhanced series, each lesion's enhancement read
from the other phases, on phantoms with a known enhancement course (benchmarks/bench_phases.py
measures it on many more)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.errors import InputError
from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.enhancement import rules
from hepcal.imaging.multiphase import scan_phases
from hepcal.imaging.phantom import ENHANCEMENT_HU, LesionSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_phases  # noqa: E402


def test_rules_cover_every_enhancement_the_phantom_draws_and_the_contract_names():
    from hepcal.findings.contract import contract

    named = {r["enhancement"] for r in rules()["rules"]}
    assert named == set(ENHANCEMENT_HU)
    assert named <= set(contract().field("finding.enhancement").values)


@pytest.mark.slow
@pytest.mark.parametrize("group", bench_phases.GROUPS, ids=["cystic", "solid"])
def test_each_enhancement_pattern_is_read_from_the_phases(group):
    """One study per group (a design seed): every lesion gets its drawn enhancement."""
    assert bench_phases.score(group, 502) == [(c, c) for c in group]


@pytest.mark.slow
def test_enhancement_enters_the_finding_and_the_assessment_unless_the_user_set_it():
    vols, liver, _ = bench_phases.study(("arterial_washout",), 501)
    result = scan_phases(vols, liver_mask=liver)
    les = result.lesions[0]
    assert les.finding["enhancement"] == "arterial_washout"
    assert result.cases[0]["finding"]["enhancement"] == "arterial_washout"
    phases = les.features["enhancement"]["phases"]
    assert set(phases) == {"unenhanced", "arterial", "portal", "delayed"}
    assert phases["arterial"]["lesion_hu"] > phases["arterial"]["liver_hu"] > phases["unenhanced"]["liver_hu"]
    assert any("multi-phase study" in n for n in result.notes)
    kept = scan_phases(vols, liver_mask=liver, overrides=("finding.enhancement=rim",))
    assert kept.cases[0]["finding"]["enhancement"] == "rim"  # the clinician's word stands


@pytest.mark.slow
def test_a_single_phase_gives_no_enhancement():
    vols, liver, _ = bench_phases.study(("arterial_washout",), 501)
    result = scan_phases(vols[:1], liver_mask=liver, assess=False)
    m = result.lesions[0].features.get("enhancement")
    assert m is None or m["enhancement"] is None
    assert "enhancement" not in result.lesions[0].finding or result.lesions[0].finding["enhancement"] is None


@pytest.mark.slow
def test_cli_reads_every_phase_of_a_dicom_folder(tmp_path):
    vols, _, _ = bench_phases.study(("arterial_persistent",), 503, spacing=(3.0, 2.0, 2.0))
    for k, v in enumerate(vols):
        write_ct_series(v, tmp_path / "study" / f"s{k}", identity=SeriesIdentity(series_number=k + 1), seed="multiphase-cli")
    r = CliRunner().invoke(app, ["scan", str(tmp_path / "study"), "--multiphase", "--format", "json", "--no-progress"])
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(r.output[r.output.index("{"):])
    assert any("multi-phase study" in n for n in data["notes"])
    assert data["lesions"] and "enhancement" in data["lesions"][0]["features"]


def test_multiphase_needs_a_dicom_folder(tmp_path):
    nifti = tmp_path / "x.nii.gz"
    nifti.write_bytes(b"")
    r = CliRunner().invoke(app, ["scan", str(nifti), "--multiphase"])
    assert r.exit_code == 2 and "DICOM folder" in r.output


def test_scan_phases_needs_a_series():
    with pytest.raises(InputError, match="at least one series"):
        scan_phases([])
