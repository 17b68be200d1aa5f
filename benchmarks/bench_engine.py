"""Engine speed, and proof that pgmpy computes the same posteriors (``engine.*``).

Measured side by side in one run: hepcal's full assessment (validation, posterior, 90 %
intervals, explanation, information gain, recommendation) one case at a time through the Python API and
through the JSONL path; the posterior alone, by hepcal and by pgmpy's VariableElimination on the
equivalent network built from the same knowledge base (the like-for-like ratio); and pgmpy doing
an assessment's numerical work (posterior and information gain of every unobserved finding).
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, merge, percentile  # noqa: E402

from hepcal.findings import contract, parse_case, without_conflicts  # noqa: E402
from hepcal.findings.io import iter_cases  # noqa: E402
from hepcal.reasoning import assess, network  # noqa: E402
from hepcal.reasoning.evidence import observations  # noqa: E402
from hepcal.reasoning.pgmpy_model import PgmpyEngine  # noqa: E402
from hepcal.reasoning.next_finding import information_gain  # noqa: E402
from hepcal.reasoning.posterior import averaged, posterior  # noqa: E402


def random_case(rng: random.Random) -> dict:
    c = contract()
    case: dict = {}
    for path, spec in c.fields.items():
        if rng.random() > 0.25:
            continue
        if spec.type == "bool":
            v = rng.random() < 0.5
        elif spec.type == "number":
            v = round(rng.uniform(spec.min, min(spec.max, 200 if "size" in path else spec.max)), 1)
        elif spec.type == "enum":
            v = rng.choice(spec.values)
        else:
            v = rng.sample(spec.values, rng.randint(1, 2))
        case.setdefault(spec.section, {})[spec.name] = v
    case.setdefault("finding", {}).setdefault("calcification", [rng.choice(c.field("finding.calcification").values)])
    return without_conflicts(case)


def cases(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = [json.loads(line)["case"] for f in sorted((ROOT / "validation").glob("dev.jsonl")) for line in f.read_text().splitlines() if line.strip()]
    while len(out) < n:
        out.append(random_case(rng))
    return out[:n]


def main(n: int = 3000, n_pgmpy: int = 300, n_pgmpy_full: int = 8) -> dict:
    net = network()
    data = cases(n)
    for c in data[:50]:
        assess(c)  # warm-up
    times = []
    for c in data:
        t = time.perf_counter()
        assess(c)
        times.append(time.perf_counter() - t)
    total = sum(times)

    buf = io.StringIO()
    lines = [json.dumps(c) for c in data]
    t = time.perf_counter()
    for line in iter_cases(lines, "bench.jsonl"):
        buf.write(json.dumps(assess(line.record).to_dict()) + "\n")
    jsonl_s = time.perf_counter() - t

    # The posterior alone, the same computation on both sides, each timed in its own loop over
    # the same cases with the observations already extracted (interleaving the two would charge
    # pgmpy's cache pollution to hepcal).
    obs_all = [observations(parse_case(c), net) for c in data]
    rows_all = [[o.row for o in obs] for obs in obs_all]
    t = time.perf_counter()
    own_posteriors = [posterior(net, rows) for rows in rows_all]
    t_own = time.perf_counter() - t
    interval_times = []  # the probability shown with its intervals (part of every assessment above)
    for rows in rows_all:
        t = time.perf_counter()
        averaged(net, rows)
        interval_times.append(time.perf_counter() - t)
    ref = PgmpyEngine(net)
    t = time.perf_counter()
    ref_posteriors = [ref.posterior(obs) for obs in obs_all[:n_pgmpy]]
    t_pg = time.perf_counter() - t
    diffs = [float(np.abs(p_ref - p_own).max()) for p_ref, p_own in zip(ref_posteriors, own_posteriors)]
    # The same work as an assessment's core: posterior plus the information gain of every
    # unobserved single-valued finding (what next_findings ranks), by pgmpy joint queries.
    eig_diffs = []
    t_pg_full = 0.0
    for c in data[:n_pgmpy_full]:
        case = parse_case(c)
        obs = observations(case, net)
        observed = {net.variables[net.var_index[o.variable]].key for o in obs}
        candidates = [v.id for v in net.variables if v.member is None and not v.prior_given and v.key not in observed]
        t = time.perf_counter()
        ref.posterior(obs)
        gains_ref = ref.information_gain(obs, candidates)
        t_pg_full += time.perf_counter() - t
        own = information_gain(net, posterior(net, [o.row for o in obs]))
        eig_diffs += [abs(own[net.var_index[v]] - g) for v, g in gains_ref.items()]
    pgmpy_full_rate = n_pgmpy_full / t_pg_full
    result = {
        "cases": n,
        "cases_per_s": n / total,
        "p50_ms": percentile(times, 50) * 1e3,
        "p95_ms": percentile(times, 95) * 1e3,
        "intervals_p50_ms": percentile(interval_times, 50) * 1e3,
        "likelihoods": net.fit,
        "jsonl_cases_per_s": n / jsonl_s,
        "pgmpy_cases": n_pgmpy,
        "pgmpy_cases_per_s": n_pgmpy / t_pg,
        "posterior_cases_per_s": n / t_own,
        "ratio_vs_pgmpy": (n / t_own) / (n_pgmpy / t_pg),
        "assessment_ratio_vs_pgmpy_posterior": (n / total) / (n_pgmpy / t_pg),
        "pgmpy_same_work_cases_per_s": pgmpy_full_rate,
        "ratio_vs_pgmpy_same_work": (n / total) / pgmpy_full_rate,
        "max_abs_posterior_diff": max(diffs),
        "max_abs_information_gain_diff_bits": max(eig_diffs),
        "note": ("Like for like. ratio_vs_pgmpy: the posterior over all diagnoses, hepcal (posterior_cases_per_s) against "
                 "pgmpy's VariableElimination (pgmpy_cases_per_s) on the same cases and observations. "
                 "ratio_vs_pgmpy_same_work: hepcal's full assessment (cases_per_s: validation, posterior, explanation, "
                 "information gain, recommendation) against pgmpy computing the posterior and the information gain of "
                 "every unobserved finding. assessment_ratio_vs_pgmpy_posterior sets the full assessment against pgmpy's "
                 "posterior alone (unequal work, shown for completeness)."),
    }
    merge("engine", result)
    print(f"engine: {result['cases_per_s']:.0f} assessments/s (p50 {result['p50_ms']:.3f} ms including intervals, "
          f"of which the averaged probability with its intervals p50 {result['intervals_p50_ms']:.3f} ms), JSONL {result['jsonl_cases_per_s']:.0f}/s")
    print(f"  posterior: hepcal {result['posterior_cases_per_s']:.0f}/s, pgmpy {result['pgmpy_cases_per_s']:.0f}/s → ratio "
          f"{result['ratio_vs_pgmpy']:.0f}×; max |Δposterior| {result['max_abs_posterior_diff']:.1e} "
          f"(full assessment vs pgmpy posterior alone: {result['assessment_ratio_vs_pgmpy_posterior']:.1f}×)")
    print(f"  pgmpy posterior + information gain {result['pgmpy_same_work_cases_per_s']:.2f}/s → ratio {result['ratio_vs_pgmpy_same_work']:.0f}×; "
          f"max |ΔEIG| {result['max_abs_information_gain_diff_bits']:.1e} bits")
    return result


if __name__ == "__main__":
    if "--quick" in sys.argv:  # a short run: speed only, no pgmpy comparison written anywhere
        merge = lambda section, values: None  # noqa: E731 - keep bench-results.json untouched
        main(n=800, n_pgmpy=50, n_pgmpy_full=1)
    else:
        main()
