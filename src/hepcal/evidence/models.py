"""Pydantic models of a library case record and a series count (docs/case-library.md).

Shape only: the ``case`` object is checked against the case-format contract and the
diagnosis ids and series variables against the contract and the knowledge base by
:mod:`hepcal.evidence.library`, which knows the vocabulary in the tree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CFG = ConfigDict(extra="forbid", frozen=True)

# "not_recorded": the source set did not record the proof (the 71 cases of validation/ only).
Proof = Literal["histology", "serology", "culture", "follow_up", "imaging", "clinical", "not_recorded"]
Kind = Literal["case_report", "series_patient", "teaching_file"]


class Source(BaseModel):
    """Where a reader finds the publication: a full citation and a URL and/or DOI."""

    model_config = _CFG
    citation: str = Field(min_length=10)
    url: str | None = None
    doi: str | None = None

    @model_validator(mode="after")
    def _findable(self) -> "Source":
        if not (self.url or self.doi):
            raise ValueError("give url or doi (or both) so a reader can find the publication")
        return self


class FinalDiagnosis(BaseModel):
    """The proven final diagnosis; ``ids`` empty when it lies outside the vocabulary."""

    model_config = _CFG
    raw: str = Field(min_length=2)
    ids: tuple[str, ...]
    malignant: bool
    proof: Proof

    @field_validator("ids")
    @classmethod
    def _distinct(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be distinct")
        return ids


_WHEN = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?$"


class Revision(BaseModel):
    """A later pass over an encoded case: who revised it, when, and from what material."""

    # dumped as ``from`` (the file's key), not as the Python name ``from_``
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)
    by: str = Field(min_length=1)
    at: str = Field(pattern=_WHEN)
    # what the reviser read that the first encoding had not, e.g. "full text"
    from_: str = Field(min_length=2, alias="from")


class Encoded(BaseModel):
    """Who encoded the case and when; ``revised`` when the record was later revised."""

    model_config = _CFG
    by: str = Field(min_length=1)
    at: str = Field(pattern=_WHEN)
    revised: Revision | None = None


class CaseRecord(BaseModel):
    """One line of ``cases/*.jsonl`` or ``holdout/*.jsonl``."""

    model_config = _CFG
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    source: Source
    kind: Kind
    case: dict[str, Any]
    diagnosis: FinalDiagnosis
    encoded: Encoded
    note: str = ""


class SeriesCount(BaseModel):
    """"finding in k of n patients with diagnosis", with where in the source it is stated."""

    model_config = _CFG
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    source: Source
    diagnosis: str
    finding: str  # an evidence variable of the knowledge base
    state: str  # a state of that variable ("true" / "false" for a binary one)
    k: int = Field(ge=0)
    n: int = Field(ge=1)
    where: str = Field(min_length=1)
    note: str = ""

    @field_validator("state", mode="before")
    @classmethod
    def _bool_state(cls, v: Any) -> Any:
        if isinstance(v, bool):  # YAML reads `state: true` as a boolean
            return "true" if v else "false"
        return v

    @model_validator(mode="after")
    def _k_of_n(self) -> "SeriesCount":
        if self.k > self.n:
            raise ValueError(f"k = {self.k} is larger than n = {self.n}")
        return self
