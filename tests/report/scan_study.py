"""A phantom CT study written as DICOM, with a calcification SEG and a findings.json.

Stands in for ``hepcal scan`` output: the lesions' findings, volumes, maximum HU and centroids
are measured from the phantom's truth, so the report tests do not depend on the detector.
"""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom

PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "ID-4711-SECRET"


def write_seg(cts: list[pydicom.Dataset], labels: np.ndarray, n: int, path: Path) -> None:
    mask = np.stack([labels == k for k in range(1, n + 1)], axis=-1).astype(np.uint8)
    algo = hd.AlgorithmIdentificationSequence(name="hepcal", version="test", family=codes.DCM.ArtificialIntelligence)
    descs = [
        hd.seg.SegmentDescription(
            segment_number=k, segment_label=f"Lesion {k}",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=hd.sr.CodedConcept("18115005", "SCT", "Pathologic calcification"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC, algorithm_identification=algo)
        for k in range(1, n + 1)
    ]
    seg = hd.seg.Segmentation(
        source_images=cts, pixel_array=mask, segmentation_type="BINARY", segment_descriptions=descs,
        series_instance_uid=hd.UID(), series_number=100, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="hepcal", manufacturer_model_name="hepcal", software_versions="test", device_serial_number="0")
    seg.save_as(path)


def build(root: Path, *, with_seg: bool = True) -> Path:
    """Write study/ (DICOM CT), results/findings.json, key images and SEG; returns findings.json."""
    ph = make_phantom(lesions=[LesionSpec("rim", size_mm=30), LesionSpec("coarse", size_mm=12)],
                      spacing=(3.0, 2.0, 2.0), fov_mm=(120.0, 200.0, 260.0), seed=3)
    study, results = root / "study", root / "results"
    results.mkdir(parents=True)
    paths = write_ct_series(ph.volume, study, identity=SeriesIdentity(patient_name=PATIENT_NAME, patient_id=PATIENT_ID))
    lesions = []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for k, truth in enumerate(ph.lesions, start=1):
        m = ph.calcium == k
        idx = np.argwhere(m).mean(axis=0)
        plane = int(round(idx[0]))
        image = f"lesion_{k}.png"
        plt.imsave(results / image, np.clip(ph.volume.array[plane], -160, 240), cmap="gray")
        lesions.append({
            "id": k,
            "finding": {"modality": ["ct"], "calcification": [truth.pattern], "count": "solitary",
                        "size_mm": float(truth.size_mm), "max_hu": float(ph.volume.array[m].max())},
            "volume_mm3": float(m.sum() * ph.volume.voxel_volume_mm3),
            "centroid_mm": ph.volume.index_to_lps(idx).round(1).tolist(),
            "key_image": image,
            "segment_number": k,
        })
    data = {"study": str(study), "phase": "unenhanced", "threshold_hu": 130, "liver_source": "phantom truth",
            "lesions": lesions}
    if with_seg:
        write_seg([pydicom.dcmread(p) for p in paths], ph.calcium, len(ph.lesions), results / "calcifications.seg.dcm")
        data["seg"] = "calcifications.seg.dcm"
    (results / "findings.json").write_text(json.dumps(data, indent=2))
    return results / "findings.json"
