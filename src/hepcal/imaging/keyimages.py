"""Key images a radiologist wants: each lesion's axial slice with the calcium outlined and a
scale bar, an axial slice with the liver outline (to check the segmentation), and a coronal
maximum-intensity overview of the liver with every lesion numbered.

Captions sit on a band below the image, never on the anatomy, and give the slice position as a
PACS shows it: z in patient millimetres and, for DICOM input, the slice's instance number.
Rendered with matplotlib's Agg canvas directly (no pyplot, no global state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.volume import Volume

__all__ = ["OUTLINE_RGB", "render_lesion", "render_liver_outline", "render_overview", "slice_position"]

#: Calcium outline colour (pure yellow-green, absent from a grey CT image).
OUTLINE_RGB = (0.0, 1.0, 0.0)
LIVER_RGB = (0.2, 0.6, 1.0)
#: Height of the caption band below an image, in inches (the image above keeps its size).
BAND_IN = 0.45
BAND_RGB = "#202020"


def _figure(width_in: float, height_in: float, dpi: int) -> tuple[Figure, object]:
    """A figure with the image axes on top and a caption band of BAND_IN inches below."""
    fig = Figure(figsize=(width_in, height_in + BAND_IN), dpi=dpi, facecolor=BAND_RGB)
    FigureCanvasAgg(fig)
    band = BAND_IN / (height_in + BAND_IN)
    ax = fig.add_axes((0, band, 1, 1 - band))
    return fig, ax


def _caption(fig: Figure, text: str) -> None:
    """Caption lines on the band below the image (white on dark grey)."""
    band = BAND_IN / (fig.get_size_inches()[1])
    fig.text(0.02, band / 2, text, color="white", fontsize=8, va="center", ha="left", linespacing=1.3)


def _save(fig: Figure, ax, path: str | Path) -> Path:
    ax.set_axis_off()
    out = Path(path)
    fig.savefig(out, facecolor=fig.get_facecolor())
    return out


def slice_position(volume: Volume, plane: int) -> str:
    """Where an axial slice is, as a reader finds it in PACS: z in patient mm (+ instance number)."""
    z = float(volume.index_to_lps((plane, 0, 0))[2])
    text = f"axial z = {z:.1f} mm"
    number = _instance_number(volume, plane)
    return text + (f" (instance {number})" if number is not None else "")


def _instance_number(volume: Volume, plane: int) -> int | None:
    """InstanceNumber of the DICOM slice at ``plane`` (within half a slice), when the input was DICOM."""
    headers = volume.metadata.get("dicom_headers") or ()
    normal = volume.direction[:, 0]
    here = float(volume.index_to_lps((plane, 0, 0)) @ normal)
    best, gap = None, 0.5 * float(volume.spacing[0]) + 1e-3
    for h in headers:
        pos, number = h.get("ImagePositionPatient"), h.get("InstanceNumber")
        if pos is None or number in (None, ""):
            continue
        d = abs(float(np.asarray(pos, dtype=float) @ normal) - here)
        if d <= gap:
            best, gap = int(number), d
    return best


def _window(img: np.ndarray, level: float, width: float) -> np.ndarray:
    return np.clip((img.astype(np.float32) - (level - width / 2)) / width, 0, 1)


def _scale_bar(ax, length_px: float, shape: tuple[int, int]) -> None:
    """A white bar near the lower left corner; its length is stated in the caption, off the image."""
    h, w = shape
    x0, y0 = w * 0.06, h * 0.95
    ax.plot([x0, x0 + length_px], [y0, y0], color="white", lw=3, solid_capstyle="butt")


def render_lesion(volume: Volume, lesion: Lesion, path: str | Path, *, context_mm: float = 45.0, liver: np.ndarray | None = None) -> Path:
    """Axial slice through the lesion centroid, zoomed, calcium outlined, 10 mm scale bar."""
    p, r, c = (int(round(v)) for v in lesion.centroid_voxel)
    p = int(np.clip(p, 0, volume.shape[0] - 1))
    sp = volume.spacing
    hr, hc = int(context_mm / sp[1]), int(context_mm / sp[2])
    r0, r1 = max(0, r - hr), min(volume.shape[1], r + hr)
    c0, c1 = max(0, c - hc), min(volume.shape[2], c + hc)
    img = volume.array[p, r0:r1, c0:c1]
    calc = np.zeros(volume.shape[1:], bool)
    b = lesion.box
    if b[0].start <= p < b[0].stop:
        calc[b[1], b[2]] = lesion.calcium[p - b[0].start]
    calc = calc[r0:r1, c0:c1]
    fig, ax = _figure(5, 5, 120)
    ax.imshow(_window(img, 60, 400), cmap="gray", vmin=0, vmax=1, aspect=sp[1] / sp[2], interpolation="nearest")
    if calc.any():
        ax.contour(calc.astype(float), levels=[0.5], colors=[OUTLINE_RGB], linewidths=1.5)
    if liver is not None:
        ax.contour(liver[p, r0:r1, c0:c1].astype(float), levels=[0.5], colors=[LIVER_RGB], linewidths=0.8)
    _scale_bar(ax, 10.0 / sp[2], img.shape)
    f = lesion.finding
    _caption(fig, f"#{lesion.index} {lesion.pattern_label} · {f['lesion']} · {f['size_mm']:.0f} mm · max {f['max_hu']:.0f} HU\n"
                  f"{slice_position(volume, p)} · bar 10 mm · patient right on the left")
    return _save(fig, ax, path)


def render_liver_outline(volume: Volume, liver: np.ndarray, path: str | Path, *, margin_mm: float = 15.0) -> Path:
    """Axial slice through the largest liver cross-section with the liver outline, to check the segmentation."""
    area = liver.sum(axis=(1, 2))
    p = int(np.argmax(area)) if area.any() else volume.shape[0] // 2
    sp = volume.spacing
    rows, cols = np.flatnonzero(liver[p].any(axis=1)), np.flatnonzero(liver[p].any(axis=0))
    mr, mc = int(margin_mm / sp[1]), int(margin_mm / sp[2])
    r0, r1 = (max(0, rows[0] - mr), min(volume.shape[1], rows[-1] + mr + 1)) if rows.size else (0, volume.shape[1])
    c0, c1 = (max(0, cols[0] - mc), min(volume.shape[2], cols[-1] + mc + 1)) if cols.size else (0, volume.shape[2])
    img = volume.array[p, r0:r1, c0:c1]
    height_mm, width_mm = (r1 - r0) * sp[1], (c1 - c0) * sp[2]
    fig, ax = _figure(5, max(1.5, 5 * height_mm / max(width_mm, 1)), 120)
    ax.imshow(_window(img, 60, 400), cmap="gray", vmin=0, vmax=1, aspect=sp[1] / sp[2], interpolation="nearest")
    if liver[p].any():
        ax.contour(liver[p, r0:r1, c0:c1].astype(float), levels=[0.5], colors=[LIVER_RGB], linewidths=1.2)
    _scale_bar(ax, 50.0 / sp[2], img.shape)
    volume_ml = float(liver.sum()) * volume.voxel_volume_mm3 / 1000.0
    _caption(fig, f"liver outline (blue) · liver volume {volume_ml:.0f} ml\n{slice_position(volume, p)} · bar 50 mm · patient right on the left")
    return _save(fig, ax, path)


def render_overview(volume: Volume, liver: np.ndarray, lesions: list[Lesion], path: str | Path) -> Path:
    """Coronal maximum-intensity projection of the liver region with every lesion numbered."""
    sp = volume.spacing
    rows = np.flatnonzero(liver.any(axis=(0, 2)))
    cols = np.flatnonzero(liver.any(axis=(0, 1)))
    r0, r1 = (rows[0], rows[-1] + 1) if rows.size else (0, volume.shape[1])
    pad = int(20 / sp[2])
    c0, c1 = (max(0, cols[0] - pad), min(volume.shape[2], cols[-1] + pad + 1)) if cols.size else (0, volume.shape[2])
    sub = volume.array[:, r0:r1, c0:c1]
    liv = liver[:, r0:r1, c0:c1]
    mip = np.where(liv, sub, np.minimum(sub, 200)).max(axis=1)  # bone outside the liver capped
    height_mm, width_mm = volume.shape[0] * sp[0], (c1 - c0) * sp[2]
    fig, ax = _figure(6, max(1.5, 6 * height_mm / max(width_mm, 1)), 110)
    ax.imshow(_window(mip, 300, 1200), cmap="gray", origin="lower", aspect=sp[0] / sp[2], interpolation="nearest")
    ax.contour(liv.any(axis=1).astype(float), levels=[0.5], colors=[LIVER_RGB], linewidths=1.0, origin="lower")
    for les in lesions:
        pp, _, cc = les.centroid_voxel
        ax.text(cc - c0, pp, str(les.index), color="yellow", fontsize=12, ha="center", va="center", weight="bold")
    _caption(fig, "coronal MIP of the liver, outline in blue, lesions numbered\nbar 50 mm · patient right on the left")
    h, w = mip.shape
    ax.plot([w * 0.05, w * 0.05 + 50.0 / sp[2]], [h * 0.06, h * 0.06], color="white", lw=3, solid_capstyle="butt")
    return _save(fig, ax, path)
