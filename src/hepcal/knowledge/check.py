"""Semantic validation of a knowledge base (``hepcal kb check``, and at every load).

Rules: every probability in (0, 1) (a zero only with a written reason), every state in the
vocabulary, every number sourced or marked ``estimate``, every reference resolvable, every
contract diagnosis present and complete, every action one of the contract's.
"""

from __future__ import annotations

from collections.abc import Iterable

from hepcal.findings.contract import contract
from hepcal.knowledge.schema import Cited, Likelihood, Probability, Sourced

# Variables every diagnosis must state itself (no default): the core of pattern recognition.
REQUIRED_OWN = ("finding.calcification", "finding.lesion", "finding.count")
TOLERANCE = 0.02


def _sources(where: str, item: Sourced | Cited, refs: dict, problems: list[str]) -> None:
    if not item.src and not item.estimate:
        problems.append(f"{where}: has no source; give src: [key] or mark estimate: true")
    for key in item.src:
        if key not in refs:
            problems.append(f"{where}: reference {key!r} is not in references/")


def _likelihood(where: str, spec: Likelihood, states: tuple[str, ...], refs: dict, problems: list[str]) -> None:
    _sources(where, spec, refs, problems)
    if spec.p is not None:
        if len(states) != 2:
            problems.append(f"{where}: p is for true/false variables; this one has states {', '.join(states)} (use dist)")
            return
        values = {"true": spec.p}
    else:
        assert spec.dist is not None
        values = dict(spec.dist)
        unknown = [s for s in values if s not in states]
        if unknown:
            problems.append(f"{where}: unknown state(s) {', '.join(unknown)}; allowed: {', '.join(states)}")
        total = sum(values.values())
        if len(values) == len(states) and abs(total - 1.0) > TOLERANCE:
            problems.append(f"{where}: probabilities sum to {total:.3f}, not 1")
        elif len(values) < len(states) and total > 1.0 + 1e-9:
            problems.append(f"{where}: named states already sum to {total:.3f} > 1, nothing left for the others")
        elif len(values) < len(states) and 1.0 - total < 1e-6 and not spec.why:
            problems.append(f"{where}: named states sum to 1, so the unnamed ones get 0; name them or explain with why")
    for state, prob in values.items():
        if prob < 0 or prob > 1:
            problems.append(f"{where}: P({state}) = {prob} is outside [0, 1]")
        elif prob in (0.0, 1.0) and not spec.why:
            problems.append(f"{where}: P({state}) = {prob:g} would veto a diagnosis; use a value in (0, 1) or give why")


def _probability(where: str, item: Probability, refs: dict, problems: list[str], *, closed: bool = False) -> None:
    _sources(where, item, refs, problems)
    lo_ok = item.p >= 0 if closed else item.p > 0
    hi_ok = item.p <= 1 if closed else item.p < 1
    if not (lo_ok and hi_ok):
        rng = "[0, 1]" if closed else "(0, 1)"
        problems.append(f"{where}: p = {item.p} is outside {rng}")


