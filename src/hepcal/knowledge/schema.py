"""Pydantic models of the knowledge-base files.

The models check shape (types, required fields, no unknown keys); ``check.py`` checks meaning
(vocabulary, probabilities, references, completeness) because those rules need the whole base.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_CFG = ConfigDict(extra="forbid", frozen=True)


class Sourced(BaseModel):
    """Anything that carries numbers: it names its sources or says it is an estimate."""

    model_config = _CFG
    src: tuple[str, ...] = ()
    estimate: bool = False
    note: str | None = None


class Probability(Sourced):
    """A single probability, e.g. P(finding true | diagnosis) or a prior weight."""

    p: float


class Likelihood(Sourced):
    """P(variable state | diagnosis): ``p`` for a binary variable, ``dist`` for the others.

    ``dist`` may leave states out; their share is the remainder spread evenly, so a table can
    name the states that matter and still be complete. A zero needs ``why``.
    """

    p: float | None = None
    dist: dict[str, float] | None = None
    why: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Likelihood":
        if (self.p is None) == (self.dist is None):
            raise ValueError("give exactly one of p (binary variable) or dist (states)")
        return self


class Cited(BaseModel):
    """A sourced sentence. ``when`` / ``unless`` are conditions on the case (see
    ``hepcal.reasoning.conditions``): the sentence is shown only when ``when`` holds and ``unless``
    does not, so a reason never cites a finding the case lacks and a test is not proposed for what
    is already known."""

    model_config = _CFG
    text: str
    src: tuple[str, ...] = ()
    estimate: bool = False
    when: dict[str, Any] | None = None
    unless: dict[str, Any] | None = None


class PlanStep(BaseModel):
    """One step of a recommendation plan: an action of the contract, what to do in a clinician's
    words, and the result that leads on to the next step (``then``; none for a last step)."""

    model_config = _CFG
    action: str
    text: str
    then: str | None = None
    src: tuple[str, ...] = ()
    estimate: bool = False
    only_if_missing: bool = False  # a rule's step that is left out when the plan already takes its action


class Management(BaseModel):
    """What to do when this diagnosis is the confident answer (``steps``, in order; without
    them, one step of ``action``), and ``exclude``: the step that rules the diagnosis out without
    a needle, which a plan puts before any biopsy while the diagnosis stays possible."""

    model_config = _CFG
    action: str
    reasons: tuple[Cited, ...]
    steps: tuple[PlanStep, ...] = ()
    exclude: PlanStep | None = None


class Puncture(BaseModel):
    """Whether a needle may go into a lesion suspected to be this diagnosis."""

    model_config = _CFG
    advice: Literal["acceptable", "caution", "avoid"]
    safe_route: str | None = Field(default=None, description="action to take instead when puncture is avoided")
    why: str
    src: tuple[str, ...] = ()
    estimate: bool = False


class Diagnosis(BaseModel):
    model_config = _CFG
    id: str
    name: str
    category: Literal[
        "infection", "vascular", "benign_neoplasm", "cyst", "malignant_primary", "metastasis",
        "post_treatment", "mimic", "developmental", "deposit",
    ]
    malignant: Probability
    prior: Probability
    description: str
    patient_summary: str
    puncture: Puncture
    management: Management
    cautions: tuple[Cited, ...] = ()
    next_tests: tuple[Cited, ...] = ()
    references: tuple[str, ...]
    likelihoods: dict[str, Likelihood]
    priors: dict[str, Probability] = Field(default_factory=dict, description="prior in a named setting (settings.yaml); `prior` is the default setting's")


class Variable(BaseModel):
    """How one case key becomes evidence.

    ``derived``: a number read against a reference that depends on another key (``by``): the
    value is above the limit of the ``by`` band it falls in (``limits``: [lower bound of ``by``,
    upper reference limit]) or within it; the result is an observation of the variable ``into``
    (states ``within`` / ``above``) and replaces that variable's own key when both are given.
    ``superseded_by``: keys that, when given and not empty, already carry this key's evidence,
    so this key is then not counted again.
    ``prior_given``: for a binary key, the state the priors are already conditioned on (the
    priors are frequencies among findings in that state): observing it adds nothing, and the
    other state counts as its likelihood ratio against it.
    """

    model_config = _CFG
    kind: Literal["binary", "enum", "binned", "members", "derived", "ignored"]
    bins: tuple[tuple[str, float], ...] = ()
    into: str | None = None
    by: str | None = None
    limits: tuple[tuple[float, float], ...] = ()
    within: str = "false"
    above: str = "true"
    superseded_by: tuple[str, ...] = ()
    prior_given: str | None = None
    why: str | None = None
    src: tuple[str, ...] = ()
    estimate: bool = False
    note: str | None = None


class VariablesFile(BaseModel):
    model_config = _CFG
    version: int
    variables: dict[str, Variable]


class Reference(BaseModel):
    model_config = _CFG
    citation: str
    url: str | None = None


class ReferencesFile(BaseModel):
    model_config = _CFG
    references: dict[str, Reference]


class DefaultsFile(BaseModel):
    model_config = _CFG
    description: str
    likelihoods: dict[str, Likelihood]


class SettingCondition(BaseModel):
    """The case is in a setting when this variable is observed in one of these states."""

    model_config = _CFG
    variable: str
    states: tuple[str, ...]


class Setting(Sourced):
    """A clinical setting with its own population priors (see settings.yaml)."""

    id: str
    name: str
    when: tuple[SettingCondition, ...]


class SettingsFile(BaseModel):
    model_config = _CFG
    description: str
    default: dict[str, str]
    settings: tuple[Setting, ...]


class Threshold(Sourced):
    value: float


class PlanPolicy(BaseModel):
    """How the plan is ordered and which generic steps the policy itself contributes."""

    model_config = _CFG
    rank: dict[str, int]  # action -> order in a plan: tests and imaging before needles and referral
    needle_actions: tuple[str, ...]
    steps: dict[str, PlanStep]  # generic steps by policy outcome (doubtful_biopsy, characterise, ...)
    characterise_when: dict[str, Any]  # condition under which a lesion is imaged with contrast before a needle


class MustNotMiss(BaseModel):
    """A rule that holds whatever the differential: when its condition holds, its steps join the
    plan and the actions in ``forbid`` leave it."""

    model_config = _CFG
    id: str
    when: dict[str, Any]
    steps: tuple[PlanStep, ...]
    forbid: tuple[str, ...] = ()
    reason: str
    src: tuple[str, ...] = ()
    estimate: bool = False
    note: str | None = None


class ForAgainst(BaseModel):
    """Implied negatives of a list key (the members a given list leaves out) are folded into one
    line per key and side; a folded line below ``implied_min_weight`` is dropped."""

    model_config = _CFG
    implied_min_weight: float
    folded_labels: dict[str, str]  # list key -> label of its folded line


class PolicyFile(BaseModel):
    """Doubt and recommendation policy (see policy.yaml for the meaning of each threshold)."""

    model_config = _CFG
    description: str
    confident_probability: Threshold
    malignancy_not_excluded: Threshold
    malignancy_negligible: Threshold
    same_management_probability: Threshold
    caution_probability: Threshold
    avoid_puncture_probability: Threshold
    doubt_needle_malignancy: Threshold | None = None  # a doubt-driven needle only from this upper bound of P(malignant)
    malignancy_work_up_actions: tuple[str, ...]
    next_findings_count: int = 5
    plan: PlanPolicy
    must_not_miss: tuple[MustNotMiss, ...] = ()
    awaited_diagnoses: tuple[str, ...] = ()  # ids a rule may read before the base holds them
    for_against: ForAgainst
    texts: dict[str, str]


class Manifest(BaseModel):
    model_config = _CFG
    name: str
    version: str
    description: str
    population: str
