"""Fixtures for the CT pipeline tests: small phantoms (built once) and the real example studies."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepcal.imaging.phantom import LesionSpec, Phantom, make_phantom
from tests.conftest import shared_path

EXAMPLE = ("data", "totalsegmentator-example")


def example(name: str) -> Path:
    """A file of the real example studies, skipping the test when ../shared/data is absent."""
    return shared_path(*EXAMPLE, name)


@pytest.fixture(scope="session")
def empty_phantom() -> Phantom:
    return make_phantom(phase="unenhanced", seed=5, spacing=(2.0, 1.5, 1.5))


@pytest.fixture(scope="session")
def lesion_phantom() -> Phantom:
    specs = [LesionSpec("rim", 30), LesionSpec("dense_nodular", 9), LesionSpec("linear", 28), LesionSpec("central", 40)]
    return make_phantom(phase="unenhanced", lesions=specs, seed=11, spacing=(1.5, 1.5, 1.5))
