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
from functools import cached_property
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

    @cached_property
    def shown(self) -> tuple[tuple[Any, ...], ...]:
        """What similar_cases shows of each record, read once."""
        return tuple(_shown(rec) for rec in self.records)


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
    total = float(index.weight.take(list(rows)).sum()) if rows else 0.0
    if n == 0 or total <= 0:
        return np.zeros(n), np.zeros(n)
    r = list(rows)  # one row per observed variable, as the evidence mapping gives them
    matched = np.add.reduce(index.weighted_t.take(r, axis=0), axis=0)
    on_described = np.add.reduce(index.by_variable_t.take(index.var_of_row.take(r), axis=0), axis=0)
    contradicting = on_described - matched
    return matched / (total + contradicting), index.stated - on_described


def _shown(rec: dict[str, Any]) -> tuple[Any, ...]:
    """(id, has diagnosis ids, first id, raw wording, citation, url) of a record, as similar_cases shows them."""
    ids = rec.get("diagnosis", {}).get("ids") or []
    source = rec.get("source") or {}
    url = source.get("url") or (f"https://doi.org/{source['doi']}" if source.get("doi") else None)
    return (rec["id"], bool(ids), ids[0] if ids else None, rec.get("diagnosis", {}).get("raw"),
            _without_trailing(source.get("citation"), url), url)


def _without_trailing(citation: str | None, url: str | None) -> str | None:
    """The citation without the address it ends with when that address is the ``url`` shown
    beside it (some citations were written with their link; every reader printed it twice)."""
    if not citation or not url:
        return citation
    text = citation.rstrip().rstrip(".").rstrip()
    return text[: -len(url)].rstrip().rstrip(".,;") + "." if text.endswith(url) and len(text) > len(url) else citation


def top(sim: np.ndarray, extra: np.ndarray, count: int) -> list[int]:
    """The ``count`` first indices ordered by rounded similarity (highest first), then rounded
    extra weight (lowest first), then index: only the cases that can reach the first ``count``
    places are sorted (those at least as similar as the count-th most similar)."""
    s = sim.round(9)
    n = len(s)
    s_list = s.tolist()
    if n > count:
        floor = np.partition(s, n - count)[n - count]
        chosen = np.flatnonzero(s >= floor).tolist()
    else:
        chosen = list(range(n))
    e = extra[chosen].round(9).tolist()
    ranked = sorted(range(len(chosen)), key=lambda k: (-s_list[chosen[k]], e[k], chosen[k]))
    return [chosen[k] for k in ranked[:count]]


def similar_cases(index: LibraryIndex, rows: Sequence[int], names: dict[str, str], count: int = 5) -> list[dict[str, Any]]:
    """The ``count`` most similar library cases with a similarity above 0, most similar first."""
    sim, extra = similarities(index, rows)
    shown = index.shown
    out = []
    for i in top(sim, extra, count):
        value = float(sim[i])
        if not value > 0:
            continue
        rid, has_ids, diagnosis, raw, citation, url = shown[i]
        out.append({
            "id": rid,
            "diagnosis": diagnosis,
            "diagnosis_name": names.get(diagnosis) if has_ids else raw,
            "citation": citation,
            "url": url,
            "similarity": round(value, 4),
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
