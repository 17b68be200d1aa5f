"""A cohort of small phantom studies, good and broken, built once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.dicom import write_series

PATTERNS = ("rim", "coarse", "central", "punctate", "septal", "dense_nodular", "amorphous", "linear")
#: Small, fast phantoms: 3 mm voxels over a reduced field of view.
SPACING = (3.0, 3.0, 3.0)
FOV_MM = (90.0, 210.0, 270.0)
GOOD_NIFTI = 18
GOOD_DICOM = 2
BROKEN = {
    "broken/truncated.nii.gz": "truncated",
    "broken/empty.nii.gz": "empty",
    "broken/garbage.dcm": "garbage",
}


@dataclass
class Cohort:
    folder: Path
    good: int
    broken: int
    mask_dir: Path

    @property
    def total(self) -> int:
        return self.good + self.broken


def save_nifti(volume, path: Path) -> None:
    import nibabel as nib
    import numpy as np

    from hepcal.imaging.volume import ras_to_lps

    nib.save(nib.Nifti1Image(np.asarray(volume.array), ras_to_lps(volume.affine)), str(path))


def save_mask(mask, volume, path: Path) -> None:
    import nibabel as nib
    import numpy as np

    from hepcal.imaging.volume import ras_to_lps

    nib.save(nib.Nifti1Image(np.asarray(mask, dtype=np.uint8), ras_to_lps(volume.affine)), str(path))


def phantom(i: int):
    from hepcal.imaging.phantom import LesionSpec, make_phantom

    lesions = [LesionSpec(PATTERNS[i % len(PATTERNS)])]
    return make_phantom(phase=("unenhanced", "portal")[i % 2], lesions=lesions, spacing=SPACING, fov_mm=FOV_MM, seed=100 + i, ribs=False)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Cohort:
    pytest.importorskip("nibabel")
    root = tmp_path_factory.mktemp("cohort")
    studies = root / "studies"
    masks = root / "masks"
    (studies / "broken").mkdir(parents=True)
    masks.mkdir()
    for i in range(GOOD_NIFTI):
        ph = phantom(i)
        sub = studies / f"site{i % 3}"
        sub.mkdir(exist_ok=True)
        save_nifti(ph.volume, sub / f"p{i:02d}.nii.gz")
        save_mask(ph.liver, ph.volume, masks / f"p{i:02d}_liver.nii.gz")
    from hepcal.imaging.dicom_series import write_ct_series

    for j in range(GOOD_DICOM):
        ph = phantom(GOOD_NIFTI + j)
        write_ct_series(ph.volume, studies / "dicom" / f"d{j}", seed=f"batch-test-{j}")
    good = (studies / "site0" / "p00.nii.gz").read_bytes()
    (studies / "broken" / "truncated.nii.gz").write_bytes(good[: len(good) // 3])
    (studies / "broken" / "empty.nii.gz").write_bytes(b"")
    (studies / "broken" / "garbage.dcm").write_bytes(b"not a dicom file at all")
    write_series(studies / "broken" / "mr", modality="MR", slices=3)  # a non-CT series
    return Cohort(folder=studies, good=GOOD_NIFTI + GOOD_DICOM, broken=len(BROKEN) + 1, mask_dir=masks)
