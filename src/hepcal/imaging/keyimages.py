"""Key images a radiologist wants: each lesion's axial slice with the calcium outlined and a
scale bar, and a coronal maximum-intensity overview of the liver with every lesion numbered.

Rendered with matplotlib's Agg canvas directly (no pyplot, no global state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.volume import Volume

__all__ = ["OUTLINE_RGB", "render_lesion", "render_overview"]

#: Calcium outline colour (pure yellow-green, absent from a grey CT image).
OUTLINE_RGB = (0.0, 1.0, 0.0)
LIVER_RGB = (0.2, 0.6, 1.0)


def _window(img: np.ndarray, level: float, width: float) -> np.ndarray:
    return np.clip((img.astype(np.float32) - (level - width / 2)) / width, 0, 1)


def _scale_bar(ax, length_px: float, label: str, shape: tuple[int, int]) -> None:
    h, w = shape
    x0, y0 = w * 0.06, h * 0.93
    ax.plot([x0, x0 + length_px], [y0, y0], color="white", lw=3, solid_capstyle="butt")
    ax.text(x0 + length_px / 2, y0 - h * 0.03, label, color="white", ha="center", va="bottom", fontsize=9)


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
    fig = Figure(figsize=(5, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(_window(img, 60, 400), cmap="gray", vmin=0, vmax=1, aspect=sp[1] / sp[2], interpolation="nearest")
    if calc.any():
        ax.contour(calc.astype(float), levels=[0.5], colors=[OUTLINE_RGB], linewidths=1.5)
    if liver is not None:
        ax.contour(liver[p, r0:r1, c0:c1].astype(float), levels=[0.5], colors=[LIVER_RGB], linewidths=0.8)
    _scale_bar(ax, 10.0 / sp[2], "10 mm", img.shape)
    f = lesion.finding
    ax.text(
        0.02, 0.98,
        f"#{lesion.index} {lesion.pattern_label} · {f['lesion']} · {f['size_mm']:.0f} mm · max {f['max_hu']:.0f} HU\n"
        f"axial plane {p}; patient right on the left",
        transform=ax.transAxes, color="yellow", fontsize=8, va="top",
    )
    ax.set_axis_off()
    out = Path(path)
    fig.savefig(out)
    return out


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
    fig = Figure(figsize=(6, max(1.5, 6 * height_mm / max(width_mm, 1))), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(_window(mip, 300, 1200), cmap="gray", origin="lower", aspect=sp[0] / sp[2], interpolation="nearest")
    ax.contour(liv.any(axis=1).astype(float), levels=[0.5], colors=[LIVER_RGB], linewidths=1.0, origin="lower")
    for les in lesions:
        pp, _, cc = les.centroid_voxel
        ax.text(cc - c0, pp, str(les.index), color="yellow", fontsize=12, ha="center", va="center", weight="bold")
    ax.text(0.02, 0.98, "coronal MIP of the liver; patient right on the left", transform=ax.transAxes, color="white", fontsize=8, va="top")
    h, w = mip.shape
    ax.plot([w * 0.05, w * 0.05 + 50.0 / sp[2]], [h * 0.06, h * 0.06], color="white", lw=3, solid_capstyle="butt")
    ax.text(w * 0.05 + 25.0 / sp[2], h * 0.09, "50 mm", color="white", ha="center", va="bottom", fontsize=9)
    ax.set_axis_off()
    out = Path(path)
    fig.savefig(out)
    return out
