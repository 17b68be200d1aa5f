"""`hepcal validate --cv / --holdout` and `hepcal kb fit / check` from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.fit import cv
from hepcal.knowledge import load
from tests.fit.conftest import write_library

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_validate_cv_reports_four_models_on_the_same_folds():
    r = run("validate", "--cv", "3", "--repeats", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["mode"] == "cross-validation" and rep["folds"] == 3 and len(rep["strength_chosen_per_fold"]) == 3
    assert set(rep["models"]) == {"fitted", "estimates", "textbook", "learned"}
    n = {m: v["n_cases"] for m, v in rep["models"].items()}
    assert len(set(n.values())) == 1 and n["fitted"] == rep["in_vocabulary"]
    for v in rep["models"].values():
        for key in ("top1", "top3", "mean_rank", "brier", "log_loss", "ece", "calibration_slope", "calibration_intercept",
                    "auc_malignant", "malignant_flagged", "benign_to_needle_or_surgery"):
            m = v["measures"][key]
            assert m["low"] <= m["value"] <= m["high"], key
    table = run("validate", "--cv", "3", "--repeats", "1")
    assert table.exit_code == 0 and "textbook" in table.stdout and "AUC" in table.stdout


def test_holdout_is_scored_with_the_fit_on_development_cases(tmp_path, monkeypatch):
    late = {"id": "late-1", "source": {"citation": "Author C. Late case. J Test 2026;1:1.", "url": "https://example.org/late"},
            "kind": "case_report", "case": {"finding": {"calcification": ["rim"], "lesion": "cystic"}},
            "diagnosis": {"raw": "hydatid", "ids": ["hydatid_cyst"], "malignant": False, "proof": "serology"},
            "encoded": {"by": "t", "at": "2026-12-06"}}
    root = write_library(tmp_path / "ev", holdout=json.dumps(late) + "\n")
    rep = cv.score_holdout(cv.library(load(), root), root)
    assert rep["holdout_cases"] == 1 and rep["models"]["fitted"]["n_cases"] == 1
    assert rep["development_cases"] == 8
    r = run("validate", "--holdout", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["mode"] == "hold-out"


def test_holdout_with_a_file_is_a_usage_error(tmp_path):
    f = tmp_path / "v.jsonl"
    f.write_text("")
    r = run("validate", str(f), "--holdout")
    assert r.exit_code == 2 and "hold-out" in r.stderr


def test_kb_check_fails_on_a_stale_fit(tmp_path):
    import shutil

    from hepcal.knowledge.loader import default_path

    kb = tmp_path / "kb"
    shutil.copytree(default_path(), kb, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert run("kb", "check", "--kb", str(kb)).exit_code == 0  # the shipped fit, copied: current
    p = kb / "diagnoses" / "granuloma.yaml"
    p.write_text(p.read_text().replace("finding.calcification.rim: {p: 0.03, estimate: true}", "finding.calcification.rim: {p: 0.04, estimate: true}"))
    r = run("kb", "check", "--kb", str(kb))
    assert r.exit_code == 1 and "stale" in r.stderr and "hepcal kb fit" in r.stderr
    fit = run("kb", "fit", "--kb", str(kb), "--repeats", "1")
    assert fit.exit_code == 0 and "fitted.json" in fit.stdout
    assert run("kb", "check", "--kb", str(kb)).exit_code == 0


def test_shipped_kb_check_passes():
    r = run("kb", "check")
    assert r.exit_code == 0, r.stderr
    assert "fitted to the case library" in r.stdout
