"""The textbook-list baseline: an ordered differential per calcification pattern plus rules of thumb.

It is what a reader gets from a review article's table (``textbook.yaml`` cites each list), and
is scored on the same folds as the engine. It ranks diagnoses; its probabilities are a fixed,
near-uniform spread over the ranking (``LISTED_MASS`` over the listed diagnoses and the rest
over the others, each in proportion to 1 / rank), so its log loss and calibration can be
compared but say little. Its action: a needle when a malignant diagnosis ranks in its first
three, otherwise the leading diagnosis's management.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from hepcal import yamlfile
from hepcal.errors import KnowledgeBaseError
from hepcal.knowledge import KnowledgeBase

LISTED_MASS = 0.9
_CFG = ConfigDict(extra="forbid", frozen=True)


class Condition(BaseModel):
    model_config = _CFG
    key: str
    is_: Any = None
    not_: Any = None
    has: str | None = None
    below: float | None = None

    def holds(self, flat: dict[str, Any]) -> bool:
        v = flat.get(self.key)
        if v is None:
            return False
        if self.has is not None:
            return isinstance(v, list) and self.has in v
        if self.below is not None:
            return float(v) < self.below
        if self.not_ is not None:
            return v != self.not_
        return v == self.is_


class Rule(BaseModel):
    model_config = _CFG
    when: tuple[Condition, ...]
    promote: tuple[str, ...]
    src: tuple[str, ...]
    note: str = ""


class PatternList(BaseModel):
    model_config = _CFG
    order: tuple[str, ...]
    src: tuple[str, ...]


class Textbook(BaseModel):
    model_config = _CFG
    lists: dict[str, PatternList]
    rules: tuple[Rule, ...]


def _rename(raw: Any) -> Any:
    """YAML keys `is` / `not` are Python keywords: map them onto the model's field names."""
    for rule in raw.get("rules", []):
        rule["when"] = [{("is_" if k == "is" else "not_" if k == "not" else k): v for k, v in c.items()} for c in rule["when"]]
    return raw


@lru_cache(maxsize=1)
def textbook() -> Textbook:
    raw = yamlfile.safe_load(resources.files("hepcal.fit").joinpath("textbook.yaml").read_text("utf-8"))
    try:
        return Textbook.model_validate(_rename(raw))
    except ValidationError as exc:
        raise KnowledgeBaseError([f"fit/textbook.yaml: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None


def check(kb: KnowledgeBase) -> list[str]:
    """Every id a diagnosis of the knowledge base, every source a reference of it."""
    tb = textbook()
    problems = []
    for name, pl in tb.lists.items():
        problems += [f"textbook.yaml: lists.{name}: unknown diagnosis {d!r}" for d in pl.order if d not in kb.ids]
        problems += [f"textbook.yaml: lists.{name}: unknown reference {s!r}" for s in pl.src if s not in kb.references]
    for i, r in enumerate(tb.rules, 1):
        problems += [f"textbook.yaml: rule {i}: unknown diagnosis {d!r}" for d in r.promote if d not in kb.ids]
        problems += [f"textbook.yaml: rule {i}: unknown reference {s!r}" for s in r.src if s not in kb.references]
    return problems


@dataclass(frozen=True)
class BaselineResult:
    order: tuple[int, ...]  # diagnosis columns, best first
    probs: np.ndarray  # (D,)
    p_malignant: float
    action: str


def rank(case_dict: dict[str, Any], kb: KnowledgeBase) -> BaselineResult:
    """The baseline's differential for one case (a case in the contract's dict form)."""
    tb = textbook()
    flat = {f"{s}.{k}": v for s, keys in case_dict.items() for k, v in keys.items()}
    ids = list(kb.ids)
    patterns = [p for p in (flat.get("finding.calcification") or []) if p in tb.lists] or ["unstated"]
    order: list[str] = []
    lists = [tb.lists[p].order for p in patterns]
    for pos in range(max(len(x) for x in lists)):  # several patterns: interleave their lists
        for lst in lists:
            if pos < len(lst) and lst[pos] not in order:
                order.append(lst[pos])
    for rule in tb.rules:
        if all(c.holds(flat) for c in rule.when):
            order = [d for d in rule.promote if d in ids] + [d for d in order if d not in rule.promote]
    listed = [ids.index(d) for d in order if d in ids]
    prior = np.array([d.prior.p for d in kb.diagnoses])
    rest = [j for j in np.argsort(-prior, kind="stable").tolist() if j not in listed]
    probs = np.zeros(len(ids))
    w = 1.0 / np.arange(1, len(listed) + 1)
    probs[listed] = LISTED_MASS * w / w.sum()
    if rest:  # the others in order of their population prior, each below every listed one
        wr = 1.0 / np.arange(len(listed) + 1, len(listed) + 1 + len(rest))
        probs[rest] = (1.0 - LISTED_MASS) * wr / wr.sum()
    probs /= probs.sum()
    malignant = np.array([d.malignant.p for d in kb.diagnoses])
    full = tuple(listed + rest)
    return BaselineResult(full, probs, float(probs @ malignant), action_of(full, kb))


def action_of(order: Sequence[int], kb: KnowledgeBase) -> str:
    """A ranked list's plan: a needle when a malignant diagnosis ranks in the first three,
    otherwise the leading diagnosis's management (the rule of thumb a list reader follows)."""
    if any(kb.diagnoses[j].malignant.p >= 0.5 for j in order[:3]):
        return "biopsy"
    return kb.diagnoses[order[0]].management.action
