"""""None of these fits": are the findings unusual for every diagnosis of the knowledge base?

The score of a case is how well the best-fitting diagnosis explains its findings: the largest,
over diagnoses d, of the mean log likelihood of the observed findings,

    score = max_d (1/n) Σ_o ln P(o | d)      (n observed variables)

so exp(score) is the geometric-mean probability of a finding under the diagnosis that explains
them best. The findings are atypical when even that diagnosis finds them improbable: the score
falls below a threshold calibrated on the case library (``atypical.yaml``: the quantile of the
score over the library's in-vocabulary cases, each scored by a fit that did not see it, so the
flag rate on unseen cases the knowledge base covers is known by construction; built by
:func:`hepcal.fit.open_set.recalibrate`), and the rate on cases outside the vocabulary is what
it measures. Among the scores compared while designing this (a standardised typicality z, the
posterior's maximum, the marginal likelihood per finding, the sum rather than the mean, each
finding against its diagnosis's commonest state) this one separated the library's
out-of-vocabulary cases from the others best. A case costs one sum over its observed rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hepcal import yamlfile
from hepcal.reasoning.network import Network

CALIBRATION_FILE = "atypical.yaml"


@dataclass(frozen=True)
class Calibration:
    threshold: float  # flag when the best z is below this
    quantile: float
    cases: int
    min_observed: int  # fewer observed variables than this: never flagged (too little to judge)


@dataclass(frozen=True)
class Verdict:
    atypical: bool
    score: float  # max_d mean ln P(o | d) (inf when too little is observed)
    best: int  # index of the best-fitting diagnosis (-1 when not scored)
    surprising: tuple[int, ...]  # rows least probable under the best-fitting diagnosis


def judge(net: Network, rows: Sequence[int], cal: Calibration) -> Verdict:
    """Whether the observed rows (one per observed variable, as ``evidence`` gives them) are
    atypical for every diagnosis."""
    n = len(rows)
    if n < cal.min_observed:
        return Verdict(False, float("inf"), -1, ())
    r = np.asarray(rows)
    logp = net.log_probability  # probabilities, not log_table (which reads prior_given rows as ratios)
    fit = np.add.reduce(logp.take(r, axis=0), axis=0) / n
    best = int(fit.argmax())
    col = logp[r, best]
    worst = tuple(int(r[i]) for i in np.argsort(col, kind="stable")[:3]) if fit[best] < cal.threshold else ()
    return Verdict(bool(fit[best] < cal.threshold), float(fit[best]), best, worst)


def reason(net: Network, verdict: Verdict, labels: Mapping[int, str], cal: Calibration) -> str:
    """The sentence the assessment shows with the flag."""
    if verdict.best < 0:
        return "Too few findings to judge whether they fit the knowledge base."
    name = net.names[verdict.best]
    if not verdict.atypical:
        return f"The findings fit at least one diagnosis of the knowledge base (closest: {name})."
    odd = ", ".join(labels[r] for r in verdict.surprising if r in labels)
    return (
        f"The findings are unusual for every diagnosis in the knowledge base: even the closest, {name}, "
        f"gives a finding a mean probability of {np.exp(verdict.score):.2f}, below {np.exp(cal.threshold):.2f} "
        f"(the lowest {cal.quantile:.0%} of the published cases it covers); least expected: {odd}. "
        f"Consider a diagnosis outside the list."
    )


def calibration_path() -> Path:
    return Path(str(resources.files("hepcal.reasoning").joinpath(CALIBRATION_FILE)))


@lru_cache(maxsize=1)
def calibration() -> Calibration:
    raw = yamlfile.safe_load(calibration_path().read_text(encoding="utf-8"))
    return Calibration(float(raw["threshold"]), float(raw["quantile"]), int(raw["cases"]), int(raw["min_observed"]))


def write_calibration(cal: Calibration, kb_version: str, measured: Mapping[str, Any] | None = None,
                      path: Path | None = None) -> Path:
    """Store a calibration (the edge that writes ``atypical.yaml``), with what was measured on it."""
    path = path or calibration_path()
    header = (
        "# Threshold of the 'atypical' flag (reasoning/atypical.py), calibrated on the case library:\n"
        "# the quantile of the best-fit score over the library's in-vocabulary development cases with at\n"
        "# least `min_observed` observed variables, each scored by a fit that did not see it (5-fold x 2).\n"
        "# `flagged_out_of_fold`: the flag rates this threshold gives on those unseen cases and on the\n"
        "# development cases outside the vocabulary; `trade_off`: the same at other quantiles.\n"
        "# The quantile is a policy choice (docs/case-format.md, `atypical`). `hepcal kb fit` rebuilds this file.\n"
    )
    body = {"threshold": round(cal.threshold, 4), "quantile": cal.quantile, "cases": cal.cases,
            "min_observed": cal.min_observed, "knowledge_base": kb_version, **dict(measured or {})}
    path.write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path
