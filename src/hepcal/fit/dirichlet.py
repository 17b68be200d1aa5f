"""Likelihoods as Dirichlet (Beta) posteriors: expert estimate × strength + library counts.

For a diagnosis d and a variable with states s: α_s = strength · estimate_s + count_s, and the
fitted likelihood is the posterior mean α_s / Σα. Counts come from the development cases (each
case adds one to the state it observed of every variable it states, for its first acceptable
id; a key it leaves out adds nothing) and from series counts ("k of n"). Everything is an
(S, D) array over all rows of the network at once, so a whole fit is a few matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepcal.evidence import LibraryCase, SeriesCount
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.network import Network


@dataclass(frozen=True)
class Design:
    """The library cases as arrays over the network's rows and diagnoses."""

    ids: tuple[str, ...]  # case ids
    X: np.ndarray  # (N, S) 1 where the case observed that state
    first: np.ndarray  # (N,) column of the first acceptable id, -1 when out of vocabulary
    acceptable: np.ndarray  # (N, D) bool: acceptable ids
    malignant: np.ndarray  # (N,) bool: proven malignant
    cases: tuple[LibraryCase, ...]

    def subset(self, idx: np.ndarray) -> "Design":
        return Design(tuple(self.ids[i] for i in idx), self.X[idx], self.first[idx], self.acceptable[idx],
                      self.malignant[idx], tuple(self.cases[i] for i in idx))

    @property
    def in_vocabulary(self) -> np.ndarray:
        return self.first >= 0


def design(net: Network, cases: Sequence[LibraryCase]) -> Design:
    col = {d: j for j, d in enumerate(net.ids)}
    X = np.zeros((len(cases), net.table.shape[0]))
    first = np.full(len(cases), -1)
    acceptable = np.zeros((len(cases), len(net.ids)), dtype=bool)
    for i, c in enumerate(cases):
        rows = [o.row for o in observations(c.case, net)]
        X[i, rows] = 1.0
        known = [col[d] for d in c.ids if d in col]
        if known:
            first[i] = known[0] if c.ids[0] in col else -1
            acceptable[i, known] = True
    malignant = np.array([c.record.diagnosis.malignant for c in cases], dtype=bool)
    return Design(tuple(c.id for c in cases), X, first, acceptable, malignant, tuple(cases))


def case_counts(net: Network, d: Design) -> np.ndarray:
    """(S, D) how many in-vocabulary cases of each diagnosis observed each state."""
    keep = d.first >= 0
    Y = np.zeros((int(keep.sum()), len(net.ids)))
    Y[np.arange(Y.shape[0]), d.first[keep]] = 1.0
    return d.X[keep].T @ Y


#: Findings whose series counts do not enter the likelihoods. "Calcification in k of n cases of
#: a diagnosis" counts every case of that diagnosis, calcified or not; the knowledge base's
#: priors are already frequencies among calcified liver findings, so how often a diagnosis
#: calcifies is in its prior, and counting it again as P(calcified | diagnosis) would penalise
#: rarely calcifying diagnoses twice. Such counts stay in the library as documentation.
PRIOR_LEVEL_FINDINGS = frozenset({"finding.calcified"})


def series_counts(net: Network, series: Sequence[SeriesCount]) -> np.ndarray:
    """(S, D) counts from "k of n": k to the named state, n − k to its siblings.

    For a binary variable the siblings are the one other state. For a variable with more
    states, "not this state" is spread over the others in proportion to the expert estimate
    (the expected counts of an incomplete observation). Several states of one variable counted
    in the same patients (one source, one diagnosis: "cystic 5, solid 6, mixed 2 of 13") are
    one observation of those n patients, not one per state: each named state gets its k, and
    only the patients in no named state are spread over the unnamed states.
    """
    col = {d: j for j, d in enumerate(net.ids)}
    counts = np.zeros_like(net.table)
    for (finding, j), named, n in _observations(net, series, col):
        v = net.var_index[finding]
        lo, hi = net.offsets[v], net.offsets[v + 1]
        for r, k in named.items():
            counts[r, j] += k
        others = [x for x in range(lo, hi) if x not in named]
        rest = max(n - sum(named.values()), 0)
        if not others or rest == 0:
            continue
        weights = net.estimate_table[others, j]
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(others), 1 / len(others))
        counts[others, j] += rest * weights
    return counts


def _observations(net: Network, series: Sequence[SeriesCount], col: dict[str, int]):
    """Group the counts that describe the same patients: same source, diagnosis, finding and n.

    Yields ((finding, column), {row: k}, n). A state named again within such a group belongs to
    another group of patients of the same size (e.g. "solitary in 33 of 38 non-cirrhotic and 14
    of 38 cirrhotic livers"), so it opens a new observation rather than replacing the first.
    """
    groups: dict[tuple, list[dict[int, int]]] = {}
    for s in series:
        j = col.get(s.diagnosis)
        if j is None or s.finding in PRIOR_LEVEL_FINDINGS:
            continue
        where = s.source.doi or s.source.url or s.source.citation
        r = net.row(s.finding, s.state)
        observations = groups.setdefault((s.finding, j, where, s.n), [])
        free = next((o for o in observations if r not in o), None)
        if free is None:
            free = {}
            observations.append(free)
        free[r] = s.k
    for (finding, j, _, n), observations in groups.items():
        for named in observations:
            yield (finding, j), named, n


def alpha(net: Network, counts: np.ndarray, strength: float) -> np.ndarray:
    return strength * net.estimate_table + counts
