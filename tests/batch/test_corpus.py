"""Broken studies in a batch: refused ones are ``failed`` naming their check, warned ones are
``ok`` with the warning in studies.parquet and summary.csv (never ``ok`` with a hidden warning)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.imaging import corpus

PICK = {
    "phantom": None,
    "dcm-no-intercept": "rescale",
    "nii-scl-slope-2": "hu_fat",
    "dcm-one-slice-spacing": "geometry",
    "mask-shifted-40mm": "liver_tissue",
    "zip-encrypted": None,
    "dcm-duplicate-file": None,
}


@pytest.mark.slow
def test_batch_records_failed_checks_and_warnings(tmp_path):
    cases = {c.name: c for c in corpus.build(tmp_path / "corpus") if c.name in PICK}
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["study", "mask"])
        for c in cases.values():
            w.writerow([str(c.study), str(c.mask) if c.mask else ""])
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "hepcal", "batch", str(manifest), "--out", str(out), "--workers", "1", "--quiet"],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 1, r.stderr  # some studies failed, the others were processed
    assert "Traceback" not in r.stderr + r.stdout
    studies = pd.read_parquet(out / "studies.parquet")
    def key(study, mask):
        return (Path(study).resolve(), Path(mask).resolve() if mask else None)

    rows = {key(row["path"], row["mask"]): row for _, row in studies.iterrows()}
    by_name = {name: rows[key(c.study, c.mask)] for name, c in cases.items()}
    for name, check in PICK.items():
        row = by_name[name]
        if name in ("phantom", "dcm-duplicate-file"):
            assert row["status"] == "ok", (name, row["error"])
        else:
            assert row["status"] == "failed", name
            if check:
                assert row["failed_check"] == check and f"'{check}'" in row["error"], (name, row["error"])
            else:
                assert "encrypted" in row["error"]
    assert list(by_name["phantom"]["warnings"]) == []
    dup = list(by_name["dcm-duplicate-file"]["warnings"])
    assert len(dup) == 1 and dup[0].startswith("duplicate_slice: ")
    assert by_name["dcm-duplicate-file"]["lesion_count"] == by_name["phantom"]["lesion_count"] == 2
    summary = list(csv.reader((out / "summary.csv").open()))
    assert ["studies", "with_warnings", "1"] in summary
    assert any(row[0] == "warning" and row[2].startswith("duplicate_slice") for row in summary)
