"""Human output: tables fit 80 columns without cutting a name, percentages, one --format convention."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import enum

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.cli.render import assessment_view, pct
from hepcal.knowledge import load
from hepcal.reasoning import assess
from tests.conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("seed-*.yaml"))
runner = CliRunner()


def _names(path) -> list[str]:
    import yaml

    return [e["name"] for e in assess(yaml.safe_load(path.read_text()), load()).to_dict()["differential"][:8]]


def _check_fits(text: str, names: list[str], width: int = 80) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, max(lines, key=len)
    assert "…" not in text, "a cell was cut"
    words = set(text.split())
    for name in names:  # wrapped at spaces, never cut: every word of every name is there whole
        for word in name.split():
            assert word in words, (name, word)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_assess_table_fits_80_columns_without_cutting_a_name(path):
    r = runner.invoke(app, ["assess", str(path)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    _check_fits(r.stdout, _names(path))
    assert "P(malignant)" in r.stdout and "malignant" in r.stdout and "diagnosis" in r.stdout


def test_piped_output_fits_80_columns():
    """A real process whose stdout is a pipe (no terminal, no COLUMNS)."""
    path = EXAMPLES / "seed-rim-calcified-mass.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    r = subprocess.run([sys.executable, "-m", "hepcal", "assess", str(path)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    _check_fits(r.stdout, _names(path))


def test_wide_console_adds_bar_and_basis_columns():
    r = runner.invoke(app, ["assess", str(EXAMPLES / "seed-rim-calcified-mass.yaml")], env={"COLUMNS": "160"})
    assert "strongest for / against (ln LR)" in r.stdout and "█" in r.stdout


def test_probabilities_are_percentages():
    assert pct(0.4) == "40%" and pct(0.004) == "0.4%" and pct(0.9996) == ">99.9%" and pct(0.0003) == "<0.1%" and pct(1.0) == "100%"
    r = runner.invoke(app, ["assess", str(EXAMPLES / "seed-rim-calcified-mass.yaml")], env={"COLUMNS": "80"})
    assert "%" in r.stdout and " 0.53 " not in r.stdout


def _extras(a: dict) -> dict:
    from tests.report.extras import with_extras

    return with_extras(a)


def test_plan_intervals_atypical_and_similar_cases_in_the_table_output(rim_case):
    a = _extras(assess(rim_case, load()).to_dict())
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    console.print(assessment_view(a))
    text = console.export_text()
    _check_fits(text, [e["name"] for e in a["differential"][:8]])
    assert text.index("1. laboratory tests") < text.index("2. biopsy")
    assert "then: if negative, biopsy" in text and "because A hydatid cyst is possible" in text
    assert "90% range" in text and "consider a diagnosis outside this list" in text
    assert "Hydatid cyst (similarity 81%)" in text and "*Journal*" not in text and "Journal" in text
    assert "not a second differential" in text  # the caveat above the similar cases
    plain = copy.deepcopy(a)
    for key in ("atypical", "similar_cases", "malignancy_interval"):
        plain.pop(key)
    plain["recommendation"].pop("plan")
    for e in plain["differential"]:
        e.pop("probability_interval")
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    console.print(assessment_view(plain))
    text = console.export_text()
    assert "Recommendation:" in text and "Plan:" not in text and "90% range" not in text and "Atypical" not in text


def test_explain_renders_markdown_emphasis_instead_of_printing_asterisks():
    r = runner.invoke(app, ["explain", str(EXAMPLES / "seed-rim-calcified-mass.yaml"), "hydatid_cyst"], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and "References" in r.stdout
    assert "*" not in r.stdout


def _commands(group, prefix: str = ""):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def _options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option"]


def _choices(param) -> list[str]:
    """The values an enum-typed option offers (what --help lists)."""
    annotation = param.type_descriptor.annotation
    assert isinstance(annotation, type) and issubclass(annotation, enum.Enum), param.opts
    return [m.value for m in annotation]


def test_every_option_is_described_and_format_is_one_convention():
    group = typer.main.get_command(app)
    seen_format = []
    for name, cmd in _commands(group):
        for param in _options(cmd):
            if not param.hidden:
                assert param.help, f"hepcal {name} {param.opts[0]} has no help"
                assert "--json" not in param.opts, f"hepcal {name}: use --format json"
                if "--format" in param.opts:
                    seen_format.append(name)
                    choices = _choices(param)
                    assert "-f" in param.opts and choices[0] == "table" and set(choices) <= {"table", "json", "jsonl"}
    assert {"assess", "explain", "validate", "scan", "kb list", "kb show"} <= set(seen_format)


def test_choices_listed_are_choices_accepted(tmp_path):
    group = typer.main.get_command(app)
    phantom = group.commands["phantom"]
    phase = next(p for p in _options(phantom) if "--phase" in p.opts)
    assert "auto" not in _choices(phase)
    for choice in _choices(phase):
        r = runner.invoke(app, ["phantom", "--phase", choice, "--spacing", "4", "--out", str(tmp_path / f"{choice}.nii.gz")])
        assert r.exit_code == 0, (choice, r.output)
    refused = runner.invoke(app, ["phantom", "--phase", "auto", "--out", str(tmp_path / "x.nii.gz")])
    assert refused.exit_code == 2 and "auto" in refused.output
    serve = group.commands["serve"]
    level = next(p for p in _options(serve) if "--log-level" in p.opts)
    assert _choices(level) == ["critical", "error", "warning", "info", "debug"]


def test_kb_show_json_alias_and_format_agree():
    a = runner.invoke(app, ["kb", "show", "hydatid_cyst", "--json"])
    b = runner.invoke(app, ["kb", "show", "hydatid_cyst", "--format", "json"])
    assert a.exit_code == b.exit_code == 0 and a.stdout == b.stdout and '"id": "hydatid_cyst"' in a.stdout


@pytest.fixture()
def rim_case():
    import yaml

    return yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text())


def test_scan_table_fits_80_columns_with_percentages(tmp_path):
    study = tmp_path / "ph.nii.gz"
    assert runner.invoke(app, ["phantom", "--pattern", "rim", "--pattern", "coarse", "--spacing", "2", "--out", str(study)]).exit_code == 0
    r = runner.invoke(app, ["scan", str(study), "--no-progress", "--format", "table"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(runner.invoke(app, ["scan", str(study), "--no-progress", "--format", "json"]).stdout)
    names = [les["assessment"]["differential"][0]["name"] for les in data["lesions"]]
    assert names
    _check_fits(r.stdout, names)
    lead = data["lesions"][0]["assessment"]
    assert f"({pct(lead['differential'][0]['probability'])})" in r.stdout and pct(lead["malignancy_probability"]) in r.stdout
    assert f"{lead['malignancy_probability']:.2f}" not in r.stdout
    assert "liver volume" in r.stdout


@pytest.mark.parametrize("args", [["kb", "list"], ["kb", "show", "mucinous_cystic_neoplasm"], ["validate", "validation/heldout.jsonl"]])
def test_other_tables_fit_80_columns_without_cutting(args):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    args = [str(root / a) if a.startswith("validation/") else a for a in args]
    r = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout
    names = [d.name for d in load().diagnoses] if args[:2] == ["kb", "list"] else []
    _check_fits("\n".join(line for line in r.stdout.splitlines() if line.startswith(("┃", "│", "┏", "┡", "└"))) or "x", names)
