"""Agreement between two independent encodings of the same published cases.

A tenth of the case library is encoded twice, by people who do not see each other's work. How
often they read an article the same way, key by key, says how far the library's numbers can be
trusted: a key that two careful readers encode differently is a key the fit should lean on less.

Per key path that either encoding states (``finding.calcification``, ``history.fever``, ...,
plus ``diagnosis.ids[0]`` and ``diagnosis.malignant``) this module computes Cohen's kappa over the
paired cases, with "not stated" as a category of its own (one reader omitting a key the other
stated is a disagreement, and both omitting it an agreement), together with the raw agreement.
Lists are compared as sets; numbers of a binned knowledge-base variable are compared by bin (two
readings of "about 3 cm" that fall in the same bin agree), other numbers exactly.

Run ``python -m hepcal.evidence.agreement`` for a table over the library's files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "NOT_STATED",
    "AgreementError",
    "agreement",
    "case_keys",
    "cohen_kappa",
    "knowledge_bins",
    "main",
]

NOT_STATED = "(not stated)"
# Keys added by case format version 2 (docs/case-library.md). A record in the older validation
# format (``"diagnosis": "<id>"``) cannot state them, nor ``diagnosis.malignant``: for a pair with
# such a record those keys are not compared, rather than counted as omitted.
V2_KEYS = frozenset({
    "patient.fetal", "history.pregnancy_or_postpartum", "history.prior_abdominal_surgery",
    "history.surgical_packing", "history.transfusion_iron_overload", "history.antiparasitic_treatment",
    "labs.inflammatory_markers_elevated", "labs.afp_ng_ml", "finding.calcified", "finding.lymphadenopathy",
    "finding.extrahepatic_calcification", "finding.compartment", "diagnosis.malignant",
})
NO_ID = "(outside the vocabulary)"
CASE_SECTIONS = ("patient", "history", "labs", "finding")
Bins = Mapping[str, Sequence[tuple[str, float]]]


class AgreementError(ValueError):
    """Records that cannot be paired (a repeated id, a record without an id or a case)."""


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels for the same items.

    None when chance agreement is already certain (both raters used one and the same label for
    every item): kappa is 0/0 there, and the raw agreement says all there is to say.
    """
    if len(first) != len(second):
        raise ValueError(f"the two raters labelled {len(first)} and {len(second)} items")
    if not first:
        return None
    labels = sorted(set(first) | set(second))
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for a, b in zip(first, second, strict=True):
        table[index[a], index[b]] += 1
    table /= table.sum()
    observed = float(np.trace(table))
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    if np.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def _label(key: str, value: Any, bins: Bins) -> str:
    """One comparable category for a stated value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        cuts = bins.get(key)
        if cuts:
            chosen = cuts[0][0]
            for name, lower in cuts:
                if value >= lower:
                    chosen = name
            return chosen
        return f"{float(value):g}"
    if isinstance(value, list):
        return "{" + ", ".join(sorted({str(v) for v in value})) + "}"
    return str(value)


def case_keys(record: Mapping[str, Any], bins: Bins | None = None) -> dict[str, str]:
    """Every key path a record states, each mapped to its comparable category."""
    bins = bins or {}
    case = record.get("case")
    if not isinstance(case, Mapping):
        raise AgreementError(f"record {record.get('id')!r} has no case object")
    out: dict[str, str] = {}
    for section in CASE_SECTIONS:
        for key, value in (case.get(section) or {}).items():
            path = f"{section}.{key}"
            out[path] = _label(path, value, bins)
    diagnosis = record.get("diagnosis") or {}
    if isinstance(diagnosis, str):  # the older validation format: one diagnosis id
        out["diagnosis.ids[0]"] = diagnosis
        return out
    if "ids" in diagnosis:
        ids = diagnosis["ids"]
        out["diagnosis.ids[0]"] = str(ids[0]) if ids else NO_ID
    if "malignant" in diagnosis:
        out["diagnosis.malignant"] = _label("diagnosis.malignant", diagnosis["malignant"], bins)
    return out


def _by_id(records: Iterable[Mapping[str, Any]], which: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for record in records:
        rid = record.get("id")
        if not isinstance(rid, str) or not rid:
            raise AgreementError(f"a record of the {which} encoding has no id")
        if rid in out:
            raise AgreementError(f"id {rid!r} appears twice in the {which} encoding")
        out[rid] = record
    return out


def agreement(
    first: Sequence[Mapping[str, Any]],
    second: Sequence[Mapping[str, Any]],
    bins: Bins | None = None,
    skip_unavailable: bool = False,
) -> dict[str, Any]:
    """Per-key and overall agreement of two encodings, records paired by ``id``.

    ``bins`` maps a key path to its ``(bin name, lower bound)`` cuts (see ``knowledge_bins``).
    ``skip_unavailable`` leaves out pairs where either encoder could not read the article.

    Returns ``pairs`` (the ids compared), ``only_first``/``only_second`` (unpaired ids),
    ``keys`` (per key: ``kappa``, ``agreement`` over its ``pairs``, ``n`` = pairs where at least
    one encoding states the key, ``identical`` = how many of those agree, ``disagreements``)
    and ``overall`` (``kappa_weighted``: mean kappa weighted by n over keys where kappa is
    defined; ``identical_share``: agreeing share of all key comparisons where a key is stated).
    """
    a, b = _by_id(first, "first"), _by_id(second, "second")
    ids = sorted(set(a) & set(b))
    if skip_unavailable:
        ids = [i for i in ids if not (a[i].get("unavailable") or b[i].get("unavailable"))]
    flat_a = {i: case_keys(a[i], bins) for i in ids}
    flat_b = {i: case_keys(b[i], bins) for i in ids}
    paths = sorted({k for i in ids for k in (*flat_a[i], *flat_b[i])})

    old_format = {i for i in ids if isinstance(a[i].get("diagnosis"), str) or isinstance(b[i].get("diagnosis"), str)}

    keys: dict[str, dict[str, Any]] = {}
    for path in paths:
        usable = [i for i in ids if not (path in V2_KEYS and i in old_format)]
        la = [flat_a[i].get(path, NOT_STATED) for i in usable]
        lb = [flat_b[i].get(path, NOT_STATED) for i in usable]
        stated = [(i, x, y) for i, x, y in zip(usable, la, lb, strict=True) if not (x == NOT_STATED and y == NOT_STATED)]
        if not stated:
            continue
        keys[path] = {
            "kappa": cohen_kappa(la, lb),
            "agreement": float(np.mean([x == y for x, y in zip(la, lb, strict=True)])),
            "pairs": len(usable),
            "n": len(stated),
            "identical": sum(x == y for _, x, y in stated),
            "disagreements": [{"id": i, "first": x, "second": y} for i, x, y in stated if x != y],
        }

    defined = [(k["kappa"], k["n"]) for k in keys.values() if k["kappa"] is not None and k["n"]]
    weight = sum(n for _, n in defined)
    comparisons = sum(k["n"] for k in keys.values())
    overall = {
        "kappa_weighted": (sum(kappa * n for kappa, n in defined) / weight) if weight else None,
        "identical_share": (sum(k["identical"] for k in keys.values()) / comparisons) if comparisons else None,
        "keys": len(keys),
        "comparisons": comparisons,
    }
    return {
        "pairs": ids,
        "only_first": sorted(set(a) - set(b)),
        "only_second": sorted(set(b) - set(a)),
        "keys": keys,
        "overall": overall,
    }


# --- I/O edge -------------------------------------------------------------------------------


def knowledge_bins(folder: Path | None = None) -> dict[str, list[tuple[str, float]]]:
    """The bins of every binned variable of the knowledge base's ``variables.yaml``."""
    from hepcal import yamlfile

    if folder is None:
        from importlib import resources

        folder = Path(str(resources.files("hepcal.knowledge")))
    data = yamlfile.safe_load((folder / "variables.yaml").read_text(encoding="utf-8"))
    return {
        key: [(str(name), float(lower)) for name, lower in spec["bins"]]
        for key, spec in (data.get("variables") or {}).items()
        if isinstance(spec, Mapping) and spec.get("kind") == "binned"
    }


