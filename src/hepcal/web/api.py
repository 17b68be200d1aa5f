"""The JSON API (``/api``): health, assessment, stored cases, scan jobs.

Every route is a thin shell: parse, call :mod:`hepcal.web.services`, answer. Errors are turned
into JSON by the handlers in :mod:`hepcal.web.app`, never into a stack trace.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hepcal import __version__
from hepcal.errors import InputError, NotFound
from hepcal.findings import json_schema
from hepcal.findings.io import loads_json
from hepcal.web.accounts import Identity
from hepcal.web.deps import current_user, services, writer
from hepcal.web.scans import imaging_available
from hepcal.web.schemas import ERRORS, CaseListOut, CaseOut, HealthOut, JobCreatedOut, JobOut, SessionIn, SessionOut
from hepcal.web.services import Services, record_full, record_jsonl, record_summary
from hepcal.web.store import ScanJob

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(prefix="/api", responses=ERRORS)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="A key of the client's choosing (e.g. a UUID): a retry with the same key returns the case stored the first time instead of a copy.")]


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every ``#/$defs/...`` reference replaced by its definition (for OpenAPI)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(copy.deepcopy(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items() if k not in ("$defs", "$schema")}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


@lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    return inline_refs(json_schema())


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


SAVE_SCHEMA_DOC = "A case and an optional label: {\"case\": {...}, \"label\": \"...\"}."


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return loads_json(raw, "the request body")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("the request body is not valid JSON; expected a case as a JSON object") from None


@router.get("/health", summary="Liveness and versions", response_model=HealthOut)
def health(request: Request) -> dict[str, Any]:
    from hepcal.knowledge import load

    kb: dict[str, Any]
    try:
        from hepcal.reasoning.network import network

        kb = {"status": "ok", "version": network(load()).version}
    except Exception:  # reported, not raised: health must answer even with a broken base
        kb = {"status": "unavailable"}
    return {"status": "ok", "version": __version__, "knowledge_base": kb, "imaging": imaging_available()}


@router.post("/assess", summary="Assess a case", response_model=dict[str, Any],
             response_description="The assessment output of the case contract.",
             openapi_extra=_body({"$ref": "#/components/schemas/Case"}, "A case in the case format (docs/case-format.md)."))
async def assess_route(request: Request, _: Identity = Depends(writer)) -> dict[str, Any]:
    data = await _json(request)
    _case, assessment = await run_in_threadpool(Services.assess_case, data)
    return assessment


@router.post("/session", summary="Sign in: a session token for the Authorization header", response_model=SessionOut,
             responses={429: {"description": "Too many failed sign-ins; retry after Retry-After seconds."}})
def create_session(body: SessionIn, request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    who, token = svc.sign_in(body.name.strip(), body.password, request.client.host if request.client else "")
    return {"token": token, "user": who.user, "team": who.team, "expires_in_s": int(svc.settings.session_hours * 3600)}


@router.delete("/session", status_code=204, summary="Sign out: end the session of the bearer token or cookie")
def delete_session(request: Request, _: Identity = Depends(writer), svc: Services = Depends(services)) -> None:
    from hepcal.web.security import SESSION_COOKIE, bearer_token

    svc.sign_out(bearer_token(request) or request.cookies.get(SESSION_COOKIE))


def _save_payload(data: Any) -> tuple[Any, str]:
    if not isinstance(data, dict) or "case" not in data:
        raise InputError("expected a JSON object {\"case\": {...}, \"label\": \"optional text\"}")
    unknown = set(data) - {"case", "label"}
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: case, label")
    label = data.get("label") or ""
    if not isinstance(label, str):
        raise InputError("label must be a string")
    return data["case"], label


@router.post("/cases", status_code=201, summary="Assess and store a case", response_model=CaseOut,
             responses={200: {"model": CaseOut, "description": "A retry with a known Idempotency-Key: the case stored the first time."}},
             openapi_extra=_body({"type": "object", "required": ["case"], "additionalProperties": False,
                                  "properties": {"case": {"$ref": "#/components/schemas/Case"},
                                                 "label": {"type": "string", "maxLength": 500}}}, SAVE_SCHEMA_DOC))
async def create_case(request: Request, idempotency_key: IdempotencyKey = None, who: Identity = Depends(writer),
                      svc: Services = Depends(services)) -> JSONResponse:
    case, label = _save_payload(await _json(request))
    rec, created = await run_in_threadpool(svc.save_case, case, label, who, None, idempotency_key)
    return JSONResponse(record_full(rec), status_code=201 if created else 200, headers={"location": f"/api/cases/{rec.id}"})


@router.get("/cases", summary="List and search the stored cases of your team", response_model=CaseListOut)
def list_cases(q: str = Query("", max_length=200), limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
               who: Identity = Depends(current_user), svc: Services = Depends(services)) -> dict[str, Any]:
    rows, total = svc.store.list_cases(q, limit, offset, team=who.team)
    return {"total": total, "cases": [record_summary(r) for r in rows]}


@router.get("/cases/export.jsonl", summary="Every stored case of your team, one JSON object per line",
            response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}})
def export_cases(who: Identity = Depends(current_user), svc: Services = Depends(services)) -> StreamingResponse:
    lines = (record_jsonl(r) + "\n" for r in svc.store.iter_cases(team=who.team))
    return StreamingResponse(lines, media_type="application/x-ndjson",
                             headers={"content-disposition": 'attachment; filename="hepcal-cases.jsonl"'})


def _record(svc: Services, case_id: int, who: Identity) -> Any:
    rec = svc.store.get_case(case_id, team=who.team)
    if rec is None:
        raise NotFound(f"case {case_id} not found")
    return rec


@router.get("/cases/{case_id}", summary="One stored case with its assessment", response_model=CaseOut)
def get_case(case_id: CaseId, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> dict[str, Any]:
    return record_full(_record(svc, case_id, who))


@router.post("/cases/{case_id}/reassess", status_code=201, response_model=CaseOut,
             summary="Assess a stored case again with the installed knowledge base")
def reassess_case(case_id: CaseId, idempotency_key: IdempotencyKey = None, who: Identity = Depends(writer),
                  svc: Services = Depends(services)) -> JSONResponse:
    rec, created = svc.reassess(_record(svc, case_id, who), who, idempotency_key)
    return JSONResponse(record_full(rec), status_code=201 if created else 200, headers={"location": f"/api/cases/{rec.id}"})


def job_view(job: ScanJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "created_at": job.created_at.isoformat(),
        "user": job.user,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "message": job.message,
        "result": job.result,
    }


@router.post("/scans", status_code=202, response_model=JobCreatedOut,
             summary="Upload a CT study (NIfTI or zipped DICOM series), optionally a liver mask")
def create_scan(study: UploadFile = File(..., description="NIfTI (.nii/.nii.gz) or zip of one DICOM series"),
                liver_mask: UploadFile | None = File(None, description="Optional liver mask (NIfTI)"),
                label: str = Form("", max_length=500, description="Optional label shown in the job list (no patient identifiers)"),
                who: Identity = Depends(writer), svc: Services = Depends(services)) -> JSONResponse:
    from hepcal.web.joblabels import original_name, write_about
    from hepcal.web.services import clean_label

    label = clean_label(label)
    job_id = svc.start_scan(study.file, liver_mask.file if liver_mask is not None and liver_mask.filename else None, who)
    write_about(svc.runner.folder(job_id), file_name=original_name(study.filename), label=label)
    return JSONResponse({"id": job_id, "status": "queued", "url": f"/api/scans/{job_id}"}, status_code=202,
                        headers={"location": f"/api/scans/{job_id}"})


def _job(svc: Services, job_id: str, who: Identity) -> ScanJob:
    job = svc.store.get_job(job_id, team=who.team) if len(job_id) <= 40 else None
    if job is None:
        raise NotFound(f"scan job {job_id[:40]} not found")
    return job


@router.get("/scans/{job_id}", summary="State, progress and (when done) lesions of a scan job", response_model=JobOut)
def get_scan(job_id: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> dict[str, Any]:
    from hepcal.web.joblabels import read_about

    job = _job(svc, job_id, who)
    return {**job_view(job), **read_about(svc.runner.folder(job.id))}  # file_name, label


@router.get("/scans/{job_id}/images/{name}", summary="A key image of a finished scan job", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}}})
def scan_image(job_id: str, name: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> FileResponse:
    job = _job(svc, job_id, who)
    path = svc.runner.image_path(job.id, name, job.result)
    if path is None:
        raise NotFound(f"image {name[:130]} not found in scan job {job_id}")
    return FileResponse(path, media_type="image/png")
