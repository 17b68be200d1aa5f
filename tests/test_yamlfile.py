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


def test_a_broken_packaged_file_raises_its_own_error_naming_the_file(tmp_path, monkeypatch):
    """Shipped data files (thresholds, limits) fail loudly with the file's name, never half-read."""
    from pydantic import BaseModel

    from hepcal import yamlfile

    class Model(BaseModel):
        version: int

    class Broken(Exception):
        pass

    (tmp_path / "bad.yaml").write_text("version: [1,\n", encoding="utf-8")
    (tmp_path / "wrong.yaml").write_text("version: one\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text("version: 3\n", encoding="utf-8")
    monkeypatch.setattr(yamlfile.resources, "files", lambda package: tmp_path)
    assert yamlfile.load_packaged("pkg.data", "good.yaml", Model, Broken).version == 3
    with pytest.raises(Broken, match=r"pkg/data/bad.yaml is not valid YAML"):
        yamlfile.load_packaged("pkg.data", "bad.yaml", Model, Broken)
    with pytest.raises(Broken, match=r"(?s)pkg/data/wrong.yaml is invalid:\n.*version"):
        yamlfile.load_packaged("pkg.data", "wrong.yaml", Model, Broken)
