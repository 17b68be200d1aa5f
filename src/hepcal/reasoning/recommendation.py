"""The recommendation: an action with its reasons and cautions, from the policy file.

Nothing here knows a diagnosis by name: the thresholds come from ``policy.yaml`` and the
actions, puncture advice and cautions from each diagnosis's file, so the behaviour can be read
(and changed) in data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hepcal.reasoning.network import Network


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: str
    reasons: list[str]
    cautions: list[str]
    rule: str  # which step of the policy decided the action
    next_tests: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"action": self.action, "reasons": list(self.reasons), "cautions": list(self.cautions),
                "rule": self.rule, "next_tests": list(self.next_tests)}


def is_doubtful(net: Network, post: np.ndarray) -> bool:
    """Doubtful when no diagnosis reaches the policy's confidence level."""
    return bool(post.max() < net.kb.policy.confident_probability.value)


def _covering(post: np.ndarray, mass: float) -> list[int]:
    """Indices of the most probable diagnoses that together reach ``mass``."""
    order = np.argsort(-post)
    cum = np.cumsum(post[order])
    k = int(np.searchsorted(cum, mass)) + 1
    return [int(i) for i in order[:k]]


def recommend(net: Network, post: np.ndarray, malignancy: float) -> Recommendation:
    kb = net.kb
    pol = kb.policy
    t = pol.texts
    top = int(np.argmax(post))
    lead = kb.diagnoses[top]
    reasons: list[str] = []
    if not is_doubtful(net, post):
        action, rule = lead.management.action, "confident_diagnosis"
        reasons.append(t["confident"].format(name=lead.name, probability=post[top]))
        reasons += [r.text for r in lead.management.reasons]
    else:
        reasons.append(t["doubtful"].format(name=lead.name, probability=post[top]))
        likely = _covering(post, pol.same_management_probability.value)
        actions = {kb.diagnoses[i].management.action for i in likely}
        if len(actions) == 1:
            action, rule = actions.pop(), "doubtful_same_management"
            names = ", ".join(kb.diagnoses[i].name for i in likely)
            reasons.append(t["same_management"].format(names=names, action_words=t[f"actions.{action}"]))
        else:
            action, rule = "biopsy", "doubtful_biopsy_offered"
            reasons.append(t["biopsy_offered"])
    key = "malignancy_not_excluded" if malignancy >= pol.malignancy_not_excluded.value else "malignancy_low"
    reasons.append(t[key].format(malignancy=malignancy))

    if action not in pol.malignancy_work_up_actions and malignancy >= pol.malignancy_not_excluded.value:
        # Malignancy the chosen management does not address: that of the diagnoses whose own
        # management is another action (a treated tumour followed by imaging addresses itself).
        # It is part of P(malignant), so it is only weighed when P(malignant) reaches the level.
        elsewhere = np.array([d.management.action != action for d in kb.diagnoses])
        unaddressed = float(post[elsewhere] @ net.malignant[elsewhere])
        if unaddressed >= pol.malignancy_not_excluded.value:
            reasons.append(t["malignancy_work_up"].format(malignancy=unaddressed, action_words=t[f"actions.{action}"]))
            action, rule = "biopsy", "malignancy_not_excluded"

    if action == "biopsy":
        avoid = [i for i, d in enumerate(kb.diagnoses) if d.puncture.advice == "avoid"]
        if avoid and post[avoid].sum() >= pol.avoid_puncture_probability.value:
            i = max(avoid, key=lambda j: post[j])
            d = kb.diagnoses[i]
            action, rule = d.puncture.safe_route or "specialist_referral", "puncture_avoided"
            words = t[f"actions.{action}"]
            reasons.append(t["puncture_replaced"].format(name=d.name, probability=post[i], safe_route_words=words))

    cautions: list[str] = []
    next_tests: list[str] = []
    for i in np.argsort(-post):
        if post[i] < pol.caution_probability.value:
            break
        d = kb.diagnoses[i]
        for c in d.cautions:
            if c.text not in cautions:
                cautions.append(c.text)
        for n in d.next_tests:
            if n.text not in next_tests:
                next_tests.append(n.text)
    return Recommendation(action, reasons, cautions, rule, next_tests)
