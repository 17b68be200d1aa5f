"""Every lossless transfer syntax a PACS sends is read to the same Hounsfield units.

A small CT series is written uncompressed, transcoded into each syntax (pydicom's encoders, and
GDCM for JPEG Lossless, for which pydicom has no encoder) and read back by ``read_study``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import uid

from hepcal.imaging.dicom_series import write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom
from hepcal.imaging.reading import read_study


@pytest.fixture(scope="module")
def series(tmp_path_factory):  # type: ignore[no-untyped-def]
    ph = make_phantom(lesions=[LesionSpec("rim", 20)], spacing=(4.0, 3.0, 3.0), fov_mm=(60.0, 150.0, 180.0), seed=2)
    folder = tmp_path_factory.mktemp("plain")
    write_ct_series(ph.volume, folder, seed="syntax-test")
    return folder, read_study(folder).array


def _gdcm_transcode(src: Path, dst: Path, syntax: int) -> None:
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(syntax))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(dst))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()


def _transcode(src: Path, dst: Path, syntax: str) -> None:
    if syntax in (uid.JPEGLosslessSV1, uid.JPEGLossless):
        import gdcm

        code = gdcm.TransferSyntax.JPEGLosslessProcess14_1 if syntax == uid.JPEGLosslessSV1 else gdcm.TransferSyntax.JPEGLosslessProcess14
        _gdcm_transcode(src, dst, code)
        return
    ds = pydicom.dcmread(src)
    if syntax == uid.DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = syntax
    else:
        ds.compress(syntax)
    ds.save_as(dst, enforce_file_format=True)


SYNTAXES = [uid.JPEGLosslessSV1, uid.JPEGLossless, uid.JPEGLSLossless, uid.JPEG2000Lossless, uid.RLELossless, uid.DeflatedExplicitVRLittleEndian]


@pytest.mark.parametrize("syntax", SYNTAXES, ids=[s.name for s in SYNTAXES])
def test_series_in_each_lossless_syntax_reads_the_same(series, tmp_path, syntax):
    folder, expected = series
    for f in sorted(folder.glob("*.dcm")):
        _transcode(f, tmp_path / f.name, syntax)
    assert pydicom.dcmread(next(tmp_path.glob("*.dcm")), stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    got = read_study(tmp_path).array
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
