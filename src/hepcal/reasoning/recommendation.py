"""The recommendation: an ordered plan with its reasons and cautions, from the policy file.

Nothing here knows a diagnosis by name: the thresholds, generic steps and must-not-miss rules
come from ``policy.yaml`` and the steps, exclusion steps, puncture advice, cautions and next tests
from each diagnosis's file, so the behaviour can be read (and changed) in data. Every reason is
either about the posterior or gated by a condition on entered findings (``when``), so it never
cites a finding the case lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepcal.findings.contract import contract
from hepcal.knowledge.schema import PlanStep
from hepcal.reasoning import conditions
from hepcal.reasoning.evidence import Observation
from hepcal.reasoning.network import Network, per_network
from hepcal.reasoning.plan import Step, from_data, must_not_miss, order
from hepcal.reasoning.shown import Shown

FINDINGS_NAMED = 3  # entered findings named in the "findings for" reason
SHOWN = 0.05  # as in explanation: a weight below this does not argue for anything


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: str
    reasons: list[str]
    cautions: list[str]
    rule: str  # which step of the policy decided the first action
    next_tests: list[str] = field(default_factory=list)
    plan: list[Step] = field(default_factory=list)
    must_not_miss: list[str] = field(default_factory=list)  # ids of the rules that fired
    cited: list[frozenset[str]] = field(default_factory=list)  # case keys each reason relies on

    def to_dict(self) -> dict:
        return {"action": self.action, "reasons": list(self.reasons), "cautions": list(self.cautions),
                "rule": self.rule, "next_tests": list(self.next_tests),
                "plan": [s.to_dict(i) for i, s in enumerate(self.plan, start=1)],
                "must_not_miss": list(self.must_not_miss)}


@dataclass(frozen=True)
class _Diagnoses:
    """What the plan reads of every diagnosis, in the network's order."""

    actions: tuple[str, ...]  # management action
    avoid: tuple[int, ...]  # puncture advice "avoid"
    careful: tuple[int, ...]  # puncture with caution, with a step to take before a needle


@per_network
def _diagnoses(net: Network) -> _Diagnoses:
    ds = net.kb.diagnoses
    return _Diagnoses(tuple(d.management.action for d in ds),
                      tuple(i for i, d in enumerate(ds) if d.puncture.advice == "avoid"),
                      tuple(i for i, d in enumerate(ds) if d.puncture.advice == "caution" and d.management.exclude))


def is_doubtful(net: Network, post: np.ndarray) -> bool:
    """Doubtful when no diagnosis reaches the policy's confidence level."""
    return bool(post.max() < net.kb.policy.confident_probability.value)


def _covering(post: np.ndarray, mass: float) -> list[int]:
    """Indices of the most probable diagnoses that together reach ``mass``."""
    order_ = (-post).argsort()
    cum = post[order_].cumsum()
    k = int(cum.searchsorted(mass)) + 1
    return [int(i) for i in order_[:k]]


def describe(obs: Observation) -> str:
    """An entered finding in words: the contract's label and the entered value."""
    key, _, value = obs.label.replace("≠", "=").partition("=")
    label = contract().fields[key].label if key in contract().fields else key
    if "≠" in obs.label:
        return f"{label}: not {value.replace('_', ' ')}"
    value = {"true": "yes", "false": "no"}.get(value, value.replace("_", " "))
    return f"{label}: {value}"


def _findings_for(net: Network, obs: Sequence[Observation], d: int) -> tuple[list[str], frozenset[str]]:
    """The entered findings (not implied negatives) that argue most for diagnosis ``d``."""
    if not obs:
        return [], frozenset()
    w = net.weight_table[[o.row for o in obs], d]
    values = w.tolist()
    picked = [i for i in (-w).argsort(kind="stable").tolist() if values[i] >= SHOWN and "≠" not in obs[i].label][:FINDINGS_NAMED]
    row_keys = net.row_keys
    keys = frozenset(k for i in picked for k in (obs[i].keys or (row_keys[obs[i].row],)))
    return [describe(obs[i]) for i in picked], keys


def _default_steps(d, t: Mapping[str, str]) -> list[PlanStep]:  # noqa: ANN001 - d: a Diagnosis
    """A diagnosis's own plan: its ``management.steps``, else one step of its action."""
    if d.management.steps:
        return list(d.management.steps)
    return [PlanStep(action=d.management.action, text=t[f"step.{d.management.action}"].format(name=d.name))]


MORE_LIKELY_THAN_NOT = 0.5  # the wording's own boundary, not a clinical threshold


def say(texts: Mapping[str, str], key: str, **values: Any) -> str:
    """A policy text filled in, its probabilities shown as :class:`Shown`."""
    return texts[key].format(**{k: Shown(v) if isinstance(v, (float, np.floating)) else v for k, v in values.items()})