def _read_jsonl(paths: Iterable[Path]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AgreementError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise AgreementError(f"{path}:{number}: a record must be a JSON object")
            records.append(record)
    return records


def _first_wins(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Default discovery reads the library before the older validation file, which holds some
    of the same cases in the older format: keep the first record of each id."""
    seen: set[str] = set()
    out = []
    for record in records:
        if record.get("id") not in seen:
            seen.add(record.get("id"))
            out.append(record)
    return out


def _default_first() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = sorted(here.glob("cases/*.jsonl")) + sorted(here.glob("holdout/*.jsonl"))
    validation = here.parents[2] / "validation" / "cases.jsonl"
    return found + ([validation] if validation.is_file() else [])


def _default_second() -> list[Path]:
    return sorted((Path(__file__).resolve().parent / "agreement").glob("*.jsonl"))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the agreement table; exit 2 on unreadable or unpairable input."""
    parser = argparse.ArgumentParser(
        prog="python -m hepcal.evidence.agreement",
        description="Cohen's kappa per case key between the first and the second (independent) encodings.",
    )
    parser.add_argument("--first", nargs="+", type=Path, help="JSONL files of the first encodings (default: the library's cases, hold-out and validation files)")
    parser.add_argument("--second", nargs="+", type=Path, help="JSONL files of the second encodings (default: evidence/agreement/*.jsonl)")
    parser.add_argument("--skip-unavailable", action="store_true", help="leave out cases either encoder could not read")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)

    first_paths = args.first or _default_first()
    second_paths = args.second or _default_second()
    for label, paths in (("first", first_paths), ("second", second_paths)):
        if not paths:
            print(f"error: no {label} encodings found; pass --{label} FILE.jsonl ...", file=sys.stderr)
            return 2
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            print(f"error: {label} encoding file(s) not found: {', '.join(missing)}", file=sys.stderr)
            return 2
    try:
        first_records = _read_jsonl(first_paths)
        if not args.first:
            first_records = _first_wins(first_records)
        result = agreement(first_records, _read_jsonl(second_paths), knowledge_bins(), args.skip_unavailable)
    except AgreementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
        return 0

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Agreement between encoders ({len(result['pairs'])} paired cases)")
    for column in ("key", "kappa", "raw agreement", "n stated", "identical"):
        table.add_column(column, justify="left" if column == "key" else "right")
    rows = sorted(result["keys"].items(), key=lambda kv: (kv[1]["kappa"] is None, kv[1]["kappa"] or 0.0, kv[0]))
    for key, k in rows:
        table.add_row(key, _fmt(k["kappa"]), _fmt(k["agreement"]), str(k["n"]), str(k["identical"]))
    console = Console()
    console.print(table)
    o = result["overall"]
    console.print(
        f"overall: kappa weighted by n {_fmt(o['kappa_weighted'])}; identical keys "
        f"{_fmt(o['identical_share'])} of {o['comparisons']} stated comparisons over {o['keys']} keys; "
        f"unpaired: {len(result['only_first'])} first, {len(result['only_second'])} second"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
