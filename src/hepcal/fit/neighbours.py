"""How far the "published cases like this one" can be trusted: leave-one-out over the library.

Every assessment lists the library cases most similar to it (``similar_cases``). A reader takes
their proven diagnoses as evidence, so the measure is how often they hold the right one: for
each development case with a diagnosis in the vocabulary, the other development cases are ranked
by the similarity the assessment uses, leaving out the case itself and every other patient of the
same publication (a series' patients resemble each other for reasons that do not carry over to a
new patient), and the first ``count`` are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepcal.evidence import LibraryCase
from hepcal.reasoning import similar
from hepcal.reasoning.network import Network


def _publication(record: dict[str, Any]) -> str:
    source = record.get("source") or {}
    return str(source.get("doi") or source.get("url") or source.get("citation"))


def similar_case_agreement(net: Network, cases: Sequence[LibraryCase], count: int = 5) -> dict[str, Any]:
    """The share of in-vocabulary cases whose most similar other case, and whose ``count`` most
    similar other cases, include an acceptable diagnosis of the case."""
    index = similar.build_index(net, [c.record.model_dump(mode="json") for c in cases])
    acceptable = {c.id: set(c.ids) for c in cases}
    publication = np.array([_publication(r) for r in index.records], dtype=object)
    nearest = any_of = scored = 0
    for k, record in enumerate(index.records):
        truth = acceptable.get(record["id"])
        if not truth:
            continue
        sim, extra = similar.similarities(index, index.rows[k])
        sim = np.where(publication == publication[k], -1.0, sim)  # itself and its own publication
        shown = [j for j in similar.top(sim, extra, count) if sim[j] > 0]  # as similar_cases shows them
        found = [bool(truth & set(index.records[j]["diagnosis"]["ids"])) for j in shown]
        scored += 1
        nearest += bool(found and found[0])
        any_of += any(found)
    return {
        "cases": scored,
        "count": count,
        "nearest_shares_diagnosis": nearest / scored if scored else None,
        "any_shares_diagnosis": any_of / scored if scored else None,
    }