def recommend(net: Network, post: np.ndarray, malignancy: float, *, case: Any = None,
              observations: Sequence[Observation] = (),
              malignancy_interval: Sequence[float] | None = None) -> Recommendation:
    """The plan for one case. ``malignancy_interval`` (90 % interval of P(malignant)), when
    given, makes "malignancy cannot be excluded" read its upper bound."""
    kb = net.kb
    pol = kb.policy
    t = pol.texts
    upper = float(malignancy_interval[1]) if malignancy_interval is not None else malignancy
    facts = conditions.Facts(conditions.entered(case) if case is not None else {}, dict(zip(net.ids, post.tolist())), upper)
    known = _diagnoses(net)
    top = int(post.argmax())
    lead = kb.diagnoses[top]
    reasons: list[tuple[str, frozenset[str]]] = []
    own: list[tuple[str, frozenset[str]]] = []  # the leader's own reasons, shown if its management stays
    none: frozenset[str] = frozenset()

    def add(text: str, cites: frozenset[str] = none) -> None:
        if all(text != r for r, _ in reasons):
            reasons.append((text, cites))

    named, named_keys = _findings_for(net, observations, top)
    if not is_doubtful(net, post):
        rule = "confident_diagnosis"
        add(say(t, "confident", name=lead.name, probability=post[top]))
        if named:
            add(say(t, "findings_for", name=lead.name, findings="; ".join(named)), named_keys)
        own = [(r.text, frozenset(conditions.cited_keys(r.when, facts))) for r in lead.management.reasons if _applies(r, facts)]
        why = say(t, "step_reason_confident", name=lead.name, probability=post[top])
        steps = [from_data(s, why, "confident_diagnosis") for s in _default_steps(lead, t)]
    else:
        add(say(t, "doubtful", name=lead.name, probability=post[top]))
        if named:
            add(say(t, "findings_for", name=lead.name, findings="; ".join(named)), named_keys)
        likely = _covering(post, pol.same_management_probability.value)
        actions = {kb.diagnoses[i].management.action for i in likely}
        if len(actions) == 1:
            action = actions.pop()
            rule = "doubtful_same_management"
            names = ", ".join(kb.diagnoses[i].name for i in likely)
            add(say(t, "same_management", names=names, action_words=t[f"actions.{action}"]))
            why = say(t, "step_reason_same_management", names=names, action_words=t[f"actions.{action}"])
            steps = [from_data(PlanStep(action=action, text=t[f"step.{action}"].format(name=names)), why, rule)]
        elif pol.doubt_needle_malignancy is not None and upper < pol.doubt_needle_malignancy.value:
            # Doubt among diagnoses that malignancy is not among (to the upper bound): imaging
            # settles it, a needle would not change what is done (policy.yaml, measured).
            rule = "doubtful_no_needle"
            add(say(t, "doubtful_no_needle", upper=upper))
            why = say(t, "step_reason_doubtful_no_needle", name=lead.name, probability=post[top], upper=upper)
            characterise = conditions.holds(pol.plan.characterise_when, facts)
            steps = [from_data(pol.plan.steps["characterise" if characterise else "doubtful_follow_up"], why, rule)]
        else:
            rule = "doubtful_biopsy_offered"
            add(t["biopsy_offered"])
            why = say(t, "step_reason_doubtful", name=lead.name, probability=post[top])
            steps = [from_data(pol.plan.steps["doubtful_biopsy"], why, rule)]

    level = pol.malignancy_not_excluded.value
    lower = float(malignancy_interval[0]) if malignancy_interval is not None else malignancy
    if malignancy >= MORE_LIKELY_THAN_NOT:  # "cannot be excluded" would understate it
        key = "malignancy_likely_interval" if malignancy_interval is not None else "malignancy_likely"
        add(say(t, key, malignancy=malignancy, upper=upper, lower=lower))
    elif upper >= level:
        key = "malignancy_not_excluded_interval" if malignancy_interval is not None else "malignancy_not_excluded"
        add(say(t, key, malignancy=malignancy, upper=upper, lower=lower))
    else:
        add(say(t, "malignancy_low", malignancy=malignancy))

    base_actions = {s.action for s in steps}
    if not base_actions & set(pol.malignancy_work_up_actions) and upper >= level:
        # Malignancy the chosen management does not address: that of the diagnoses whose own
        # management is another action (a treated tumour followed by imaging addresses itself).
        elsewhere = np.array([a not in base_actions for a in known.actions])
        unaddressed = float(post[elsewhere] @ net.malignant[elsewhere])
        if malignancy_interval is not None and malignancy > 0:
            unaddressed *= upper / malignancy  # the same share of the upper bound
        if unaddressed >= level:
            words = t[f"actions.{steps[0].action}"]
            text = say(t, "malignancy_work_up", malignancy=unaddressed, action_words=words)
            add(text)
            rule = "malignancy_not_excluded"
            steps = [from_data(pol.plan.steps["malignancy_work_up"], text, rule)]

    needles = set(pol.plan.needle_actions)
    needle_asked = any(s.action in needles for s in steps)
    caution = pol.caution_probability.value
    avoid = [i for i in known.avoid if post[i] >= caution]
    if avoid and post[avoid].sum() >= pol.avoid_puncture_probability.value:
        # Diagnoses that must not be punctured hold the case: the decision's own needle goes
        # (a needle a must-not-miss rule asks for below, after its imaging, stays).
        if any(s.action in needles for s in steps):
            names = ", ".join(kb.diagnoses[i].name for i in sorted(avoid, key=lambda j: -post[j]))
            add(say(t, "needle_withheld", names=names, probability=float(post[avoid].sum())))
        steps = [s for s in steps if s.action not in needles]

    forced, forbidden, fired = must_not_miss(pol, facts)
    for s in forced:
        add(s.reason, s.cites)
    steps = [s for s in steps if s.action not in forbidden]
    planned = {s.action for s in steps}
    steps += [s for s in forced if s.action not in forbidden and not (s.only_if_missing and s.action in planned)]

    if needle_asked or any(s.action in needles for s in steps):
        # Diagnoses punctured only with caution that name a step to take first (MRI before a
        # needle into a possible haemangioma or adenoma) get it too.
        careful = [i for i in known.careful if post[i] >= caution]
        for i in sorted(avoid + careful, key=lambda j: -post[j]):
            d = kb.diagnoses[i]
            text = say(t, "exclude_before_needle", name=d.name, probability=post[i])
            add(text)
            ex = d.management.exclude
            if ex is None:
                route = d.puncture.safe_route or "specialist_referral"
                ex = PlanStep(action=route, text=t[f"step.{route}"].format(name=d.name))
            steps.append(from_data(ex, text, f"exclude:{d.id}", before_needle=True))
        char = pol.plan.steps["characterise"]
        if (any(s.action in needles for s in steps) and conditions.holds(pol.plan.characterise_when, facts)
                and not any(s.action == char.action for s in steps if s.action not in needles)):
            add(t["step_reason_characterise"])
            steps.append(from_data(char, t["step_reason_characterise"], "characterise", before_needle=True))

    if not steps:  # rules that forbid every step offered: the case goes to a specialist
        steps = [from_data(PlanStep(action="specialist_referral", text=say(t, "step.specialist_referral", name=lead.name)),
                           say(t, "doubtful", name=lead.name, probability=post[top]), "fallback")]
    plan = order(steps, pol.plan.rank, needles, t["then_default"])
    if not any(s.action in needles for s in plan):
        # A rule or a diagnosis that must not be punctured took the offered biopsy out: its
        # offer no longer holds (the reason that took it out is given instead).
        reasons[:] = [r for r in reasons if r[0] != t["biopsy_offered"]]
    if lead.management.action in {s.action for s in plan}:
        at = 2 if len(reasons) > 1 else len(reasons)
        reasons[at:at] = [r for r in own if r not in reasons]
    first = plan[0]
    if first.origin.startswith("must_not_miss:"):
        rule = first.origin.split("+")[0]
    elif first.origin.startswith("exclude:"):
        rule = "puncture_avoided"

    cautions: list[str] = []
    next_tests: list[str] = []
    p = post.tolist()
    for i in (-post).argsort().tolist():
        if p[i] < caution:
            break
        d = kb.diagnoses[i]
        for c in d.cautions:
            if c.text not in cautions and _applies(c, facts):
                cautions.append(c.text)
        for n in d.next_tests:
            if n.text not in next_tests and _applies(n, facts):
                next_tests.append(n.text)
    return Recommendation(first.action, [r for r, _ in reasons], cautions, rule, next_tests, plan, fired,
                          [c for _, c in reasons])


def _applies(item, facts: conditions.Facts) -> bool:  # noqa: ANN001 - a Cited
    return conditions.holds(item.when, facts) and not (item.unless and conditions.holds(item.unless, facts))


def applies(item, case: Mapping[str, Any]) -> bool:  # noqa: ANN001
    """Whether a conditioned sentence (reason, caution, next test) applies to an entered case."""
    return _applies(item, conditions.Facts(conditions.flatten(case)))


INVASIVE = ("biopsy", "surgical_referral")


def most_invasive(rec: Recommendation) -> str:
    """The plan's needle or surgery if any step (even a conditional one) takes it, else its first action.

    What validation counts as "sent to a needle or surgery": a plan that reaches a biopsy after
    serology or MRI still sends the patient towards one.
    """
    return next((step.action for step in rec.plan if step.action in INVASIVE), rec.action)
