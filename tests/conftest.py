"""Shared fixtures: where the project's shared test material is, and example cases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is not present (it sits beside the checkout in CI); skipping")
    return path


@pytest.fixture
def rim_case() -> dict:
    return yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text())


@pytest.fixture
def stones_case() -> dict:
    return yaml.safe_load((EXAMPLES / "seed-us-duct-stones.yaml").read_text())


@pytest.fixture
def focus_case() -> dict:
    return yaml.safe_load((EXAMPLES / "seed-us-echogenic-focus.yaml").read_text())
