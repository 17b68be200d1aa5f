"""Engine speed, and proof that pgmpy computes the same posteriors (``engine.*``).

Measured side by side in one run: hepcal's full assessment (validation, posterior,
explanation, information gain, recommendation) one case at a time through the Python API, the
JSONL path, and pgmpy's VariableElimination computing only the posterior on the equivalent
network built from the same knowledge base.
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

from hepcal.findings import contract, parse_case  # noqa: E402
from hepcal.findings.io import iter_cases  # noqa: E402
from hepcal.reasoning import assess, network  # noqa: E402
from hepcal.reasoning.evidence import observations  # noqa: E402
from hepcal.reasoning.pgmpy_model import PgmpyEngine  # noqa: E402
from hepcal.reasoning.next_finding import information_gain  # noqa: E402
from hepcal.reasoning.posterior import posterior  # noqa: E402


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
    return case


def cases(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = [json.loads(line)["case"] for f in sorted((ROOT / "validation").glob("dev.jsonl")) for line in f.read_text().splitlines() if line.strip()]
    while len(out) < n:
        out.append(random_case(rng))
    return out[:n]


def main(n: int = 3000, n_pgmpy: int = 60, n_pgmpy_full: int = 8) -> dict:
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

    ref = PgmpyEngine(net)
    diffs = []
    t_pg = t_own = 0.0
    for c in data[:n_pgmpy]:
        obs = observations(parse_case(c), net)
        t = time.perf_counter()
        p_ref = ref.posterior(obs)
        t_pg += time.perf_counter() - t
        t = time.perf_counter()
        p_own = posterior(net, [o.row for o in obs])
        t_own += time.perf_counter() - t
        diffs.append(float(np.abs(p_ref - p_own).max()))
    # The same work as an assessment's core: posterior plus the information gain of every
    # unobserved single-valued finding (what next_findings ranks), by pgmpy joint queries.
    eig_diffs = []
    t_pg_full = 0.0
    for c in data[:n_pgmpy_full]:
        case = parse_case(c)
        obs = observations(case, net)
        observed = {net.variables[net.var_index[o.variable]].key for o in obs}
        candidates = [v.id for v in net.variables if v.member is None and v.key not in observed]
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
        "jsonl_cases_per_s": n / jsonl_s,
        "pgmpy_cases": n_pgmpy,
        "pgmpy_cases_per_s": n_pgmpy / t_pg,
        "posterior_only_cases_per_s": n_pgmpy / t_own,
        "ratio_vs_pgmpy": (n / total) / (n_pgmpy / t_pg),
        "pgmpy_same_work_cases_per_s": pgmpy_full_rate,
        "ratio_vs_pgmpy_same_work": (n / total) / pgmpy_full_rate,
        "posterior_only_ratio_vs_pgmpy": (n_pgmpy / t_own) / (n_pgmpy / t_pg),
        "max_abs_posterior_diff": max(diffs),
        "max_abs_information_gain_diff_bits": max(eig_diffs),
        "note": ("cases_per_s is hepcal's full assessment (validation, posterior, explanation, information gain, "
                 "recommendation) one case at a time; pgmpy_cases_per_s is pgmpy's VariableElimination computing the "
                 "posterior only (ratio_vs_pgmpy compares the two as the issue defines it); "
                 "pgmpy_same_work_cases_per_s adds the information gain of every unobserved finding by pgmpy joint queries."),
    }
    merge("engine", result)
    print(f"engine: {result['cases_per_s']:.0f} assessments/s (p50 {result['p50_ms']:.3f} ms), JSONL {result['jsonl_cases_per_s']:.0f}/s")
    print(f"  pgmpy posterior only {result['pgmpy_cases_per_s']:.0f}/s → ratio {result['ratio_vs_pgmpy']:.1f}× "
          f"(hepcal posterior only: {result['posterior_only_ratio_vs_pgmpy']:.0f}×); max |Δposterior| {result['max_abs_posterior_diff']:.1e}")
    print(f"  pgmpy posterior + information gain {result['pgmpy_same_work_cases_per_s']:.2f}/s → ratio {result['ratio_vs_pgmpy_same_work']:.0f}×; "
          f"max |ΔEIG| {result['max_abs_information_gain_diff_bits']:.1e} bits")
    return result


if __name__ == "__main__":
    main()
