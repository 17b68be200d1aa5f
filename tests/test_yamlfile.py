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


def test_repeated_keys_are_refused() -> None:
    text = "a: 1\nb:\n  c: 2\n  c: 3\n"
    assert yaml.load(text, Loader=yaml.SafeLoader) == {"a": 1, "b": {"c": 3}}  # noqa: S506 - what PyYAML alone does
    with pytest.raises(yamlfile.DuplicateKeyError) as info:
        yamlfile.safe_load(text)
    assert info.value.key == "c" and info.value.problem_mark.line == 3


def test_merge_keys_are_not_repeats() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"
    assert yamlfile.safe_load(text)["d"] == {"x": 3, "y": 2}
