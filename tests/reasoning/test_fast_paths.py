"""The engine's fast paths give exactly what the plain computations they replace give.

Each shortcut (compiled conditions, the case read from the model's attributes, interval draws
summed in place, similar cases sorted only where they can reach the list, entries and
observations filled in directly) is checked against the straightforward form on the project's
cases and on random inputs, to the bit.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from hepcal.findings import parse_case
from hepcal.reasoning import assess, conditions, network
from hepcal.reasoning.evidence import Observation, observations
from hepcal.reasoning.posterior import averaged, draw_sums
from hepcal.reasoning.similar import top

from tests.conftest import EXAMPLES, ROOT


# The reference: conditions read off the data directly (the compiled form in the library must match it).
def _range(value: float, spec: Mapping[str, float]) -> bool:
    return spec.get("min", float("-inf")) <= value < spec.get("max", float("inf"))


def _key_holds(value: Any, spec: Any) -> bool:
    if isinstance(spec, Mapping):
        if "entered" in spec:
            return (value is not None) is bool(spec["entered"])
        if value is None:
            return False
        if "not" in spec:
            values = value if isinstance(value, list) else [value]
            return not set(map(str, values)) & set(map(str, spec["not"]))
        return isinstance(value, int | float) and not isinstance(value, bool) and _range(float(value), spec)
    if value is None:
        return False
    wanted = spec if isinstance(spec, list) else [spec]
    values = value if isinstance(value, list) else [value]
    return any(v == w or (not isinstance(v, bool) and str(v) == str(w)) for v in values for w in wanted)


def _walk(cond: Mapping[str, Any] | None, facts: conditions.Facts) -> bool:
    """The conditions read off the data on every call: the plain reading the compiled form must match."""
    if not cond:
        return True
    for key, spec in cond.items():
        if key == "any":
            if not any(_walk(c, facts) for c in spec):
                return False
        elif key == "probability":
            if not all(_range(facts.posterior.get(d, 0.0), s) for d, s in spec.items()):
                return False
        elif key == "malignancy":
            if not _range(facts.malignancy, spec):
                return False
        elif not _key_holds(facts.case.get(key), spec):
            return False
    return True


def _cases() -> list:
    import yaml

    out = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
    for path in sorted((ROOT / "src" / "hepcal" / "evidence" / "cases").glob("*.jsonl")):
        out += [json.loads(line)["case"] for line in path.read_text().splitlines() if line.strip()]
    return [parse_case(c) for c in out]


CASES = _cases()


def _kb_conditions(net) -> list:
    """Every condition the knowledge base holds (policy rules, plan, reasons, cautions, tests)."""
    pol = net.kb.policy
    out = [r.when for r in pol.must_not_miss] + [pol.plan.characterise_when]
    for d in net.kb.diagnoses:
        for item in (*d.management.reasons, *d.cautions, *d.next_tests):
            out += [item.when, item.unless]
    return [c for c in out if c]


def test_compiled_conditions_decide_as_the_walk_over_the_data_does():
    net = network()
    conds = _kb_conditions(net)
    assert conds
    rng = random.Random(3)
    for case in CASES:
        post = rng.choice([np.full(len(net.ids), 1 / len(net.ids)), np.eye(len(net.ids))[rng.randrange(len(net.ids))]])
        facts = conditions.Facts(conditions.flatten(case), dict(zip(net.ids, post.tolist())), rng.random())
        for c in conds:
            assert conditions.holds(c, facts) is _walk(c, facts), c


@pytest.mark.parametrize("cond, case, expected", [
    ({"finding.count": "solitary"}, {"finding.count": "solitary"}, True),
    ({"finding.count": ["multiple", "solitary"]}, {"finding.count": "solitary"}, True),
    ({"finding.calcification": "rim"}, {"finding.calcification": ["central", "rim"]}, True),
    ({"finding.calcification": {"not": ["rim"]}}, {"finding.calcification": ["central", "rim"]}, False),
    ({"finding.calcification": {"not": ["rim"]}}, {}, False),
    ({"finding.size_mm": {"entered": False}}, {}, True),
    ({"finding.size_mm": {"entered": True}}, {}, False),
    ({"finding.size_mm": {"min": 10, "max": 50}}, {"finding.size_mm": 50.0}, False),
    ({"finding.size_mm": {"min": 10}}, {"finding.size_mm": True}, False),
    ({"history.incidental": 1}, {"history.incidental": True}, True),  # as the walk: True == 1
    ({"finding.size_mm": "5"}, {"finding.size_mm": 5}, True),
    ({"any": [{"finding.count": "multiple"}, {"malignancy": {"min": 0.2}}]}, {}, True),
    ({"probability": {"x": {"min": 0.5}}, "finding.count": "solitary"}, {"finding.count": "solitary"}, False),
    ({}, {}, True),
])
def test_compiled_conditions_on_each_form(cond, case, expected):
    facts = conditions.Facts(case, {"x": 0.4}, 0.3)
    assert _walk(cond, facts) is expected
    assert conditions.holds(cond, facts) is expected


def test_the_case_read_from_the_model_is_the_flattened_dump():
    for case in CASES:
        a, b = conditions.flatten(case), conditions.entered(case)
        assert list(a.items()) == list(b.items())
        assert [type(v) for v in a.values()] == [type(v) for v in b.values()]


def test_interval_draws_summed_in_place_are_the_stacked_sum_to_the_bit():
    net = network()
    for case in CASES[:60]:
        rows = [o.row for o in observations(case, net)]
        if rows:
            assert np.array_equal(draw_sums(net.log_draws, rows), net.log_draws[rows].sum(axis=0))


def test_intervals_read_the_same_order_statistics_as_a_partition():
    net = network()
    for case in CASES[:40]:
        rows = [o.row for o in observations(case, net)]
        if not rows:
            continue
        point, bounds, _ = averaged(net, rows)
        p = np.exp(net.log_draws[rows].sum(axis=0) + net.log_prior[:, None].astype(np.float32)
                   - (net.log_draws[rows].sum(axis=0) + net.log_prior[:, None].astype(np.float32)).max(axis=0))
        p /= p.sum(axis=0)
        m = p.shape[1]
        lo_i, hi_i = int(np.floor(0.05 * (m - 1))), int(np.ceil(0.95 * (m - 1)))
        part = np.partition(p, (lo_i, hi_i), axis=1)
        mean = p.mean(axis=1, dtype=np.float64)
        np.testing.assert_allclose(point, mean / mean.sum(), rtol=1e-12, atol=1e-15)  # the point is the draws' mean
        assert np.array_equal(bounds[:, 0], np.minimum(part[:, lo_i], point))
        assert np.array_equal(bounds[:, 1], np.maximum(part[:, hi_i], point))


def _reference_top(sim: np.ndarray, extra: np.ndarray, count: int) -> list[int]:
    by_extra = np.argsort(np.round(extra, 9), kind="stable")
    return [int(j) for j in by_extra[np.argsort(-np.round(sim[by_extra], 9), kind="stable")][:count]]


def test_similar_cases_sorted_only_where_they_can_reach_the_list_keep_the_full_order():
    rng = np.random.default_rng(5)
    for n in (0, 1, 4, 5, 6, 30, 250):
        for _ in range(40):
            sim = rng.choice([0.0, 0.25, 0.5, 1.0], n) if rng.random() < 0.5 else rng.random(n) * (rng.random(n) < 0.6)
            extra = rng.choice([0.0, 1.0, 2.0], n) if rng.random() < 0.5 else rng.random(n)
            assert top(sim, extra, 5) == _reference_top(sim, extra, 5)


def test_directly_filled_observations_and_entries_are_ordinary_frozen_objects():
    a = assess(CASES[0])
    o = a.observations[0]
    assert type(o) is Observation and o == Observation(o.variable, o.state, o.row, o.label, o.keys)
    e = a.differential[0]
    with pytest.raises(AttributeError):
        e.probability = 0.0  # frozen
    assert e.to_dict()["id"] == e.id and e.pro is e.pro  # for/against still built once, when read
