"""The broken-studies corpus through ``hepcal scan``: 0 tracebacks and 0 silent wrong answers.

Each corrupted study is either refused (exit 2, the message naming the check or the limit) or
analysed with the expected warning and the same lesions as the clean study it was made from.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.imaging.config import PHASES
from hepcal.imaging.phantom import LesionSpec
from tests.conftest import SHARED
from tests.imaging import corpus

runner = CliRunner()
REAL = SHARED / "data" / "totalsegmentator-example"


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> list[corpus.Case]:
    return corpus.build(tmp_path_factory.mktemp("corpus"), REAL if REAL.exists() else None)


def _scan(case: corpus.Case):
    args = ["scan", str(case.study), "--format", "json", "--no-progress"]
    if case.mask:
        args += ["--liver-mask", str(case.mask)]
    if case.label:
        args += ["--liver-label", str(case.label)]
    return runner.invoke(app, args)


def _lesions(stdout: str) -> list[tuple[str, ...]]:
    return sorted(tuple(les["finding"]["calcification"]) for les in json.loads(stdout)["lesions"])


def _centroids(stdout: str) -> np.ndarray:
    return np.array([les["centroid_mm_lps"] for les in json.loads(stdout)["lesions"]]).reshape(-1, 3)


def _same_places(a: np.ndarray, b: np.ndarray, tol_mm: float = 5.0) -> bool:
    """Every lesion of one result lies within ``tol_mm`` of one of the other's, and as many."""
    if len(a) != len(b):
        return False
    return len(a) == 0 or bool(np.all(np.linalg.norm(a[:, None] - b[None], axis=2).min(axis=1) <= tol_mm))


def _run(cases: list[corpus.Case]) -> tuple[list[str], Counter[str]]:
    """Scan every case; the problems found (tracebacks, wrong outcomes, changed lesions) and the counts."""
    clean: dict[str, list[tuple[str, ...]]] = {}
    places: dict[str, np.ndarray] = {}
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    for case in cases:
        r = _scan(case)
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            problems.append(f"{case.name}: traceback {type(r.exception).__name__}: {r.exception}")
            continue
        if case.outcome == "fail":
            if r.exit_code != 2 or case.expect not in r.stderr or "Traceback" in r.output:
                problems.append(f"{case.name}: expected refusal naming {case.expect!r}, got exit {r.exit_code}: {r.stderr[:300]}")
            outcomes["refused"] += 1
            continue
        if r.exit_code != 0:
            problems.append(f"{case.name}: expected analysis, got exit {r.exit_code}: {r.stderr[:300]}")
            continue
        found = _lesions(r.stdout)
        checks = [w["check"] for w in json.loads(r.stdout)["warnings"]]
        if case.name == case.same_lesions_as:
            clean[case.name], places[case.name] = found, _centroids(r.stdout)
        elif case.exact and found != clean[case.same_lesions_as]:
            problems.append(f"{case.name}: lesions {found} differ from the clean study's {clean[case.same_lesions_as]}")
        elif not _same_places(_centroids(r.stdout), places[case.same_lesions_as]):
            problems.append(f"{case.name}: lesions at {_centroids(r.stdout).round(1).tolist()}, the clean study's at {places[case.same_lesions_as].round(1).tolist()}")
        if case.outcome == "ok" and checks:
            problems.append(f"{case.name}: unexpected warnings {checks}")
        if case.outcome == "warn" and case.expect not in checks:
            problems.append(f"{case.name}: expected warning {case.expect!r}, got {checks}")
        if case.outcome == "warn" and not any(case.expect in line for line in r.stderr.splitlines()):
            problems.append(f"{case.name}: the warning is not shown on stderr")
        outcomes[case.outcome] += 1
    return problems, outcomes


def test_corpus_is_refused_or_warned_never_silently_wrong(cases):
    assert len(cases) >= 30
    problems, outcomes = _run(cases)
    assert not problems, "\n".join(problems)
    assert outcomes["refused"] >= 25 and outcomes["warn"] >= 3


ROUNDS = int(os.environ.get("HEPCAL_FUZZ_CT", "0") or 0)


@pytest.mark.skipif(ROUNDS == 0, reason="the longer corpus (other phantoms, phases, spacings) runs with make fuzz-ct")
@pytest.mark.parametrize("round_", range(max(ROUNDS, 1)))
def test_corpus_on_other_phantoms(tmp_path, round_):
    rng = random.Random(round_)
    lesions = tuple(LesionSpec(p) for p in rng.sample(["rim", "coarse", "central", "septal", "dense_nodular", "linear"], 2))
    spacing = rng.choice([(3.0, 2.0, 2.0), (2.5, 1.8, 1.8), (2.0, 2.0, 2.0)])
    cases = corpus.build(tmp_path, phase=PHASES[round_ % len(PHASES)], lesions=lesions, seed=100 + round_, spacing=spacing)
    problems, _ = _run(cases)
    assert not problems, "\n".join(problems)


def test_the_clean_phantom_has_its_lesions(cases):
    """The reference the warned studies are compared with is itself right."""
    r = _scan(cases[0])
    assert r.exit_code == 0, r.stderr
    assert _lesions(r.stdout) == [("dense_nodular",), ("rim",)]
