"""The fit: Dirichlet posterior means, counts from cases and series, the fitted file and its staleness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hepcal.fit import cv, dirichlet, output, store
from hepcal.knowledge import load
from hepcal.reasoning.network import compile_network
from hepcal.reasoning.posterior import averaged_many
from tests.fit.conftest import CASES, rec, write_library


def test_fitted_value_is_the_dirichlet_posterior_mean(lib_root):
    kb = load()
    lib = cv.library(kb, lib_root)
    net, s = lib.net, 7.0
    counts = dirichlet.case_counts(net, lib.design) + lib.series_counts
    fitted = cv.with_alpha(net, dirichlet.alpha(net, counts, s))
    j = net.ids.index("hydatid_cyst")
    # finding.calcification.rim for hydatid: cases 2 true, 1 false (hyd-3 gave punctate); series 12 of 40
    r_true, r_false = net.row("finding.calcification.rim", "true"), net.row("finding.calcification.rim", "false")
    assert counts[r_true, j] == 2 + 12 and counts[r_false, j] == 1 + 28
    p0 = net.estimate_table[r_true, j]
    assert fitted.table[r_true, j] == pytest.approx((s * p0 + 14) / (s + 43))
    # granuloma counts only its first acceptable id; the out-of-vocabulary case counts nowhere
    g, a = net.ids.index("granuloma"), net.ids.index("healed_abscess")
    r_pn = net.row("finding.calcification.punctate", "true")
    assert counts[r_pn, g] == 1 and counts[:, a].sum() == 0
    assert counts.sum() == pytest.approx(dirichlet.case_counts(net, lib.design).sum() + 40 + 10)
    # a key a case leaves out contributes nothing: only hyd-2 states the count
    lo, hi = net.offsets[net.var_index["finding.count"]], net.offsets[net.var_index["finding.count"] + 1]
    assert dirichlet.case_counts(net, lib.design)[lo:hi, j].sum() == 1
    # every variable's fitted states still sum to one
    sums = np.add.reduceat(fitted.table, net.offsets[:-1], axis=0)
    assert np.allclose(sums, 1.0)


def test_series_of_an_enum_state_spreads_the_rest_by_the_estimate(lib_root):
    lib = cv.library(load(), lib_root)
    net = lib.net
    j = net.ids.index("hydatid_cyst")
    v = net.var_index["finding.lesion"]
    lo, hi = net.offsets[v], net.offsets[v + 1]
    sc = lib.series_counts[lo:hi, j]
    cystic = net.row("finding.lesion", "cystic") - lo
    assert sc[cystic] == 8 and sc.sum() == pytest.approx(10)
    others = [i for i in range(hi - lo) if i != cystic]
    est = net.estimate_table[lo:hi, j][others]
    assert np.allclose(sc[others], 2 * est / est.sum())


def test_states_counted_in_the_same_patients_are_one_observation():
    """"cystic 5, solid 6 of 13" from one source is 13 patients, not 13 per state; a state named
    again in the same source is another group of patients."""
    from hepcal.evidence.models import SeriesCount

    net = compile_network(load())
    j = net.ids.index("mesenchymal_hamartoma")
    src = {"citation": "Author A. A series of thirteen. J 2007;1:1.", "url": "https://example.org/s"}

    def count(state, k, n=13, url=src["url"]):
        return SeriesCount(id=f"x-{state}-{k}", source={**src, "url": url}, diagnosis="mesenchymal_hamartoma",
                           finding="finding.lesion", state=state, k=k, n=n, where="Table 1")

    v = net.var_index["finding.lesion"]
    lo, hi = net.offsets[v], net.offsets[v + 1]
    one = dirichlet.series_counts(net, [count("cystic", 5), count("solid", 6)])[lo:hi, j]
    assert one.sum() == pytest.approx(13)
    cystic, solid = net.row("finding.lesion", "cystic") - lo, net.row("finding.lesion", "solid") - lo
    assert (one[cystic], one[solid]) == (5, 6)  # the 2 patients in neither go to the other states
    # two sources: two observations of 13 each
    two = dirichlet.series_counts(net, [count("cystic", 5), count("solid", 6, url="https://example.org/t")])[lo:hi, j]
    assert two.sum() == pytest.approx(26)
    # the same state twice in one source: two groups of 13 patients
    groups = dirichlet.series_counts(net, [count("cystic", 5), count("cystic", 9)])[lo:hi, j]
    assert groups.sum() == pytest.approx(26) and groups[cystic] == 14


def test_fit_never_reads_the_holdout(tmp_path):
    plain = write_library(tmp_path / "a")
    poisoned = write_library(tmp_path / "b", holdout="{this is not a case\n")
    kb = load()
    f1 = cv.fit_library(cv.library(kb, plain))
    f2 = cv.fit_library(cv.library(kb, poisoned))  # would raise if the hold-out were read
    assert f1.strength == f2.strength and np.array_equal(f1.counts, f2.counts)
    held = write_library(tmp_path / "c", holdout=json.dumps(rec("late-1", ["granuloma"], {"calcification": ["rim"]})) + "\n")
    f3 = cv.fit_library(cv.library(kb, held))
    assert np.array_equal(f1.counts, f3.counts)
    # and the hashed inputs of a fit do not include the hold-out
    net = compile_network(kb, fitted=False)
    assert output.input_hashes(net, plain)["library"] == output.input_hashes(net, held)["library"]


def test_fit_writes_a_deterministic_file_the_network_uses(kb_copy, lib_root):
    from hepcal.knowledge import load as load_kb

    kb = load_kb(kb_copy)
    assert compile_network(kb).fit == "estimates"  # no fitted.json yet
    path, data = output.fit_and_write(kb, lib_root)
    first = path.read_bytes()
    output.fit_and_write(kb, lib_root)
    assert path.read_bytes() == first
    entry = next(e for e in data["entries"] if (e["diagnosis"], e["variable"]) == ("hydatid_cyst", "finding.calcification.rim"))
    assert entry["cases"] == ["hyd-1", "hyd-2", "hyd-3"] and entry["series"] == ["hyd-rim-series"]
    assert entry["counts"] == [14.0, 29.0] and entry["n"] == 43.0
    s = data["strength"]
    assert entry["fitted"][0] == pytest.approx((s * entry["estimate"][0] + 14) / (s + 43), abs=1e-6)
    net = compile_network(load_kb(kb_copy))
    assert net.fit == "fitted" and net.strength == s
    r = net.row("finding.calcification.rim", "true")
    assert net.table[r, net.ids.index("hydatid_cyst")] == pytest.approx(entry["fitted"][0], abs=1e-6)
    assert compile_network(load_kb(kb_copy), fitted=False).table[r, net.ids.index("hydatid_cyst")] == entry["estimate"][0]
    assert output.staleness(load_kb(kb_copy), lib_root) == []


def test_a_changed_estimate_or_library_makes_the_fit_stale(kb_copy, lib_root):
    from hepcal.knowledge import load as load_kb

    output.fit_and_write(load_kb(kb_copy), lib_root)
    more = write_library(lib_root.parent / "more", cases=[*CASES, rec("hyd-4", ["hydatid_cyst"], {"calcification": ["rim"]})])
    assert any("case library" in p for p in output.staleness(load_kb(kb_copy), more))
    path = kb_copy / "diagnoses" / "hydatid_cyst.yaml"
    path.write_text(path.read_text().replace("finding.daughter_cysts: {p: 0.45", "finding.daughter_cysts: {p: 0.44"))
    kb = load_kb(kb_copy)
    problems = output.staleness(kb, lib_root)
    assert len(problems) == 1 and "expert estimates" in problems[0] and "hepcal kb fit" in problems[0]
    assert compile_network(kb).fit == "stale"  # a stale fit is never applied
    assert np.array_equal(compile_network(kb).table, compile_network(kb, fitted=False).table)


def test_shipped_fit_is_current():
    """CI fails here when the estimates or the library changed without `hepcal kb fit`."""
    problems = output.staleness(load())
    assert problems == [], "\n".join(problems)
    assert compile_network(load()).fit == "fitted"


def test_strength_choice_prefers_what_predicts(lib_root):
    lib = cv.library(load(), lib_root)
    s, losses = cv.choose_strength(lib.net, lib.design, lib.series_counts, k=2, repeats=2)
    assert s in cv.GRID and set(losses) == set(cv.GRID)
    assert losses[s] == min(losses.values())
    assert cv.pick(np.array([[1.0, 2.0], [0.5, 0.5], [0.5, 0.5]]), [1, 2, 3]) == 1  # tie: the smaller strength


def test_cross_validation_scores_the_engine_differential_with_its_setting(lib_root):
    from hepcal.reasoning.assessment import assess_observations
    from hepcal.reasoning.assessment import setting_of
    from hepcal.reasoning.evidence import observations

    lib = cv.library(load(), lib_root)
    net = cv.with_alpha(lib.net, dirichlet.alpha(lib.net, dirichlet.case_counts(lib.net, lib.design), 5.0))
    d = lib.design.subset(np.flatnonzero(lib.design.in_vocabulary))
    P, pm, _, _, upper = cv._Scorer(lib)._engine(net, d)
    i = d.ids.index("met-1")  # a known primary: the oncology setting's priors apply
    c = d.cases[i].case
    obs = observations(c, net)
    assert setting_of(net, obs).log_prior is not None
    a = assess_observations(net, c, obs)
    assert P[i] == pytest.approx([a.probability_of(x) for x in net.ids])
    assert pm[i] == pytest.approx(a.malignancy_probability)
    assert upper[i] == pytest.approx(a.malignancy_interval[1])
    # not the default-prior posterior
    assert not np.allclose(P[i], averaged_many(net, d.X[i:i + 1], net.log_draws)[0])


def test_subgroup_of_benign_cases_proven_without_tissue(tmp_path):
    """The subgroup holds the benign cases proven by imaging, follow-up, clinical course or
    serology, and its needle rate counts the needles those patients did without."""
    cases = [dict(c) for c in CASES]
    proofs = {"hyd-1": "serology", "hyd-2": "follow_up", "gran-1": "imaging", "met-1": "imaging"}  # met-1: malignant
    for c in cases:
        c["diagnosis"] = {**c["diagnosis"], "proof": proofs.get(c["id"], "histology")}
    lib = cv.library(load(), write_library(tmp_path / "ev", cases=cases))
    rep = cv.cross_validate(lib, k=2, repeats=1, grid=[5.0])
    sub = rep["subgroups"]["benign_proven_without_tissue"]["fitted"]
    assert sub["n_cases"] == 3  # hyd-1, hyd-2, gran-1; not the malignant met-1, not the histology-proven
    assert sub["measures"]["malignant_cases"]["value"] == 0
    rate = sub["measures"]["benign_to_needle_or_surgery"]["value"]
    assert 0.0 <= rate <= 1.0


def test_similar_case_agreement_leaves_out_the_case_s_own_publication(tmp_path):
    """Two hydatid cysts of different articles find each other; two patients of one article
    may not (they resemble each other for reasons a new patient does not share)."""
    from hepcal.fit.neighbours import similar_case_agreement

    picked = [c for c in CASES if c["id"] in ("hyd-1", "hyd-2", "met-1")]
    apart = cv.library(load(), write_library(tmp_path / "apart", cases=picked))
    together_cases = [dict(c) for c in picked]
    together_cases[1] = {**together_cases[1], "source": dict(together_cases[0]["source"])}  # hyd-2 from hyd-1's article
    together = cv.library(load(), write_library(tmp_path / "together", cases=together_cases))
    a = similar_case_agreement(apart.net, apart.design.cases)
    t = similar_case_agreement(together.net, together.design.cases)
    assert a["cases"] == t["cases"] == 3
    assert a["any_shares_diagnosis"] == pytest.approx(2 / 3)  # each hydatid cyst finds the other; met-1 finds none
    assert t["any_shares_diagnosis"] == 0.0


def test_next_finding_check_ranks_the_hidden_findings():
    """On library cases, the hidden finding the ranking proposes first helps the proven
    diagnosis more than the one it proposes last; the summary is deterministic."""
    from hepcal.evidence import load_cases
    from hepcal.fit.next_check import NextCheck

    net = compile_network(load())
    cases = [c for c in load_cases(include_holdout=False) if c.in_vocabulary][:80]
    d = dirichlet.design(net, cases)
    runs = []
    for _ in range(2):
        check = NextCheck()
        check.add(net, d, np.random.default_rng(3), splits=2)
        runs.append(check.summary(seed=1))
    a, b = runs
    assert a == b
    assert a["cases"] > 20 and a["splits"] == 2 * a["cases"]
    assert a["gain_proposed"]["value"] > a["gain_last"]["value"]
    for key in ("gain_proposed", "gain_random", "top1_after_proposed"):
        assert a[key]["low"] <= a[key]["value"] <= a[key]["high"]


def test_the_version_names_the_fit_in_use(kb_copy, lib_root):
    """A refit changes the numbers but not kb.yaml: the version every assessment, report and batch
    row carries names the fit, so stored results made with other numbers are told apart."""
    from hepcal.knowledge import load as load_kb
    from hepcal.reasoning import assess

    case = {"finding": {"calcification": ["rim"], "lesion": "cystic"}}
    kb = load_kb(kb_copy)
    plain = assess(case, kb).to_dict()["knowledge_base"]["version"]
    assert plain == kb.version  # the estimates alone
    output.fit_and_write(kb, lib_root)
    first = compile_network(load_kb(kb_copy)).version
    assert first.startswith(kb.version + "+fit.") and first != plain
    assert assess(case, load_kb(kb_copy)).to_dict()["knowledge_base"]["version"] == first
    more = write_library(lib_root.parent / "more", cases=[*CASES, rec("hyd-4", ["hydatid_cyst"], {"calcification": ["rim"]})])
    output.fit_and_write(load_kb(kb_copy), more)
    assert compile_network(load_kb(kb_copy)).version not in (first, plain)


def test_a_changed_evidence_mapping_makes_the_fit_stale(kb_copy, lib_root):
    """variables.yaml decides what the library's cases count for (a superseded key is not
    counted): changing it without refitting must show, even when no estimate changed."""
    from hepcal.knowledge import load as load_kb

    output.fit_and_write(load_kb(kb_copy), lib_root)
    assert output.staleness(load_kb(kb_copy), lib_root) == []
    path = kb_copy / "variables.yaml"
    path.write_text(path.read_text().replace("    superseded_by: [finding.calcification=central_scar]\n", ""))
    problems = output.staleness(load_kb(kb_copy), lib_root)
    assert len(problems) == 1 and "how case keys become evidence" in problems[0]
