import numpy as np
import pytest

from hepcal.errors import InputError
from hepcal.imaging.volume import Volume, canonical_orientation, ras_to_lps


def test_canonical_orientation_flips_ras_nifti_axes():
    # NIfTI-like array (i→R, j→A, k→S) with a RAS affine of 2 mm voxels
    arr = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    ras = np.diag([-2.0, 2.0, 3.0, 1.0])  # i grows to the right: -x in RAS means towards R
    out, aff = canonical_orientation(arr, ras_to_lps(ras))
    assert out.shape == (6, 5, 4)  # plane=k, row=j, column=i
    # row axis must point posterior (+y LPS), column axis left (+x LPS), plane superior
    assert aff[2, 0] > 0 and aff[1, 1] > 0 and aff[0, 2] > 0
    # the same voxel is at the same place before and after
    v = Volume(out, aff)
    before = ras_to_lps(ras) @ np.array([1, 2, 3, 1.0])
    idx = np.round(v.lps_to_index(before[:3])).astype(int)
    assert out[tuple(idx)] == arr[1, 2, 3]


@pytest.mark.parametrize("affine", [np.diag([0.0, 1, 1, 1]), np.full((4, 4), np.nan), np.eye(3)])
def test_bad_affine_is_refused(affine):
    with pytest.raises(InputError, match="affine|spacing"):
        Volume(np.zeros((2, 2, 2)), affine)


def test_crop_keeps_patient_position():
    v = Volume(np.zeros((10, 10, 10)), np.diag([2.0, 1.0, 0.5, 1.0]))
    c = v.crop((slice(2, 5), slice(3, 6), slice(4, 8)))
    np.testing.assert_allclose(c.index_to_lps([0, 0, 0]), v.index_to_lps([2, 3, 4]))


def test_canonical_orientation_keeps_every_voxel_in_place_for_all_48_axis_orders():
    """nibabel.orientations picks the permutation and flips; voxels keep their patient position."""
    import itertools

    from hepcal.imaging.volume import canonical_orientation

    arr = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    for perm in itertools.permutations(range(3)):
        for flips in itertools.product([1, -1], repeat=3):
            a = np.zeros((4, 4))
            a[3, 3] = 1.0
            for i, (j, f) in enumerate(zip(perm, flips)):
                a[j, i] = f * (2.0, 0.8, 0.7)[i]
            a[:3, 3] = (10.0, -20.0, 30.0)
            out, aff = canonical_orientation(arr, a)
            assert aff[2, 0] > 0 and aff[1, 1] > 0 and aff[0, 2] > 0  # plane→S, row→P, column→L
            for idx in ((0, 0, 0), (1, 2, 3), (3, 4, 5)):
                world = a[:3, :3] @ idx + a[:3, 3]
                new_idx = np.rint(np.linalg.solve(aff[:3, :3], world - aff[:3, 3])).astype(int)
                assert out[tuple(new_idx)] == arr[idx]
