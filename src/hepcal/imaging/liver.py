"""Find the liver: a given mask, TotalSegmentator when it is usable, or the built-in method.

Order of preference (:func:`segment_liver`): a mask the user gives (NIfTI label map or DICOM
SEG, brought onto the image through patient space), then TotalSegmentator if it is installed
*and* its weights are already on disk (hepcal never downloads), then a built-in intensity
method. The result always says which source was used, because a downstream reader must know
how much to trust the liver outline.

The built-in method works on a ~3 mm copy of the study: it finds the liver's attenuation as the
histogram mode of soft tissue in the patient's right abdomen, keeps the largest compact
component near that value (opening cuts thin bridges to neighbours), then grows it while each
new voxel stays close to the *local* mean of the liver already found — which follows the slow
attenuation gradients of real livers (the portal-venous example is ~100 HU anteriorly and
~70 HU posteriorly) — and finishes with opening, closing and hole filling so that lesions and
vessels inside the liver are part of it. A lesion that bulges from the liver is not a hole:
hypoattenuating tissue or fluid that the liver wraps around (most rays cast from it meet the
liver, the "claw" of its organ of origin) is added, so that a large cyst or mass at the
surface, and the calcification in its wall or septa, stay in the liver.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.config import LiverSegmentation, imaging_config
from hepcal.imaging.morphology import ball, coarsen, refine
from hepcal.imaging.reading import is_nifti
from hepcal.imaging.resample import MaskGeometryError, resample_labels
from hepcal.imaging.volume import Volume, check_affine, ras_to_lps

__all__ = [
    "BuiltinLiverSegmenter",
    "LiverMask",
    "LiverSegmenter",
    "SegmentationError",
    "TotalSegmentatorSegmenter",
    "ball",
    "dice",
    "load_mask",
    "segment_liver",
]

logger = logging.getLogger(__name__)

#: TotalSegmentator's "total" task class of the liver.
TOTALSEG_LIVER = 5


class SegmentationError(InputError):
    """No liver could be found or loaded."""


@dataclass(frozen=True)
class LiverMask:
    """A liver mask on the image grid and where it came from."""

    mask: np.ndarray
    source: str  # "given mask" | "TotalSegmentator" | "built-in"
    detail: str = ""

    @property
    def n_voxels(self) -> int:
        return int(self.mask.sum())


class LiverSegmenter(Protocol):
    """Anything that can outline the liver of a CT volume (load heavy models once, reuse)."""

    name: str

    def segment(self, volume: Volume) -> np.ndarray: ...


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean masks (1.0 for two empty masks)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


# ---------------------------------------------------------------------------- given masks


def load_mask(path: str | Path, reference: Volume, *, label: int | None = None) -> np.ndarray:
    """Read a liver mask (NIfTI label map or DICOM SEG) onto ``reference``'s grid.

    ``label`` selects the label value (NIfTI) or segment number (SEG). Without it a binary mask
    is used as is, a SEG segment whose label mentions the liver is chosen, and a multi-label map
    is refused with the labels it holds listed.
    """
    p = Path(path)
    if not p.exists():
        raise SegmentationError(f"--liver-mask {p}: no such file")
    if is_nifti(p):
        labels, affine = _read_nifti_labels(p)
        where = f"liver mask {p.name}"
    else:
        labels, affine, where = _read_seg(p, reference, label)
        label = 1  # _read_seg returns the chosen segment as 1
    values = np.unique(labels)
    values = values[values != 0]
    if values.size == 0:
        raise SegmentationError(f"{where}: the mask is empty (no labelled voxel)")
    if label is None:
        if values.size > 1:
            shown = ", ".join(str(int(v)) for v in values[:30]) + (" …" if values.size > 30 else "")
            raise SegmentationError(
                f"{where}: a label map with {values.size} labels ({shown}); choose the liver with "
                f"--liver-label (TotalSegmentator's liver is {TOTALSEG_LIVER})"
            )
        label = int(values[0])
    if label not in values:
        shown = ", ".join(str(int(v)) for v in values[:30])
        raise SegmentationError(f"{where}: label {label} is not in the mask; labels present: {shown}")
    try:
        check_affine(affine)
    except InputError as exc:
        raise SegmentationError(f"{where}: its affine cannot place the mask in the patient ({exc}); the mask's geometry is broken") from None
    onto = resample_labels((labels == label).astype(np.uint8), affine, reference, name=where)
    return onto.astype(bool)


def _read_nifti_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:
        raise SegmentationError(f"liver mask {path.name}: cannot read as NIfTI ({exc})") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise SegmentationError(f"liver mask {path.name}: expected a 3-D label map, got shape {data.shape}")
    if np.issubdtype(data.dtype, np.floating):
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
            raise SegmentationError(f"liver mask {path.name}: values must be integer labels")
        data = data.astype(np.int32)
    return np.asarray(data), ras_to_lps(img.affine)


def _read_seg(path: Path, reference: Volume, label: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    import highdicom as hd
    import pydicom

    where = f"liver mask {path.name}"
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:
        raise SegmentationError(f"{where}: not a NIfTI (.nii/.nii.gz) or DICOM SEG file ({exc})") from None
    if str(ds.get("Modality", "")) != "SEG":
        raise SegmentationError(f"{where}: DICOM modality {ds.get('Modality', '?')}, expected SEG (or a NIfTI label map)")
    for_uid = str(ds.get("FrameOfReferenceUID", "") or "")
    ref_for = str(reference.metadata.get("frame_of_reference_uid", "") or "")
    if for_uid and ref_for and for_uid != ref_for:
        raise MaskGeometryError(f"{where}: its FrameOfReferenceUID differs from the study's; it belongs to another acquisition")
    seg = hd.seg.Segmentation.from_dataset(ds)
    numbers = list(seg.segment_numbers)
    names = {n: str(seg.get_segment_description(n).segment_label) for n in numbers}
    if label is None:
        if len(numbers) == 1:
            label = numbers[0]
        else:
            liver = [n for n, s in names.items() if "liver" in s.lower()]
            if len(liver) != 1:
                listing = ", ".join(f"{n}={s}" for n, s in names.items())
                raise SegmentationError(f"{where}: {len(numbers)} segments ({listing}); choose one with --liver-label")
            label = liver[0]
    if label not in numbers:
        listing = ", ".join(f"{n}={s}" for n, s in names.items())
        raise SegmentationError(f"{where}: segment {label} does not exist; segments: {listing}")
    try:
        vol = seg.get_volume(segment_numbers=[label], combine_segments=True, relabel=True)
    except Exception as exc:
        raise MaskGeometryError(f"{where}: its frames do not form a regular volume ({exc})") from None
    arr = np.asarray(vol.array)
    return (arr > 0).astype(np.uint8), np.asarray(vol.affine, dtype=float), f"{where} (segment {label} {names[label]!r})"


# ---------------------------------------------------------------------------- TotalSegmentator


def _default_runner(nifti_in: Path, out_dir: Path, fast: bool) -> Path:
    """Run the TotalSegmentator command on one NIfTI; returns the multi-label map it wrote."""
    exe = shutil.which("TotalSegmentator")
    if exe is None:
        raise SegmentationError("TotalSegmentator: the command is not on PATH")
    out = out_dir / "labels.nii.gz"
    cmd = [exe, "-i", str(nifti_in), "-o", str(out), "--ml", "--roi_subset", "liver", "--quiet"]
    if fast:
        cmd.append("--fast")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SegmentationError("TotalSegmentator failed: " + " | ".join(tail))
    return out


def totalsegmentator_weights_dir() -> Path:
    """Where TotalSegmentator keeps its weights (same rule as its own config)."""
    if "TOTALSEG_WEIGHTS_PATH" in os.environ:
        return Path(os.environ["TOTALSEG_WEIGHTS_PATH"])
    home = Path(os.environ["TOTALSEG_HOME_DIR"]) if "TOTALSEG_HOME_DIR" in os.environ else Path.home() / ".totalsegmentator"
    return home / "nnunet" / "results"


class TotalSegmentatorSegmenter:
    """TotalSegmentator as an optional back-end, used only when its weights are present.

    Parameters
    ----------
    runner : callable, optional
        ``runner(nifti_in, out_dir, fast) -> label_map_path``; the default runs the
        ``TotalSegmentator`` command. Tests inject a fake runner.
    weights_dir : Path, optional
        Where to look for the weights (default: TotalSegmentator's own rule).
    """

    name = "TotalSegmentator"
    #: nnU-Net datasets that contain the liver: full resolution (organs part) and the 3 mm model.
    DATASETS = {"Dataset291": False, "Dataset297": True}

    def __init__(self, runner: Callable[[Path, Path, bool], Path] | None = None, weights_dir: Path | None = None):
        self._runner = runner
        self._weights_dir = weights_dir

    def availability(self) -> tuple[bool, str]:
        """(usable, reason); never touches the network."""
        if self._runner is None and importlib.util.find_spec("totalsegmentator") is None:
            return False, "TotalSegmentator is not installed"
        wdir = self._weights_dir or totalsegmentator_weights_dir()
        if not wdir.is_dir():
            return False, f"TotalSegmentator is installed but its weights are not present (looked in its weights folder {wdir.name}/); hepcal never downloads them"
        found = [d.name for d in wdir.iterdir() if d.is_dir() and d.name.split("_")[0] in self.DATASETS]
        if not found:
            return False, "TotalSegmentator is installed but the liver model weights (Dataset291 or Dataset297) are not present; hepcal never downloads them"
        return True, "weights: " + ", ".join(sorted(found))

    def _fast(self) -> bool:
        wdir = self._weights_dir or totalsegmentator_weights_dir()
        names = {d.name.split("_")[0] for d in wdir.iterdir() if d.is_dir()}
        return "Dataset291" not in names

    def segment(self, volume: Volume) -> np.ndarray:
        import nibabel as nib

        ok, why = self.availability()
        if not ok:
            raise SegmentationError(why)
        runner = self._runner or _default_runner
        with tempfile.TemporaryDirectory(prefix="hepcal-totalseg-") as tmp:
            src = Path(tmp) / "ct.nii.gz"
            nib.save(nib.Nifti1Image(volume.array.astype(np.int16), ras_to_lps(volume.affine)), str(src))
            out = Path(runner(src, Path(tmp), self._fast()))
            if not out.exists():
                raise SegmentationError("TotalSegmentator produced no label map")
            labels, affine = _read_nifti_labels(out)
        if not np.any(labels == TOTALSEG_LIVER):
            raise SegmentationError("TotalSegmentator found no liver in this study")
        return resample_labels((labels == TOTALSEG_LIVER).astype(np.uint8), affine, volume, name="TotalSegmentator labels").astype(bool)


# ---------------------------------------------------------------------------- built-in


class BuiltinLiverSegmenter:
    """Intensity-and-shape liver segmentation with no model weights (see module docstring)."""

    name = "built-in"

    def __init__(self, params: LiverSegmentation | None = None):
        self.params = params or imaging_config().liver_segmentation

    def segment(self, volume: Volume) -> np.ndarray:
        p = self.params
        spacing = volume.spacing
        factors = tuple(max(1, int(round(p.working_spacing_mm / s))) for s in spacing)
        small = coarsen(volume.array, factors, "mean", np.float32)
        sp = spacing * np.array(factors)
        smooth = ndi.gaussian_filter(small, p.smoothing_sigma_mm / sp) if p.smoothing_sigma_mm > 0 else small
        body = _body(smooth, p.body_threshold_hu)
        if not body.any():
            raise SegmentationError("built-in liver segmentation: no body found (is this a CT in HU?)")
        right = _right_half(body)
        liver_hu = _liver_mode(smooth, body, right, sp, p)
        core = body & (np.abs(smooth - liver_hu) <= p.core_tolerance_hu)
        core = ndi.binary_opening(core, ball(p.core_opening_mm, sp))
        lab, n = ndi.label(core)
        if n == 0:
            raise SegmentationError(f"built-in liver segmentation: no compact tissue near {liver_hu:.0f} HU found")
        in_right = np.bincount(lab[right], minlength=n + 1)
        in_right[0] = 0
        mask = lab == int(np.argmax(in_right))
        del lab, core
        mask = _grow(mask, smooth, body, sp, p)
        if p.final_opening_mm > 0:
            mask = ndi.binary_opening(mask, ball(p.final_opening_mm, sp))
        lab, n = ndi.label(mask)
        if n == 0:
            raise SegmentationError("built-in liver segmentation: the liver vanished after opening")
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        mask = lab == int(np.argmax(sizes))
        pad = 3
        mask = ndi.binary_closing(np.pad(mask, pad), ball(p.closing_mm, sp))[pad:-pad, pad:-pad, pad:-pad]
        mask = np.stack([ndi.binary_fill_holes(s) for s in mask])
        mask |= _enclosed_lesions(mask, smooth, body, liver_hu, sp, p)
        return np.ascontiguousarray(refine(mask, factors, volume.shape))


#: 26 directions (faces, edges and corners of a cube), unit length.
_RAYS = np.array([d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)], float)
_RAYS /= np.linalg.norm(_RAYS, axis=1)[:, None]


def _enclosed_lesions(mask: np.ndarray, smooth: np.ndarray, body: np.ndarray, liver_hu: float, sp: np.ndarray, p: LiverSegmentation) -> np.ndarray:
    """Hypoattenuating tissue or fluid outside ``mask`` that the liver wraps around.

    From each candidate voxel (clearly darker than the liver, not fat, near the liver) rays are
    cast in 26 directions up to ``enclosure_reach_mm``; a voxel from which at least
    ``enclosure_min`` of them meet the liver lies in a lesion of the liver. Neighbours that
    merely touch the liver (bowel, stomach, kidney, gallbladder) see it on one side only.
    """
    cand = body & ~mask & (smooth < liver_hu - p.lesion_delta_hu) & (smooth > p.lesion_floor_hu)
    cand &= ndi.distance_transform_edt(~mask, sampling=sp) <= p.enclosure_reach_mm / 2
    idx = np.argwhere(cand)
    add = np.zeros_like(mask)
    if not len(idx):
        return add
    shape = np.array(mask.shape)
    hits = np.zeros(len(idx), np.int16)
    steps = np.arange(float(sp.min()), p.enclosure_reach_mm + 1e-9, float(sp.min()))
    for ray in _RAYS:
        open_ = np.arange(len(idx))  # rays that have not met the liver yet
        for t in steps:
            q = np.round(idx[open_] + ray * t / sp).astype(np.int64)
            inside = np.all((q >= 0) & (q < shape), axis=1)
            met = np.zeros(len(open_), bool)
            met[inside] = mask[q[inside, 0], q[inside, 1], q[inside, 2]]
            hits[open_[met]] += 1
            open_ = open_[~met & inside]
            if not len(open_):
                break
    add[tuple(idx[hits >= p.enclosure_min * len(_RAYS)].T)] = True
    if p.enclosure_opening_mm > 0:
        add = ndi.binary_opening(add, ball(p.enclosure_opening_mm, sp))
    lab, _ = ndi.label(add)
    touching = np.unique(lab[ndi.binary_dilation(mask) & ~mask & (lab > 0)])
    return np.isin(lab, touching)


def _body(smooth: np.ndarray, threshold: float) -> np.ndarray:
    body = smooth > threshold
    lab, n = ndi.label(body)
    if n == 0:
        return body
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    body = lab == int(np.argmax(sizes))
    return np.stack([ndi.binary_fill_holes(s) for s in body])


def _right_half(body: np.ndarray) -> np.ndarray:
    """Voxels on the patient's right of the body's midline (low column index, canonical order)."""
    right = np.zeros_like(body)
    for k, s in enumerate(body):
        cols = np.flatnonzero(s.any(axis=0))
        if cols.size:
            right[k, :, : int(cols.mean())] = True
    return right & body


def _liver_mode(smooth: np.ndarray, body: np.ndarray, right: np.ndarray, sp: np.ndarray, p: LiverSegmentation) -> float:
    inner = ndi.binary_erosion(body, ball(p.body_rim_mm, sp)) & right
    lo, hi = p.histogram_range_hu
    vals = smooth[inner]
    vals = vals[(vals > lo) & (vals < hi)]
    if vals.size < 100:
        raise SegmentationError("built-in liver segmentation: too little soft tissue in the right abdomen; is the liver in the field of view?")
    hist, edges = np.histogram(vals, bins=np.arange(lo, hi + 2, 2))
    hist = ndi.uniform_filter1d(hist.astype(float), 5)
    k = int(np.argmax(hist))
    return float(edges[k] + 1)


def _grow(mask: np.ndarray, smooth: np.ndarray, body: np.ndarray, sp: np.ndarray, p: LiverSegmentation) -> np.ndarray:
    """Grow voxel layer by layer while each voxel stays near the local liver mean."""
    sigma = p.local_mean_sigma_mm / sp
    struct = ndi.generate_binary_structure(3, 1)
    steps = int(np.ceil(p.grow_distance_mm / float(sp.min())))
    weighted = smooth * mask
    for _ in range(steps):
        m = mask.astype(np.float32)
        local = ndi.gaussian_filter(weighted, sigma) / np.maximum(ndi.gaussian_filter(m, sigma), 1e-3)
        ring = ndi.binary_dilation(mask, struct) & ~mask & body
        add = ring & (np.abs(smooth - local) <= p.grow_tolerance_hu)
        if not add.any():
            break
        mask = mask | add
        weighted = smooth * mask
    return mask


# ---------------------------------------------------------------------------- choice


def segment_liver(
    volume: Volume,
    *,
    mask_path: str | Path | None = None,
    label: int | None = None,
    segmenters: tuple[LiverSegmenter, ...] | None = None,
) -> LiverMask:
    """The liver of ``volume``: the given mask, else the first usable segmenter.

    ``segmenters`` defaults to (TotalSegmentator, built-in). A segmenter with an
    ``availability()`` method that reports unusable is skipped, and its reason is kept in
    :attr:`LiverMask.detail` so that the user learns why it was not used.
    """
    if mask_path is not None:
        m = load_mask(mask_path, volume, label=label)
        return LiverMask(m, "given mask", Path(mask_path).name + (f" label {label}" if label is not None else ""))
    if label is not None:
        raise SegmentationError("--liver-label needs --liver-mask (the label map to take it from)")
    chain = segmenters if segmenters is not None else (TotalSegmentatorSegmenter(), BuiltinLiverSegmenter())
    notes: list[str] = []
    for seg in chain:
        check = getattr(seg, "availability", None)
        if check is not None:
            ok, why = check()
            if not ok:
                notes.append(why)
                continue
        m = seg.segment(volume)
        if not m.any():
            notes.append(f"{seg.name} found no liver")
            continue
        return LiverMask(m, seg.name, "; ".join(notes))
    raise SegmentationError("no liver found: " + "; ".join(notes))
