"""The published cases most similar to a case (``similar_cases`` of the assessment).

Every library case is turned into the same observed (variable, state) rows the engine uses, once,
into a 0/1 matrix. A state weighs its surprise under the knowledge base's population,
w = −ln P(state) with P(state) = Σ_d P(d) P(state | d): sharing a rare finding (daughter cysts)
counts far more than sharing a common one (calcification not punctate). The similarity of a
library case to the query is

    matched weight / (the query's weight + the weight of the library case's contradicting states)

where *matched* are the query's states the case shares and *contradicting* the case's states of
variables both describe differently. Findings the query does not state do not count (unknown is
not different). It lies in [0, 1]; among equally similar cases the one that states less beyond
the query comes first, then by case id, so the list is deterministic.
One query is two matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepcal.findings.model import CaseError, parse_case
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.network import Network


@dataclass(frozen=True)
class LibraryIndex:
    """The library cases as observed-state rows, with their published diagnosis and source."""

    records: tuple[dict[str, Any], ...]  # sorted by id (the last tie-break)
    rows: tuple[tuple[int, ...], ...]  # observed rows of each record, as the engine reads them
    weighted_t: np.ndarray  # (S, N): w on each case's observed rows, 0 elsewhere (row-major per state)
    by_variable_t: np.ndarray  # (V, N): the weight each case states on each variable
    stated: np.ndarray  # (N,) the total weight each case states
    weight: np.ndarray  # (S,) w of every state row
    var_of_row: np.ndarray  # (S,) index of the variable a row belongs to
    skipped: tuple[str, ...]  # ids of records whose case the contract rejects


def build_index(net: Network, records: Sequence[dict[str, Any]]) -> LibraryIndex:
    """Precompute the similarity index of ``records`` (library-format dicts) for ``net``."""
    marginal = net.table @ net.prior
    weight = -np.log(np.clip(marginal, 1e-12, 1.0))
    var_of_row = np.repeat(np.arange(len(net.variables)), np.diff(net.offsets))
    kept, rows, skipped = [], [], []
    for rec in sorted(records, key=lambda r: str(r.get("id"))):
        try:
            case = parse_case(rec["case"])
        except CaseError:
            skipped.append(str(rec.get("id")))
            continue
        kept.append(rec)
        rows.append(tuple(o.row for o in observations(case, net)))
    weighted = np.zeros((len(kept), len(weight)))
    for i, r in enumerate(rows):
        weighted[i, list(r)] = weight[list(r)]
    by_variable = np.add.reduceat(weighted, net.offsets[:-1], axis=1) if len(kept) else np.zeros((0, len(net.variables)))
    return LibraryIndex(tuple(kept), tuple(rows), np.ascontiguousarray(weighted.T), np.ascontiguousarray(by_variable.T),
                        weighted.sum(axis=1), weight, var_of_row, tuple(skipped))


def similarities(index: LibraryIndex, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Similarity in [0, 1] of every library case to a case observed in ``rows``, and the
    weight each case states beyond the query's variables (the tie-break)."""
    n = len(index.records)
    total = float(index.weight[list(rows)].sum()) if rows else 0.0
    if n == 0 or total <= 0:
        return np.zeros(n), np.zeros(n)
    r = list(rows)  # one row per observed variable, as the evidence mapping gives them
    matched = index.weighted_t[r].sum(axis=0)
    on_described = index.by_variable_t[index.var_of_row[r]].sum(axis=0)
    contradicting = on_described - matched
    return matched / (total + contradicting), index.stated - on_described


def similar_cases(index: LibraryIndex, rows: Sequence[int], names: dict[str, str], count: int = 5) -> list[dict[str, Any]]:
    """The ``count`` most similar library cases with a similarity above 0, most similar first."""
    sim, extra = similarities(index, rows)
    by_extra = np.argsort(np.round(extra, 9), kind="stable")  # records are in id order: ties keep it
    order = by_extra[np.argsort(-np.round(sim[by_extra], 9), kind="stable")]
    out = []
    for i in (int(j) for j in order[:count] if sim[j] > 0):
        rec = index.records[i]
        ids = rec.get("diagnosis", {}).get("ids") or []
        source = rec.get("source") or {}
        out.append({
            "id": rec["id"],
            "diagnosis": ids[0] if ids else None,
            "diagnosis_name": names.get(ids[0]) if ids else rec.get("diagnosis", {}).get("raw"),
            "citation": source.get("citation"),
            "url": source.get("url") or (f"https://doi.org/{source['doi']}" if source.get("doi") else None),
            "similarity": round(float(sim[i]), 4),
        })
    return out


_INDEX: dict[int, LibraryIndex] = {}


def default_index(net: Network) -> LibraryIndex:
    """The similarity index of the shipped case library for ``net``, built once."""
    index = _INDEX.get(id(net))
    if index is None:
        from hepcal.reasoning.library_index import load_records

        _INDEX.clear()
        index = _INDEX[id(net)] = build_index(net, load_records())
    return index