def check(kb) -> list[str]:  # noqa: ANN001 - KnowledgeBase, imported lazily to avoid a cycle
    """Return every problem found (an empty list means the base is valid)."""
    problems: list[str] = []
    c = contract()
    refs = kb.references
    vars_by_id = {v.id: v for v in kb.variables}

    covered = {v.key for v in kb.variables} | set(kb.ignored) | {d.key for d in kb.derived}
    for d in kb.derived:
        target = vars_by_id.get(d.into)
        by = c.fields.get(d.by)
        if target is None:
            problems.append(f"variables.yaml: {d.key}: into {d.into!r} is not an evidence variable")
        elif {d.within, d.above} - set(target.states):
            problems.append(f"variables.yaml: {d.key}: states {d.within!r}/{d.above!r} are not states of {d.into}")
        if by is None or by.type != "number":
            problems.append(f"variables.yaml: {d.key}: by {d.by!r} must be a number key of the case format")
        lowers = [lo for lo, _ in d.limits]
        if lowers != sorted(lowers) or len(set(lowers)) != len(lowers):
            problems.append(f"variables.yaml: {d.key}: limits must have strictly ascending lower bounds")
    for v in kb.variables:
        for entry in v.superseded_by:
            key, _, value = entry.partition("=")
            if key not in c.fields:
                problems.append(f"variables.yaml: {v.key}: superseded_by {entry!r} is not a key of the case format")
            elif value and c.fields[key].values and value not in c.fields[key].values:
                problems.append(f"variables.yaml: {v.key}: superseded_by {entry!r}: {value!r} is not a value of {key}")
    for key in c.fields:
        if key not in covered:
            problems.append(f"variables.yaml: case key {key} is not mapped (give it a kind, or kind: ignored with why)")
    for key, why in kb.ignored.items():
        if not why:
            problems.append(f"variables.yaml: {key} is ignored without a why")

    for var_id, spec in kb.defaults.items():
        var = vars_by_id.get(var_id)
        if var is None:
            problems.append(f"defaults.yaml: {var_id} is not an evidence variable")
            continue
        _likelihood(f"defaults.yaml: {var_id}", spec, var.states, refs, problems)

    ids = [d.id for d in kb.diagnoses]
    for missing in [i for i in c.diagnoses if i not in ids]:
        problems.append(f"diagnoses/: no file for contract diagnosis {missing!r}")
    for d in kb.diagnoses:
        where = f"diagnoses/{d.id}.yaml"
        _probability(f"{where}: prior", d.prior, refs, problems)
        _probability(f"{where}: malignant", d.malignant, refs, problems, closed=True)
        for key in d.references:
            if key not in refs:
                problems.append(f"{where}: references: {key!r} is not in references/")
        for i, item in enumerate((*d.cautions, *d.next_tests, *d.management.reasons)):
            _sources(f"{where}: text {i + 1} ({item.text[:40]}…)", item, refs, problems)
        if d.management.action not in c.actions:
            problems.append(f"{where}: management.action {d.management.action!r}; allowed: {', '.join(c.actions)}")
        if d.puncture.safe_route is not None and d.puncture.safe_route not in c.actions:
            problems.append(f"{where}: puncture.safe_route {d.puncture.safe_route!r}; allowed: {', '.join(c.actions)}")
        if d.puncture.advice == "avoid" and d.puncture.safe_route is None:
            problems.append(f"{where}: puncture advice 'avoid' needs a safe_route (the action to take instead)")
        if not d.puncture.src and not d.puncture.estimate:
            problems.append(f"{where}: puncture advice has no source; give src or estimate: true")
        for var_id, spec in d.likelihoods.items():
            var = vars_by_id.get(var_id)
            if var is None:
                problems.append(f"{where}: likelihoods: {var_id} is not an evidence variable (see variables.yaml)")
                continue
            _likelihood(f"{where}: {var_id}", spec, var.states, refs, problems)
        for var in kb.variables:
            own = var.id in d.likelihoods
            if not own and var.id not in kb.defaults:
                problems.append(f"{where}: incomplete: no likelihood for {var.id} and no default")
            if not own and var.key in REQUIRED_OWN:
                problems.append(f"{where}: incomplete: {var.id} must be stated by the diagnosis itself (core pattern variable)")

    problems += _check_settings(kb, vars_by_id, refs)

    pol = kb.policy
    for action in pol.malignancy_work_up_actions:
        if action not in c.actions:
            problems.append(f"policy.yaml: malignancy_work_up_actions: {action!r}; allowed: {', '.join(c.actions)}")
    for name in ("confident_probability", "malignancy_not_excluded", "malignancy_negligible", "same_management_probability", "caution_probability", "avoid_puncture_probability"):
        item = getattr(pol, name)
        _sources(f"policy.yaml: {name}", item, refs, problems)
        if not 0 < item.value < 1:
            problems.append(f"policy.yaml: {name} = {item.value} is outside (0, 1)")
    problems += _plan_problems(kb, c, refs)
    return problems


