"""Proof that an engine change leaves every assessment unchanged (run before and after it).

``python benchmarks/same_output.py dump OUT.json`` assesses the bundled examples, the case
library's development cases (``src/hepcal/evidence/cases/*.jsonl``), the validation development
cases and a fixed set of random cases (the engine benchmark's generator), and writes the whole
output of each: ``to_dict()`` plus what it leaves out (every diagnosis's full for/against lists,
the plan steps' origins and cited keys, the cited keys of every reason), or the error a case
raises. ``python benchmarks/same_output.py compare A.json B.json`` reports every difference,
numbers compared to an absolute tolerance of 1e-12; exit status 1 when any differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

TOLERANCE = 1e-12
INEXACT = [0]  # numbers that differ at all (within the tolerance or not)
RANDOM_CASES = 1500


def inputs() -> list[tuple[str, Any]]:
    """(name, case mapping) of every case compared, in a fixed order."""
    from hepcal import yamlfile
    from bench_engine import cases as bench_cases

    out: list[tuple[str, Any]] = []
    for tag, folder in (("spec", ROOT.parent / "shared" / "spec" / "examples"), ("examples", ROOT / "examples")):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "finding" in data:
                out.append((f"{tag}/{path.name}", data))
    for path in sorted((ROOT / "src" / "hepcal" / "evidence" / "cases").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                rec = json.loads(line)
                out.append((f"{path.name}:{n}:{rec.get('id')}", rec.get("case")))
    for i, case in enumerate(bench_cases(RANDOM_CASES)):  # validation/dev.jsonl, then random cases
        out.append((f"bench:{i}", case))
    return out


def whole(a: Any) -> dict[str, Any]:
    """An assessment's full output: to_dict() and the parts it does not show."""
    d = a.to_dict()
    d["_entries"] = [{"id": e.id, "for": [c.to_dict() | {"w": c.weight} for c in e.pro],
                      "against": [c.to_dict() | {"w": c.weight} for c in e.con]} for e in a.differential]
    rec = a.recommendation
    d["_plan"] = [{"origin": s.origin, "before_needle": s.before_needle, "cites": sorted(s.cites),
                   "only_if_missing": s.only_if_missing} for s in rec.plan]
    d["_cited"] = [sorted(c) for c in rec.cited]
    d["_observations"] = [[o.variable, o.state, o.row, o.label, list(o.keys)] for o in a.observations]
    d["_next"] = [[n.finding, n.expected_information_gain_bits, n.outcomes] for n in a.next_findings]
    return d


def dump(path: Path) -> int:
    from hepcal.errors import InputError
    from hepcal.reasoning import assess

    out = {}
    for name, case in inputs():
        try:
            out[name] = whole(assess(case))
        except InputError as exc:
            out[name] = {"_error": type(exc).__name__, "message": str(exc)}
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(out)} cases written to {path}")
    return 0


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        if type(a) is not type(b):
            return [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [x for i, (p, q) in enumerate(zip(a, b)) for x in differences(p, q, f"{where}[{i}]")]
    if isinstance(a, int | float) and not isinstance(a, bool):
        INEXACT[0] += a != b
        return [] if abs(a - b) <= TOLERANCE else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def compare(first: Path, second: Path) -> int:
    a = json.loads(first.read_text(encoding="utf-8"))
    b = json.loads(second.read_text(encoding="utf-8"))
    found = differences(a, b)
    for line in found[:50]:
        print(line)
    print(f"{len(a)} cases compared, {len(found)} difference(s) (numbers to {TOLERANCE:g}); "
          f"{INEXACT[0]} number(s) not bit-identical")
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        raise SystemExit(dump(Path(sys.argv[2])))
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    print(__doc__)
    raise SystemExit(2)
