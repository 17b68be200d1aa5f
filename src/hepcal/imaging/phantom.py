"""Synthetic CT studies with known truth: a liver-shaped organ, ribs, spine, enhancing vessels in
a chosen contrast phase, and calcified lesions of every pattern of the case format.

The phantom is the ground truth for the detector's sensitivity, false-positive rate and
pattern accuracy (tests and ``docs/imaging.md``). Attenuation values are typical published
ranges (liver ~55 HU unenhanced; portal-venous blood ~160 HU; cortical bone several hundred
HU); calcium is painted with a one-voxel soft edge and a mild blur so that small foci lose
peak density to partial volume, and white noise is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.config import PHASES
from hepcal.imaging.shapes import Layer, capsule, ellipsoid, paint, shell, slab_in_sphere, sphere
from hepcal.imaging.volume import Volume

__all__ = ["PATTERNS", "LesionSpec", "Phantom", "TruthLesion", "lesion_layers", "make_phantom", "random_rotation"]

PATTERNS: tuple[str, ...] = (
    "punctate", "coarse", "rim", "central", "central_scar", "amorphous",
    "septal", "linear", "ductal", "diffuse", "dense_nodular", "vascular",
)

#: Attenuation (HU) of each tissue in each phase: unenhanced, arterial, portal, delayed.
#: Typical values of the radiology literature, not measurements of one study:
#: ``solid`` is a hypovascular mass (metastasis, cholangiocarcinoma): hypoattenuating in every
#: phase, by ~20–25 HU unenhanced and in the arterial and delayed phases and ~40 HU in the
#: portal phase, when the liver enhances most (an earlier version had it only 12 HU below the
#: arterial liver, which no hypovascular mass is). ``enhancing`` is a fibrolamellar-carcinoma-like
#: mass: slightly hypoattenuating unenhanced, brighter than the liver in the arterial phase,
#: about iso in the portal and delayed phases; its central ``scar`` stays hypoattenuating
#: except for late, slow enhancement in the delayed phase.
TISSUE_HU: dict[str, dict[str, float]] = {
    "liver": {"unenhanced": 58, "arterial": 72, "portal": 105, "delayed": 85},
    "vein": {"unenhanced": 45, "arterial": 95, "portal": 170, "delayed": 120},
    "aorta": {"unenhanced": 40, "arterial": 330, "portal": 160, "delayed": 110},
    "spleen": {"unenhanced": 48, "arterial": 120, "portal": 115, "delayed": 90},
    "solid": {"unenhanced": 35, "arterial": 48, "portal": 65, "delayed": 60},
    "enhancing": {"unenhanced": 46, "arterial": 105, "portal": 98, "delayed": 78},
    "fluid": {"unenhanced": 8, "arterial": 8, "portal": 10, "delayed": 12},
    "scar": {"unenhanced": 30, "arterial": 38, "portal": 50, "delayed": 62},
}
#: Lesion attenuation (HU) by enhancement pattern, for multi-phase phantoms (``LesionSpec.
#: enhancement``): the core (fluid or solid tissue) and, where the pattern has one, the enhancing
#: part (wall, septa or peripheral nodules), per phase. Typical courses of the literature's
#: descriptions against this phantom's liver (58/72/105/85 HU), estimates: a cyst does not
#: enhance; an abscess or cyst wall and septa enhance like soft tissue; HCC is brighter than the
#: liver in the arterial phase and darker later (washout); adenoma/FNH stay bright; fibrous
#: cholangiocarcinoma enhances slowly to the delayed phase; haemangioma nodules follow the blood
#: pool while the core fills in.
ENHANCEMENT_HU: dict[str, dict[str, dict[str, float]]] = {
    "none": {"core": TISSUE_HU["fluid"]},
    "rim": {"core": TISSUE_HU["fluid"], "wall": {"unenhanced": 40, "arterial": 95, "portal": 115, "delayed": 100}},
    "septal": {"core": TISSUE_HU["fluid"], "septa": {"unenhanced": 40, "arterial": 95, "portal": 115, "delayed": 100}},
    "arterial_washout": {"core": {"unenhanced": 35, "arterial": 110, "portal": 80, "delayed": 65}},
    "arterial_persistent": {"core": {"unenhanced": 38, "arterial": 115, "portal": 118, "delayed": 95}},
    "progressive_delayed": {"core": {"unenhanced": 35, "arterial": 55, "portal": 78, "delayed": 100}},
    "peripheral_nodular": {"core": {"unenhanced": 35, "arterial": 42, "portal": 85, "delayed": 105},
                           "nodules": {"unenhanced": 38, "arterial": 250, "portal": 165, "delayed": 115}},
}
#: The calcified lesion each enhancement pattern is drawn in (cystic ones in a rim or septal
#: cyst, solid ones in a mass with a central calcification).
ENHANCEMENT_PATTERN = {
    "none": "rim", "rim": "rim", "septal": "septal", "arterial_washout": "central",
    "arterial_persistent": "central", "progressive_delayed": "central", "peripheral_nodular": "central",
}
FAT, MUSCLE, ABDOMEN, AIR = -100.0, 52.0, 20.0, -1000.0
#: What each pattern's soft-tissue component is (the truth for ``finding.lesion``).
LESION_KIND = {
    "punctate": "none", "coarse": "none", "dense_nodular": "none", "linear": "none", "ductal": "none",
    "vascular": "none", "diffuse": "none", "rim": "cystic", "septal": "cystic", "central": "solid",
    "central_scar": "solid", "amorphous": "solid",
}
DEFAULT_SIZE_MM = {
    "punctate": 3.0, "coarse": 12.0, "dense_nodular": 10.0, "rim": 35.0, "central": 40.0,
    "central_scar": 45.0, "amorphous": 35.0, "septal": 45.0, "linear": 30.0, "ductal": 30.0,
    "vascular": 28.0, "diffuse": 3.0,
}


@dataclass(frozen=True)
class LesionSpec:
    """A lesion to put in a phantom or a real study.

    ``center_mm`` is in patient LPS millimetres; ``None`` lets the generator choose a place
    inside the liver. ``size_mm`` is the lesion diameter (the focus diameter for punctate and
    diffuse).
    """

    pattern: str
    size_mm: float | None = None
    center_mm: tuple[float, float, float] | None = None
    calcium_hu: float = 800.0
    enhancement: str | None = None  # a key of ENHANCEMENT_HU: how the soft tissue enhances

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise InputError(f"unknown calcification pattern {self.pattern!r}; allowed: {', '.join(PATTERNS)}")
        if self.enhancement is not None and ENHANCEMENT_PATTERN.get(self.enhancement) != self.pattern:
            allowed = ", ".join(f"{k} (in a {v} lesion)" for k, v in ENHANCEMENT_PATTERN.items())
            raise InputError(f"enhancement {self.enhancement!r} cannot be drawn in a {self.pattern} lesion; allowed: {allowed}")
        if self.size_mm is not None and not (1.0 <= self.size_mm <= 150.0):
            raise InputError(f"lesion size {self.size_mm} mm is out of range; allowed 1–150 mm")


@dataclass
class TruthLesion:
    pattern: str
    lesion: str
    center_mm: tuple[float, float, float]
    size_mm: float
    label: int  # value in Phantom.calcium


@dataclass
class Phantom:
    volume: Volume
    liver: np.ndarray
    calcium: np.ndarray  # int16 labels: k = lesion k (1-based), 0 = none
    lesions: list[TruthLesion] = field(default_factory=list)
    phase: str = "unenhanced"


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _u(rot: np.ndarray, k: int) -> np.ndarray:
    return rot[:, k]


#: The arms of a stellate calcification: the corners of a triangular bipyramid (at least 90°
#: apart), turned at random and each tilted by a few degrees. Five independent random
#: directions may fall close together and draw a bent line instead of a star.
_STAR = np.array([[0, 0, 1], [0, 0, -1], [1, 0, 0], [-0.5, 0.866, 0], [-0.5, -0.866, 0]], float)


def _star_directions(rng: np.random.Generator) -> np.ndarray:
    d = _STAR @ random_rotation(rng).T + rng.normal(0.0, 0.1, _STAR.shape)
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def lesion_layers(spec: LesionSpec, center: np.ndarray, phase: str, rng: np.random.Generator, *, liver_hu: float) -> list[Layer]:
    """The layers (soft tissue first, calcium last) that draw one lesion of ``spec.pattern``."""
    size = float(spec.size_mm or DEFAULT_SIZE_MM[spec.pattern])
    r = size / 2
    ca = float(spec.calcium_hu)
    rot = random_rotation(rng)
    c = tuple(float(v) for v in center)
    cv = np.asarray(center, float)
    hu = {k: v[phase] for k, v in TISSUE_HU.items()}
    kin = {k: v[phase] for k, v in ENHANCEMENT_HU[spec.enhancement].items()} if spec.enhancement else {}
    if kin:  # the lesion's tissue follows its enhancement pattern, not the pattern's default
        hu["fluid"] = hu["solid"] = kin["core"]
    L: list[Layer] = []
    p = spec.pattern
    if p == "punctate":
        L.append(Layer(sphere(c, r), ca, True, r, c))
        # a small cluster: two more foci 6–8 mm from the first and at least 6 mm from each other
        # (60° apart seen from the first), so that no two dots are drawn as one blob
        first = _u(random_rotation(rng), 0)
        second = _u(random_rotation(rng), 0)
        while first @ second > 0.5:
            second = _u(random_rotation(rng), 0)
        for u in (first, second):
            d = u * rng.uniform(6.0, 8.0)
            cc = tuple(cv + d)
            L.append(Layer(sphere(cc, r * rng.uniform(0.9, 1.2)), ca, True, r * 1.3, cc))
    elif p == "coarse":
        parts = [ellipsoid(cv + _u(rot, k % 3) * r * 0.35 * s, (r * 0.6, r * 0.4, r * 0.3), random_rotation(rng)) for k, s in zip(range(3), (1, -1, 0.5))]
        L.append(Layer(lambda q, parts=parts: np.min(np.stack([f(q) for f in parts]), axis=0), ca, True, r, c))
    elif p == "dense_nodular":
        L.append(Layer(sphere(c, r), ca, True, r, c))
    elif p == "rim":
        keep_dir = _u(rot, 0)
        L.append(Layer(sphere(c, r), hu["fluid"], False, r, c))
        if "wall" in kin:  # an enhancing wall, 3 mm, inside the calcified rim
            L.append(Layer(shell(sphere(c, r), 3.0), kin["wall"], False, r, c))
        L.append(Layer(shell(sphere(c, r + 0.8), 1.8, keep=lambda q: ((q - cv) @ keep_dir) > -0.5 * r), ca, True, r + 1, c))
    elif p == "central":
        L.append(Layer(sphere(c, r), hu["solid"], False, r, c))
        if "nodules" in kin:  # discontinuous nodules at the periphery
            for k in range(6):
                d = _u(random_rotation(rng), 0) * r * 0.82
                cc = tuple(cv + d)
                L.append(Layer(sphere(cc, r * 0.16), kin["nodules"], False, r * 0.16, cc))
        L.append(Layer(ellipsoid(c, (r * 0.22, r * 0.18, r * 0.16), rot), ca, True, r * 0.25, c))
    elif p == "central_scar":
        L.append(Layer(sphere(c, r), hu["enhancing"], False, r, c))
        # the calcification lies within the scar (stellate, radiating from its centre), as in
        # fibrolamellar carcinoma and large haemangiomas; the scar is wider than its calcium
        # (arm tips 0.3 r + 1.2 mm from the centre, scar 0.45 r)
        L.append(Layer(sphere(c, r * 0.45), hu["scar"], False, r * 0.45, c))
        arms = []
        for d in _star_directions(rng):
            arms.append(capsule(c, tuple(cv + d * r * 0.3), 1.2))
        L.append(Layer(lambda q, arms=arms: np.min(np.stack([f(q) for f in arms]), axis=0), ca, True, r * 0.35, c))
    elif p == "amorphous":
        L.append(Layer(sphere(c, r), hu["solid"], False, r, c))
        blobs = []
        for _ in range(9):
            d = _u(random_rotation(rng), 0) * rng.uniform(0.0, 0.6) * r
            blobs.append(ellipsoid(cv + d, tuple(rng.uniform(1.0, 2.2, 3)), random_rotation(rng)))
        L.append(Layer(lambda q, blobs=blobs: np.min(np.stack([f(q) for f in blobs]), axis=0), ca * 0.6, True, r * 0.8, c))
    elif p == "septal":
        L.append(Layer(sphere(c, r), hu["fluid"], False, r, c))
        if "septa" in kin:  # enhancing septa (not calcified) across the cyst, apart from the calcified ones
            for off in (-0.45, 0.45):
                L.append(Layer(slab_in_sphere(c, r * 0.8, _u(rot, 2), 2.0, offset=r * off), kin["septa"], False, r, c))
        for k in range(2):
            L.append(Layer(slab_in_sphere(c, r * 0.8, _u(rot, k), 2.2, offset=r * 0.15 * (1 - 2 * k)), ca, True, r, c))
    elif p == "linear":
        a = cv - _u(rot, 0) * r
        b = cv + _u(rot, 0) * r
        L.append(Layer(capsule(tuple(a), tuple(b), 1.0), ca, True, r + 1, c))
    elif p == "ductal":
        trunk_end = cv + _u(rot, 0) * r * 0.5
        a = cv - _u(rot, 0) * r * 0.5
        b1 = trunk_end + (_u(rot, 0) + _u(rot, 1)) / np.sqrt(2) * r * 0.6
        b2 = trunk_end + (_u(rot, 0) - _u(rot, 1)) / np.sqrt(2) * r * 0.6
        parts = [capsule(tuple(a), tuple(trunk_end), 1.4), capsule(tuple(trunk_end), tuple(b1), 1.2), capsule(tuple(trunk_end), tuple(b2), 1.2)]
        L.append(Layer(lambda q, parts=parts: np.min(np.stack([f(q) for f in parts]), axis=0), ca, True, r + 2, c))
    elif p == "vascular":
        d = _u(rot, 0)
        a, b = cv - d * r, cv + d * r
        L.append(Layer(capsule(tuple(a), tuple(b), 3.6), ca * 0.8, True, r + 4, c))
        L.append(Layer(capsule(tuple(a - d * 6), tuple(b + d * 6), 2.4), hu["vein"], False, r + 9, c))
    elif p == "diffuse":
        L.append(Layer(sphere(c, r), ca, True, r, c))
    return L


def _ribs(body_semi: tuple[float, float], z_levels: Sequence[float]) -> list[Layer]:
    layers = []
    ax, ay = body_semi[0] - 16, body_semi[1] - 14
    for z in z_levels:
        for side in (-1, 1):
            angles = np.linspace(-0.35 * np.pi, 0.45 * np.pi, 12)  # posterior-lateral to anterior
            pts = [(side * ax * np.cos(t), -ay * np.sin(t) * 0.95, z + 6 * np.sin(t)) for t in angles]
            for p0, p1 in zip(pts[:-1], pts[1:]):
                mid = tuple((np.array(p0) + np.array(p1)) / 2)
                ext = float(np.linalg.norm(np.subtract(p1, p0)) / 2 + 6)
                layers.append(Layer(capsule(p0, p1, 5.0), 650.0, False, ext, mid))
    return layers


def _vein_tree(hilum: np.ndarray, targets: Sequence[np.ndarray], hu: float) -> list[Layer]:
    out = []
    for t in targets:
        mid = tuple((hilum + t) / 2)
        ext = float(np.linalg.norm(t - hilum) / 2 + 6)
        out.append(Layer(capsule(tuple(hilum), tuple(t), 4.5), hu, False, ext, mid))
        # a smaller side branch
        side = t + (t - hilum) * 0.0 + np.array([0.0, 12.0, -10.0])
        mid2 = tuple((t + side) / 2)
        out.append(Layer(capsule(tuple((hilum + t) / 2), tuple(side), 2.2), hu, False, float(np.linalg.norm(side - (hilum + t) / 2) / 2 + 4), mid2))
    return out


def make_phantom(
    *,
    phase: str = "unenhanced",
    lesions: Sequence[LesionSpec] = (),
    spacing: tuple[float, float, float] = (1.5, 1.5, 1.5),
    fov_mm: tuple[float, float, float] = (150.0, 250.0, 330.0),
    noise_sd: float = 12.0,
    seed: int = 0,
    ribs: bool = True,
    blur_mm: float = 0.5,
    dtype: type = np.int16,
    noise_seed: int | None = None,
) -> Phantom:
    """Build a synthetic abdomen with a liver and the given calcified lesions.

    Parameters
    ----------
    phase : {"unenhanced", "arterial", "portal", "delayed"}
        Contrast phase (sets vessel, aorta, spleen and liver attenuation).
    lesions : sequence of LesionSpec
        Lesions to draw; ``center_mm=None`` places them inside the liver, apart from each other.
    spacing : (3,) tuple of float
        Voxel size (plane, row, column) in mm.
    fov_mm : (3,) tuple of float
        Field of view (superior–inferior, anterior–posterior, right–left) in mm.
    """
    if phase not in PHASES:
        raise InputError(f"unknown phase {phase!r}; allowed: {', '.join(PHASES)}")
    sp = np.asarray(spacing, float)
    if np.any(sp <= 0):
        raise InputError(f"spacing must be > 0 mm along every axis, got {spacing}")
    shape = tuple(int(round(f / s)) for f, s in zip(fov_mm, sp))
    rng = np.random.default_rng(seed)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[0, 0, sp[2]], [0, sp[1], 0], [sp[0], 0, 0]], float)
    affine[:3, 3] = -affine[:3, :3] @ ((np.array(shape) - 1) / 2)
    hu = {k: v[phase] for k, v in TISSUE_HU.items()}

    arr = np.full(shape, AIR, dtype=np.float32)
    liver = np.zeros(shape, bool)
    body_semi = (min(150.0, fov_mm[2] / 2 - 8), min(112.0, fov_mm[1] / 2 - 8))
    # in-plane coordinates (same for every slice), z per slice
    rows = affine[1, 1] * np.arange(shape[1]) + affine[1, 3]
    cols = affine[0, 2] * np.arange(shape[2]) + affine[0, 3]
    zs = affine[2, 0] * np.arange(shape[0]) + affine[2, 3]
    Y, X = np.meshgrid(rows, cols, indexing="ij")
    ell = lambda ax, ay: (X / ax) ** 2 + (Y / ay) ** 2  # noqa: E731
    body2d = ell(*body_semi) <= 1
    muscle2d = body2d & (ell(body_semi[0] - 10, body_semi[1] - 10) > 1)
    inner2d = ell(body_semi[0] - 18, body_semi[1] - 18) <= 1
    right_lobe = ellipsoid((-52.0, -5.0, 5.0), (70.0, 78.0, 62.0))
    left_lobe = ellipsoid((22.0, -38.0, 28.0), (55.0, 36.0, 32.0))
    spleen = ellipsoid((100.0, 40.0, 20.0), (30.0, 45.0, 45.0))
    for k, z in enumerate(zs):
        s = np.full(shape[1:], AIR, np.float32)
        s[body2d] = FAT
        s[muscle2d] = MUSCLE
        s[inner2d] = ABDOMEN
        pts = np.stack([X, Y, np.full_like(X, z)], axis=-1)
        lv = (np.minimum(right_lobe(pts), left_lobe(pts)) <= 0) & inner2d
        sv = (spleen(pts) <= 0) & inner2d & ~lv
        s[sv] = hu["spleen"]
        s[lv] = hu["liver"]
        liver[k] = lv
        arr[k] = s
    # vertical structures (vertebral body, aorta) are drawn per slice: a 3-D box around them
    # would span the whole volume
    spine_c = (0.0, 72.0)
    aorta_c = (28.0, 42.0)
    h = float(np.mean(sp[1:]))
    disc = lambda c, radius: np.clip(0.5 - (np.hypot(X - c[0], Y - c[1]) - radius) / h, 0, 1).astype(np.float32)  # noqa: E731
    discs = [(disc(spine_c, 19.0), 700.0), (disc(spine_c, 16.0), 260.0), (disc(aorta_c, 11.0), hu["aorta"])]
    for k in range(shape[0]):
        s = arr[k]
        for occ, value in discs:
            s *= 1 - occ
            s += value * occ
    layers: list[Layer] = []
    hilum = np.array([-20.0, 5.0, -15.0])
    targets = [np.array(t) for t in ((-95.0, -20.0, 20.0), (-70.0, 35.0, 40.0), (-60.0, -50.0, -10.0), (20.0, -40.0, 30.0), (-40.0, 20.0, -45.0))]
    vein_layers = _vein_tree(hilum, targets, hu["vein"])
    layers += vein_layers
    if ribs:
        layers += _ribs(body_semi, np.arange(zs[0] + 10, zs[-1], 24.0))
    paint(arr, affine, layers)
    # bowel and mesentery are a heterogeneous mix, not a uniform soft tissue
    abd2d = inner2d & ~((X - spine_c[0]) ** 2 + (Y - spine_c[1]) ** 2 <= 20.0**2)
    mix = ndi.gaussian_filter(rng.normal(0.0, 1.0, shape).astype(np.float32), 3.0 / sp)
    mix *= 45.0 / max(float(mix.std()), 1e-6)
    soft = (arr > ABDOMEN - 1) & (arr < ABDOMEN + 1) & abd2d[None]
    arr[soft] += mix[soft]
    del mix, soft
    # trabecular bone is heterogeneous: give the vertebral body a coarse texture
    marrow2d = (X - spine_c[0]) ** 2 + (Y - spine_c[1]) ** 2 <= 15.0**2
    texture = ndi.gaussian_filter(rng.normal(0.0, 1.0, (shape[0], int(marrow2d.sum()))).astype(np.float32), (1.0, 2.0))
    arr[:, marrow2d] += texture * (70.0 / max(float(texture.std()), 1e-6))
    # vessels inside the liver stay liver (they are part of it, like in reference masks)
    calcium = np.zeros(shape, np.int16)
    truth: list[TruthLesion] = []
    needs_place = any(spec.center_mm is None for spec in lesions)
    dist = ndi.distance_transform_edt(liver, sampling=sp) if needs_place else None
    placed: list[tuple[np.ndarray, float]] = []
    for n, spec in enumerate(lesions, start=1):
        size = float(spec.size_mm or DEFAULT_SIZE_MM[spec.pattern])
        footprint = _footprint_mm(spec.pattern, size)
        if spec.pattern == "diffuse":
            centers = _diffuse_centres(dist, affine, rng, count=24)
        elif spec.center_mm is not None:
            centers = [np.asarray(spec.center_mm, float)]
        else:
            centers = [_place(dist, affine, footprint, placed, rng)]
        mask = np.zeros(shape, bool)
        for cen in centers:
            paint(arr, affine, lesion_layers(spec, cen, phase, rng, liver_hu=hu["liver"]), calcium_out=mask)
            placed.append((cen, footprint))
        calcium[mask] = n
        cm = np.mean(centers, axis=0)
        truth.append(TruthLesion(spec.pattern, LESION_KIND[spec.pattern], tuple(float(v) for v in cm), size, n))
    if blur_mm > 0:
        arr = ndi.gaussian_filter(arr, blur_mm / sp)
    if noise_sd > 0:  # ``noise_seed``: the same anatomy with other noise (the phases of one study)
        noise = (rng if noise_seed is None else np.random.default_rng(noise_seed)).normal(0.0, 1.0, shape).astype(np.float32)
        noise = ndi.gaussian_filter(noise, 0.5)
        noise *= noise_sd / max(float(noise.std()), 1e-6)
        arr += noise
        del noise
    np.clip(arr, -1024, 3071, out=arr)
    out = np.round(arr).astype(dtype) if np.issubdtype(np.dtype(dtype), np.integer) else arr.astype(dtype)
    vol = Volume(out, affine, {"source": "phantom", "format": "phantom", "modality": "CT", "phase_truth": phase})
    return Phantom(vol, liver, calcium, truth, phase)


def _footprint_mm(pattern: str, size: float) -> float:
    """Diameter of what a lesion draws: a punctate cluster spans its dots 6–8 mm around the first."""
    return 16.0 + 1.2 * size if pattern == "punctate" else size


def _place(dist: np.ndarray, affine: np.ndarray, size: float, placed: list[tuple[np.ndarray, float]], rng: np.random.Generator) -> np.ndarray:
    """A random point at least ``size/2 + 6`` mm deep in the liver and away from other lesions."""
    need = size / 2 + 6.0
    cand = np.argwhere(dist > need)
    if cand.size == 0:
        raise InputError(f"no room in the phantom liver for a {size:.0f} mm lesion")
    pts = cand @ affine[:3, :3].T + affine[:3, 3]
    free = np.ones(len(pts), bool)  # every point far enough from the lesions placed so far
    for q, s in placed:
        free &= np.linalg.norm(pts - q, axis=1) > (size + s) / 2 + 12
    if not free.any():
        raise InputError("could not place all lesions apart from each other; use fewer or smaller lesions")
    return pts[rng.choice(np.flatnonzero(free))]


def _diffuse_centres(dist: np.ndarray, affine: np.ndarray, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    cand = np.argwhere(dist > 6.0)
    out: list[np.ndarray] = []
    for _ in range(5000):
        idx = cand[rng.integers(len(cand))]
        pt = affine[:3, :3] @ idx + affine[:3, 3]
        if all(np.linalg.norm(pt - q) > 14 for q in out):
            out.append(pt)
        if len(out) == count:
            break
    return out
