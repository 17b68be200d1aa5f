"""The fast YAML path builds the same data as PyYAML's pure-Python safe loader, and stays safe."""

from importlib import resources

import pytest
import yaml

from hepcal import yamlfile


def _package_yaml() -> list[str]:
    out = []
    for package in ("hepcal.knowledge", "hepcal.findings", "hepcal.imaging"):
        root = resources.files(package)
        out += [p.read_text("utf-8") for p in root.iterdir() if p.name.endswith(".yaml")]
    return out


def test_same_data_as_the_pure_python_loader() -> None:
    texts = _package_yaml()
    assert len(texts) >= 4
    for text in texts:
        assert yamlfile.safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506


def test_refuses_python_objects() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlfile.safe_load("!!python/object/apply:os.system ['true']")
