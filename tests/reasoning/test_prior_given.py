"""A variable the priors are already conditioned on (``prior_given``): finding.calcified.

The priors are frequencies among calcified liver findings, so "calcified" must add nothing and
"not calcified" must count as P(not calcified | d) / P(calcified | d), in the engine, in its
intervals and in the fit alike.
"""

from __future__ import annotations

import numpy as np
import pytest

from hepcal.errors import KnowledgeBaseError
from hepcal.fit import dirichlet
from hepcal.knowledge import load
from hepcal.knowledge.loader import _expand_variables
from hepcal.knowledge.schema import VariablesFile
from hepcal.reasoning import assess
from hepcal.reasoning.network import compile_network
from hepcal.reasoning.next_finding import information_gain, rank
from hepcal.reasoning.posterior import averaged, averaged_many, posterior

BASE = {"finding": {"modality": ["ct"], "lesion": "solid", "count": "solitary"}}


def _case(**finding):
    return {"finding": {**BASE["finding"], **finding}}


@pytest.fixture(scope="module")
def net():
    return compile_network(load(), fitted=False)


def test_calcified_is_marked_and_its_true_state_is_the_reference(net):
    var = net.variables[net.var_index["finding.calcified"]]
    assert var.prior_given == "true"
    t, f = net.row("finding.calcified", "true"), net.row("finding.calcified", "false")
    assert np.all(net.log_table[t] == 0.0)
    assert np.allclose(net.log_table[f], np.log(net.table[f]) - np.log(net.table[t]))
    # the probabilities themselves are untouched (what the fit and the next findings read)
    assert np.allclose(net.table[t] + net.table[f], 1.0)


def test_calcified_true_adds_nothing_and_false_weighs_the_ratio(net):
    kb = net.kb
    plain = assess(_case(), kb)
    calcified = assess(_case(calcified=True), kb)
    assert [e.probability for e in calcified.differential] == pytest.approx([e.probability for e in plain.differential])
    t, f = net.row("finding.calcified", "true"), net.row("finding.calcified", "false")
    p_false = posterior(net, [f])
    expected = net.prior * net.table[f] / net.table[t]
    assert p_false == pytest.approx(expected / expected.sum())
    # a diagnosis that rarely calcifies gains against one that nearly always does
    g, h = net.ids.index("granuloma"), net.ids.index("hepatocellular_carcinoma")
    assert p_false[h] / p_false[g] > net.prior[h] / net.prior[g]


def test_intervals_read_the_same_ratio(net):
    t, f = net.row("finding.calcified", "true"), net.row("finding.calcified", "false")
    assert np.all(net.log_draws[t] == 0.0)
    # the draws of "not calcified" centre on the ratio of the means
    centre = np.median(net.log_draws[f], axis=1)
    assert np.corrcoef(centre, net.log_table[f])[0, 1] > 0.95


def test_the_fit_scores_what_the_engine_computes(net):
    """The strength choice scores the probability an assessment shows (default priors): the
    posterior averaged over the same draws, prior_given rows read as ratios."""
    rows = [net.row("finding.calcified", "false"), net.row("finding.count", "solitary"), net.row("finding.lesion", "solid")]
    X = np.zeros((1, net.table.shape[0]))
    X[0, rows] = 1.0
    got = averaged_many(net, X, net.log_draws)[0]
    point, _, _ = averaged(net, rows)
    assert np.allclose(got, point, atol=1e-5)
    assert not np.allclose(got, posterior(net, rows), atol=1e-5)  # not the posterior at the means


def test_calcified_is_not_offered_as_a_next_finding(net):
    post = posterior(net, [])
    # its probabilities would make it informative, but the priors already assume it
    assert information_gain(net, post)[net.var_index["finding.calcified"]] > 1e-3
    offered = rank(net, post, set(), count=len(net.variables))
    assert offered and all(n.finding != "finding.calcified" for n in offered)


def test_prior_given_needs_a_binary_key_and_one_of_its_states():
    bad = VariablesFile.model_validate({"version": 2, "variables": {"finding.lesion": {"kind": "enum", "prior_given": "solid"}}})
    with pytest.raises(KnowledgeBaseError, match="prior_given"):
        _expand_variables(bad)
    bad = VariablesFile.model_validate({"version": 2, "variables": {"finding.calcified": {"kind": "binary", "prior_given": "yes"}}})
    with pytest.raises(KnowledgeBaseError, match="prior_given"):
        _expand_variables(bad)


@pytest.mark.parametrize("calcified", [True, False])
def test_pgmpy_reference_gives_the_same_posterior_with_calcified_observed(net, calcified):
    pytest.importorskip("pgmpy")
    from hepcal.findings.model import parse_case
    from hepcal.reasoning.evidence import observations
    from hepcal.reasoning.pgmpy_model import PgmpyEngine

    obs = observations(parse_case(_case(calcified=calcified, size_mm=40)), net)
    assert any(o.variable == "finding.calcified" for o in obs)
    np.testing.assert_allclose(posterior(net, [o.row for o in obs]), PgmpyEngine(net).posterior(obs), atol=1e-9)


def test_atypical_score_reads_probabilities_not_ratios(net):
    from hepcal.findings.model import parse_case
    from hepcal.reasoning.atypical import Calibration, judge
    from hepcal.reasoning.evidence import observations

    rows = [o.row for o in observations(parse_case(_case(calcified=False, size_mm=40)), net)]
    v = judge(net, rows, Calibration(-np.inf, 0.05, 0, 1))
    expected = np.log(net.table[rows]).mean(axis=0)
    assert v.score == pytest.approx(expected.max()) and v.score <= 0.0


def test_a_calcified_central_scar_counts_the_scar_once(net):
    """calcification: [central_scar] already says there is a central scar: entering the scar too
    changes nothing, the scar is not proposed as the next finding, and denying it is refused."""
    from hepcal.findings import CaseError
    from hepcal.reasoning import assess

    pattern = {"finding": {"calcification": ["central_scar"], "lesion": "solid"}}
    both = {"finding": {**pattern["finding"], "central_scar": True}}
    a, b = assess(pattern).to_dict(), assess(both).to_dict()
    assert [(e["id"], e["probability"]) for e in a["differential"]] == [(e["id"], e["probability"]) for e in b["differential"]]
    assert "finding.central_scar" not in [n["finding"] for n in a["next_findings"]]
    scar_only = assess({"finding": {"lesion": "solid", "central_scar": True}}).to_dict()
    assert "finding.central_scar" not in [n["finding"] for n in scar_only["next_findings"]]  # entered, so not asked
    with pytest.raises(CaseError, match="central_scar is false"):
        assess({"finding": {"calcification": ["central_scar"], "central_scar": False}})
