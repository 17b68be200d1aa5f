"""The recommendation as an ordered plan: steps, each with its reason and what leads on.

Steps come from data only: the leading diagnosis's ``management.steps`` (or one step of its
action), the policy's generic steps (doubtful biopsy, malignancy work-up, contrast imaging before
a needle), the must-not-miss rules of ``policy.yaml`` and each not-to-be-punctured diagnosis's
``management.exclude``. This module orders them (``plan.rank``; an exclusion or characterisation
step always before a needle), merges neighbours that share an action and fills in ``then``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hepcal.findings.contract import contract
from hepcal.knowledge.schema import PlanStep
from hepcal.reasoning import conditions


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    text: str
    reason: str
    then: str | None = None
    origin: str = ""  # which policy step or rule contributed it (rule ids, "exclude:<id>", ...)
    before_needle: bool = False
    cites: frozenset[str] = field(default_factory=frozenset)  # case keys the reason relies on
    only_if_missing: bool = False

    def to_dict(self, number: int) -> dict:
        return {"step": number, "action": self.action, "text": self.text, "reason": self.reason, "then": self.then}


def from_data(step: PlanStep, reason: str, origin: str, *, before_needle: bool = False, cites: Iterable[str] = ()) -> Step:
    return Step(step.action, step.text, reason, step.then, origin, before_needle, frozenset(cites), step.only_if_missing)


def order(steps: Sequence[Step], rank: dict[str, int], needles: Iterable[str], then_default: str) -> list[Step]:
    """Sort by action rank (stable), exclusion steps before any needle; merge neighbours with
    one action; the last step leads nowhere (``then`` is None) and every other step leads on
    (its own ``then``, else ``then_default``)."""
    needle_rank = min((rank.get(a, 99) for a in needles), default=99)

    def key(s: Step) -> float:
        r = rank.get(s.action, 99)
        return min(r, needle_rank - 0.5) if s.before_needle else r

    merged: list[Step] = []
    for s in sorted(steps, key=key):
        if merged and merged[-1].action == s.action:
            last = merged[-1]
            text = last.text if s.text in last.text else f"{last.text} {s.text}"
            reason = last.reason if s.reason in last.reason else f"{last.reason} {s.reason}"
            then = "; ".join(x for x in dict.fromkeys((last.then, s.then)) if x) or None
            merged[-1] = Step(s.action, text, reason, then, f"{last.origin}+{s.origin}",
                              last.before_needle or s.before_needle, last.cites | s.cites)
        else:
            merged.append(s)
    out = []
    for i, s in enumerate(merged):
        then = None if i == len(merged) - 1 else (s.then or then_default)
        out.append(Step(s.action, s.text, s.reason, then, s.origin, s.before_needle, s.cites, s.only_if_missing))
    return out


def entered(keys: Iterable[str], facts: conditions.Facts) -> str:
    """Entered case keys in words, e.g. "Known primary cancer: thyroid; Number: multiple"."""
    fields = contract().fields
    out = []
    for k in keys:
        v = facts.case.get(k)
        words = ", ".join(map(str, v)) if isinstance(v, list) else {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)
        out.append(f"{fields[k].label}: {str(words).replace('_', ' ')}")
    return "; ".join(out)


def must_not_miss(policy, facts: conditions.Facts) -> tuple[list[Step], set[str], list[str]]:  # noqa: ANN001
    """Steps forced by the rules whose condition holds, the actions they forbid, and their ids."""
    steps: list[Step] = []
    forbidden: set[str] = set()
    fired: list[str] = []
    for rule in policy.must_not_miss:
        if not conditions.holds(rule.when, facts):
            continue
        fired.append(rule.id)
        forbidden |= set(rule.forbid)
        cites = conditions.cited_keys(rule.when, facts)
        reason = rule.reason
        if cites:
            reason = policy.texts["rule_findings"].format(findings=entered(sorted(cites), facts)) + " " + reason
        steps += [from_data(s, reason, f"must_not_miss:{rule.id}", cites=cites) for s in rule.steps]
    return steps, forbidden, fired
