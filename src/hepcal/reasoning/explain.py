"""The full basis of one diagnosis's probability, for a clinician to check (``hepcal explain``).

For every observed finding: P(finding | diagnosis), P(finding | the other diagnoses, weighted
by their prior), the likelihood ratio, where the numbers come from (the diagnosis's own entry or
the population default) and the sources behind them; and how the number was fitted: the expert
estimate, the library evidence (k of n, which cases and series) and the fitted value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel

from hepcal.findings.model import parse_case
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning.assessment import setting_of
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.explanation import weights
from hepcal.reasoning.network import network
from hepcal.reasoning.posterior import averaged, posterior


def _setting_prior(d: Any, setting: Any, net: Any) -> dict[str, Any]:
    """The setting the case falls in and the prior this diagnosis takes there."""
    out: dict[str, Any] = {"id": setting.id, "name": setting.name, "keys": list(setting.keys)}
    stated = d.priors.get(setting.id)
    if stated is not None:
        out.update(p=stated.p, src=list(stated.src), estimate=stated.estimate, note=stated.note)
    elif setting.log_prior is not None:
        out["note"] = "no stated prior in this setting: a share of the rest in proportion to the default model"
    return out


def explain_diagnosis(case: BaseModel | Mapping[str, Any], diagnosis_id: str, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    case = parse_case(case)
    net = network(kb)
    kb = net.kb
    d_index = net.ids.index(diagnosis_id)
    d = kb.diagnoses[d_index]
    obs = observations(case, net)
    setting = setting_of(net, obs)
    rows = [o.row for o in obs]
    post, _, _ = averaged(net, rows, log_prior=setting.log_prior)  # what the assessment shows
    exact = posterior(net, rows, setting.log_prior)  # at the fitted means: what the weights below multiply to
    w = weights(net, obs, setting)
    findings = []
    for k, o in enumerate(obs):
        var = kb.variable(o.variable)
        resolved = kb.likelihood(d, var)
        in_setting = bool(setting.log_mass and o.variable in setting.log_mass)
        pi = setting.prior if in_setting else net.prior
        row = setting.within(o.variable, net.table[o.row])
        p_d = float(row[d_index])
        p_rest = float((row @ pi - row[d_index] * pi[d_index]) / (1 - pi[d_index]))
        entry = net.evidence.get((d.id, o.variable))
        k_state = entry["counts"][entry["states"].index(o.state)] if entry else 0
        evidence = {"k": k_state, "n": entry["n"] if entry else 0, "cases": list(entry["cases"]) if entry else [],
                    "series": list(entry["series"]) if entry else []}
        findings.append({
            "finding": o.label,
            "variable": o.variable,
            "state": o.state,
            "p_given_diagnosis": p_d,
            "p_given_others": p_rest,
            "likelihood_ratio": p_d / p_rest if p_rest > 0 else float("inf"),
            "weight": float(w[k, d_index]),
            "origin": resolved.origin,
            "src": list(resolved.spec.src),
            "estimate_mark": resolved.spec.estimate,  # the number is a judgement, not read off a source
            "note": resolved.spec.note,
            "within_setting": in_setting,
            "estimate": float(net.estimate_table[o.row, d_index]),  # the expert estimate the fit starts from
            "evidence": evidence,
            "fitted": p_d,
        })
    findings.sort(key=lambda f: -abs(f["weight"]))
    cited = list(dict.fromkeys([*d.prior.src, *(s for f in findings for s in f["src"]), *d.references]))
    rank = int(np.where(np.argsort(-post, kind="stable") == d_index)[0][0]) + 1
    return {
        "diagnosis": {"id": d.id, "name": d.name, "category": d.category, "malignancy": d.malignant.p},
        "posterior": float(post[d_index]),
        "posterior_at_fitted_means": float(exact[d_index]),
        "rank": rank,
        "prior": {"p": d.prior.p, "normalised": float(net.prior[d_index]), "src": list(d.prior.src),
                  "estimate": d.prior.estimate, "note": d.prior.note},
        "setting": _setting_prior(d, setting, net),
        "findings": findings,
        "description": d.description.strip(),
        "puncture": d.puncture.model_dump(),
        "cautions": [c.text for c in d.cautions],
        "references": [{"key": k, "citation": kb.references[k].citation, "url": kb.references[k].url} for k in cited if k in kb.references],
        "knowledge_base": {"version": net.version, "likelihoods": net.fit, "prior_strength": net.strength},
    }
