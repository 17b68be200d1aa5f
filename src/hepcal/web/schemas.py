"""Response models of the JSON API, so that the OpenAPI schema states what each route answers.

The assessment itself is the contract's assessment output (``hepcal schema`` and
docs/case-format.md describe it); it is carried here as an object.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemOut(BaseModel):
    path: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a message, and for a bad case the problems by key path."""

    error: str
    problems: list[ProblemOut] | None = None


class KnowledgeBaseState(BaseModel):
    status: str
    version: str | None = None


class HealthOut(BaseModel):
    status: str
    version: str
    knowledge_base: KnowledgeBaseState
    imaging: bool


class CaseSummaryOut(BaseModel):
    id: int
    created_at: str
    user: str
    team: str
    label: str
    kb_version: str
    top_diagnosis: str
    malignancy_probability: float
    action: str
    reassessed_from: int | None = None


class CaseOut(CaseSummaryOut):
    case: dict[str, Any]
    assessment: dict[str, Any] = Field(description="The assessment output of the case contract.")


class CaseListOut(BaseModel):
    total: int
    cases: list[CaseSummaryOut]


class JobOut(BaseModel):
    id: str
    created_at: str
    user: str
    status: str = Field(description="queued, running, done or failed")
    progress: float
    stage: str
    message: str
    result: dict[str, Any] | None = Field(None, description="findings.json of the study when done.")
    file_name: str = Field("", description="The uploaded file's original name.")
    label: str = Field("", description="The label given at upload.")


class JobCreatedOut(BaseModel):
    id: str
    status: str
    url: str


class SessionIn(BaseModel):
    name: str = Field("", max_length=100)
    password: str = Field(..., max_length=1024)


class SessionOut(BaseModel):
    token: str = Field(description="Send as Authorization: Bearer <token>; it expires at expires_in_s.")
    user: str
    team: str
    expires_in_s: int


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Sign-in needed."},
    403: {"model": ErrorOut, "description": "The CSRF check failed."},
    404: {"model": ErrorOut, "description": "No such item (or not visible to your team)."},
    422: {"model": ErrorOut, "description": "Bad input; `problems` names each bad key of a case."},
    500: {"model": ErrorOut, "description": "A server fault; the answer carries only a reference to the log."},
}
