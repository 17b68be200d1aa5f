"""The source documents' reasoning, checked against ../shared/spec/examples/expected-v2.yaml,
which replaced expected.yaml once the recommendation plan and case format v2 landed (it states
the plan each example must show, and the fourth example, calcified bile duct walls)."""

from __future__ import annotations

import pytest
import yaml

from hepcal.findings.io import load_case
from hepcal.knowledge import load
from hepcal.reasoning import assess
from tests.conftest import shared_path

V1 = ["seed-rim-calcified-mass.yaml", "seed-us-echogenic-focus.yaml", "seed-us-duct-stones.yaml"]


def _expected(name: str = "expected-v2.yaml"):
    path = shared_path("spec", "examples", name)
    return path.parent, yaml.safe_load(path.read_text())


def _check(folder, exp: dict, name: str) -> None:
    a = assess(load_case(folder / name))
    ranked = [e.id for e in a.differential]
    rec = a.recommendation
    actions = [s.action for s in rec.plan]
    if "top1" in exp:
        assert ranked[0] == exp["top1"], ranked[:3]
    if "top3" in exp:
        assert set(exp["top3"]) <= set(ranked[:3]), ranked[:3]
    if "doubtful" in exp:
        assert a.doubtful is exp["doubtful"]
    if "action" in exp:
        assert rec.action == exp["action"], rec.reasons
    if "caution_mentions" in exp:
        assert any(exp["caution_mentions"] in c.lower() for c in rec.cautions), rec.cautions
    if "plan_order" in exp:
        it = iter(actions)
        assert all(any(a == want for a in it) for want in exp["plan_order"]), actions
    for banned in exp.get("never", []):
        assert banned not in actions, actions
    assert rec.action == actions[0]


@pytest.mark.parametrize("name", V1)
def test_example_meets_expected_v2(name):
    folder, expected = _expected()
    _check(folder, expected[name], name)


def test_duct_wall_example_meets_expected_v2():
    folder, expected = _expected()
    name = "seed-us-duct-wall-calcification.yaml"
    exp = expected[name]
    if exp["top1"] not in load().ids:
        pytest.skip(f"the knowledge base has no {exp['top1']} yet (a v2 diagnosis); the example is checked once it has")
    try:
        case = load_case(folder / name)
    except Exception as exc:  # noqa: BLE001 - a v1 contract refuses v2 keys
        pytest.skip(f"the case format cannot read the v2 example yet ({exc})")
    del case
    _check(folder, exp, name)


def test_rim_case_plan_reads_serology_then_biopsy():
    """The plan of the seed rim case: echinococcus serology first; if negative, on to a biopsy."""
    folder, _ = _expected()
    rec = assess(load_case(folder / "seed-rim-calcified-mass.yaml")).recommendation
    first = rec.plan[0]
    assert first.action == "laboratory_tests" and "serology" in first.text.lower()
    assert first.then and "negative" in first.then
    assert rec.plan[-1].action == "biopsy" and rec.plan[-1].then is None


def test_bundled_examples_are_the_shared_ones():
    folder, expected = _expected()
    from tests.conftest import EXAMPLES

    for name in expected:
        assert (EXAMPLES / name).read_text() == (folder / name).read_text()


def test_duct_wall_example_meets_expected_v2():
    """The ultrasound source's own entity (case format v2): calcified duct walls, no follow-up."""
    path = shared_path("spec", "examples", "expected-v2.yaml")
    name = "seed-us-duct-wall-calcification.yaml"
    exp = yaml.safe_load(path.read_text())[name]
    a = assess(load_case(path.parent / name))
    assert a.differential[0].id == exp["top1"], [e.id for e in a.differential[:3]]
    assert a.recommendation.action == exp["action"], a.recommendation.reasons
    assert a.recommendation.action not in exp.get("never", [])
    from tests.conftest import EXAMPLES

    assert (EXAMPLES / name).read_text() == (path.parent / name).read_text()