def _plan_problems(kb, c, refs: dict) -> list[str]:  # noqa: ANN001
    """The plan part of the policy and the plan data of the diagnoses: contract actions, resolvable
    sources, conditions in the case vocabulary, rules sourced."""
    from hepcal.reasoning import applicability, conditions

    problems: list[str] = []
    pol = kb.policy
    ids = {d.id for d in kb.diagnoses}

    def action(where: str, a: str) -> None:
        if a not in c.actions:
            problems.append(f"{where}: action {a!r}; allowed: {', '.join(c.actions)}")

    def step(where: str, s) -> None:  # noqa: ANN001
        action(where, s.action)
        for key in s.src:
            if key not in refs:
                problems.append(f"{where}: reference {key!r} is not in references/")

    for a in c.actions:
        if a not in pol.plan.rank:
            problems.append(f"policy.yaml: plan.rank: no rank for action {a!r}")
        if f"step.{a}" not in pol.texts or f"actions.{a}" not in pol.texts:
            problems.append(f"policy.yaml: texts: step.{a} and actions.{a} are needed for every action")
    for a in (*pol.plan.rank, *pol.plan.needle_actions):
        action("policy.yaml: plan", a)
    for name in ("then_default", "rule_findings", "findings_for", "exclude_before_needle", "step_reason_confident",
                 "biopsy_offered", "needle_withheld",
                 "step_reason_same_management", "step_reason_doubtful", "step_reason_characterise"):
        if name not in pol.texts:
            problems.append(f"policy.yaml: texts: {name} is missing")
    for name in ("doubtful_biopsy", "malignancy_work_up", "characterise"):
        if name not in pol.plan.steps:
            problems.append(f"policy.yaml: plan.steps: {name} is missing")
    if pol.doubt_needle_malignancy is not None:
        if "doubtful_follow_up" not in pol.plan.steps:
            problems.append("policy.yaml: plan.steps: doubtful_follow_up is needed with doubt_needle_malignancy")
        if "step_reason_doubtful_no_needle" not in pol.texts or "doubtful_no_needle" not in pol.texts:
            problems.append("policy.yaml: texts: doubtful_no_needle and step_reason_doubtful_no_needle are needed with doubt_needle_malignancy")
    for name, s in pol.plan.steps.items():
        step(f"policy.yaml: plan.steps.{name}", s)
    problems += conditions.problems(pol.plan.characterise_when, "policy.yaml: plan.characterise_when", ids)
    known = ids | set(pol.awaited_diagnoses)
    seen: set[str] = set()
    for rule in pol.must_not_miss:
        where = f"policy.yaml: must_not_miss {rule.id}"
        if rule.id in seen:
            problems.append(f"{where}: id defined twice")
        seen.add(rule.id)
        _sources(where, rule, refs, problems)
        if not rule.when:
            problems.append(f"{where}: needs a condition (when)")
        if not rule.steps:
            problems.append(f"{where}: needs at least one step")
        problems += conditions.problems(rule.when, f"{where}: when", known)
        for a in rule.forbid:
            action(f"{where}: forbid", a)
        for i, s in enumerate(rule.steps):
            step(f"{where}: step {i + 1}", s)
            if s.action in rule.forbid:
                problems.append(f"{where}: step {i + 1} takes an action the rule forbids ({s.action})")
    for key in pol.for_against.folded_labels:
        if key not in c.fields or c.fields[key].type != "enum_list":
            problems.append(f"policy.yaml: for_against.folded_labels: {key} is not a list key of the case format")
    for d in kb.diagnoses:
        where = f"diagnoses/{d.id}.yaml"
        for i, s in enumerate(d.management.steps):
            step(f"{where}: management.steps {i + 1}", s)
        if d.management.exclude is not None:
            step(f"{where}: management.exclude", d.management.exclude)
            if d.management.exclude.action in pol.plan.needle_actions:
                problems.append(f"{where}: management.exclude is the step before a needle; it cannot be a needle itself")
        for item in (*d.management.reasons, *d.cautions, *d.next_tests):
            for cond in (item.when, item.unless):
                problems += conditions.problems(cond, f"{where}: {item.text[:40]}…", ids)
    try:
        applicability.modalities(kb.source)
    except Exception as exc:  # noqa: BLE001 - KnowledgeBaseError, reported with the rest
        problems += list(getattr(exc, "problems", [str(exc)]))
    return problems


def _check_settings(kb, vars_by_id: dict, refs: dict) -> list[str]:  # noqa: ANN001
    """Settings name real variables and states; setting priors are sourced and leave room for the rest."""
    problems: list[str] = []
    settings = kb.settings.settings if kb.settings is not None else ()
    ids = [s.id for s in settings]
    if len(set(ids)) != len(ids):
        problems.append("settings.yaml: a setting id is used twice")
    for st in settings:
        _sources(f"settings.yaml: {st.id}", st, refs, problems)
        for cond in st.when:
            var = vars_by_id.get(cond.variable)
            if var is None:
                problems.append(f"settings.yaml: {st.id}: {cond.variable} is not an evidence variable")
            elif set(cond.states) - set(var.states) or not cond.states:
                problems.append(f"settings.yaml: {st.id}: states of {cond.variable} must be among {', '.join(var.states)}")
        given = [d for d in kb.diagnoses if st.id in d.priors]
        total = sum(d.priors[st.id].p for d in given)
        if given and (total >= 1.0 if len(given) < len(kb.diagnoses) else abs(total - 1.0) > TOLERANCE):
            problems.append(f"settings.yaml: {st.id}: the diagnoses' priors sum to {total:.3f}; they must leave room for the diagnoses without one (sum < 1), or sum to 1 when every diagnosis has one")
    for d in kb.diagnoses:
        for sid, item in d.priors.items():
            if sid not in ids:
                problems.append(f"diagnoses/{d.id}.yaml: priors: {sid!r} is not a setting of settings.yaml; known: {', '.join(ids)}")
            _probability(f"diagnoses/{d.id}.yaml: priors.{sid}", item, refs, problems)
    return problems


def summary(kb) -> dict[str, int]:  # noqa: ANN001
    """Counts for ``hepcal kb check``: how many numbers, how many estimated."""
    numbers = estimated = 0

    def count(items: Iterable[Sourced]) -> None:
        nonlocal numbers, estimated
        for it in items:
            numbers += 1
            estimated += bool(it.estimate and not it.src)

    for d in kb.diagnoses:
        count([d.prior, d.malignant, *d.priors.values(), *d.likelihoods.values()])
    count(kb.defaults.values())
    return {"diagnoses": len(kb.diagnoses), "variables": len(kb.variables), "entries": numbers,
            "estimate_only": estimated, "references": len(kb.references)}
