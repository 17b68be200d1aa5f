"""The HTML pages: assess (checklist + live differential), cases, CT upload and jobs, login.

Forms post back here with the CSRF token; the live parts of the assess and job pages are a
small script (``static/hepcal.js``) calling the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hepcal.errors import HepcalError, InputError, NotFound
from hepcal.findings import CaseError
from hepcal.web.accounts import Identity, TooManyAttempts
from hepcal.web.checklist import case_from_form, checklist, read_form
from hepcal.web.deps import current_user, services, writer
from hepcal.web.security import SESSION_COOKIE, check_csrf, safe_next
from hepcal.web.services import Services, clean_label
from hepcal.web.templating import render

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(include_in_schema=False)
CHECKLIST_KEYS = "checklist"


def _form_lists(form: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def _problems(exc: HepcalError) -> list[str]:
    if isinstance(exc, CaseError):
        return [str(p) for p in exc.problems]
    return [str(exc)]


def _field_errors(exc: HepcalError) -> dict[str, str]:
    """Problems of a checklist key by key, shown at the field itself."""
    if not isinstance(exc, CaseError):
        return {}
    return {p.path: p.message for p in exc.problems if p.path}


def _field_values(form: dict[str, list[str]]) -> dict[str, str]:
    """Typed text as the reader typed it (a refused number is shown again, not dropped)."""
    return {k: v[-1] for k, v in form.items() if v and k.count(".") == 1}


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/assess", status_code=303)


@router.get("/assess", response_class=HTMLResponse)
def assess_page(request: Request, case: int | None = Query(None, ge=1, le=MAX_ID), scan: str | None = Query(None, max_length=40),
                lesion: int | None = Query(None, ge=0, le=10000), who: Identity = Depends(current_user),
                svc: Services = Depends(services)) -> Response:
    values: dict[str, Any] = {}
    source = None
    label = ""
    if case is not None:
        rec = svc.store.get_case(case, team=who.team)
        if rec is None:
            raise NotFound(f"case {case} not found")
        values, label, source = rec.case, rec.label, {"kind": "case", "id": rec.id}
    elif scan is not None and lesion is not None:
        from hepcal.web.scans import lesion_case

        job = svc.store.get_job(scan, team=who.team)
        result = (job.result or {}) if job is not None else {}
        lesions = result.get("lesions") or []
        if job is None or lesion >= len(lesions):
            raise NotFound(f"lesion {lesion} of scan {scan} not found")
        found = lesions[lesion]
        values = lesion_case(found)
        label = f"CT lesion {lesion + 1}"
        # What the clinician needs beside the checklist to confirm it: the key image, the
        # density mimics of this lesion and the study's notes (phase caution, liver source).
        source = {"kind": "scan", "id": job.id, "lesion": lesion, "key_image": found.get("key_image"),
                  "cautions": [*(found.get("mimics") or []), *(result.get("notes") or [])]}
    assessment, problems = None, []
    if values:
        try:
            _, assessment = svc.assess_case(values)
        except HepcalError as exc:
            problems = _problems(exc)
    return render(request, "assess.html", sections=checklist(values), assessment=assessment, problems=problems,
                  label=label, source=source, user=who.user)


@router.post("/assess", response_class=HTMLResponse)
async def assess_submit(request: Request, who: Identity = Depends(writer), svc: Services = Depends(services)) -> Response:
    """The no-script path: the checklist submitted as a form, the page rendered with results."""
    form = _form_lists(await request.form())
    label = (form.get("label") or [""])[-1]
    assessment, problems, field_errors = None, [], {}
    values, unreadable = read_form(form)
    try:
        _, assessment = svc.assess_case(values)
    except CaseError as exc:  # the readable values' problems, with those of the unreadable ones
        unreadable = [*unreadable, *exc.problems]
    except HepcalError as exc:
        problems = _problems(exc)
    if unreadable:
        exc = CaseError(unreadable)
        assessment, problems, field_errors = None, _problems(exc), _field_errors(exc)
    return render(request, "assess.html", sections=checklist(values), assessment=assessment, problems=problems,
                  label=label, source=None, user=who.user, field_errors=field_errors, field_values=_field_values(form),
                  status_code=200 if not problems else 422)


@router.post("/cases")
async def save_case(request: Request, who: Identity = Depends(writer), svc: Services = Depends(services)) -> Response:
    form = _form_lists(await request.form())
    label = (form.get("label") or [""])[-1]
    values: dict[str, Any] = {}
    try:
        values = case_from_form(form)
        rec, _ = svc.save_case(values, clean_label(label), who, client_key=(form.get("idempotency_key") or [None])[-1])
    except HepcalError as exc:
        return render(request, "assess.html", sections=checklist(values or read_form(form)[0]), assessment=None, problems=_problems(exc),
                      label=label, source=None, user=who.user, field_errors=_field_errors(exc),
                      field_values=_field_values(form), status_code=422)
    return RedirectResponse(f"/cases/{rec.id}", status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, q: str = Query("", max_length=200), page: int = Query(1, ge=1, le=100000),
               who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    per_page = 50
    rows, total = svc.store.list_cases(q, per_page, (page - 1) * per_page, team=who.team)
    return render(request, "cases.html", rows=rows, total=total, q=q, page=page,
                  pages=max(1, (total + per_page - 1) // per_page), user=who.user)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: CaseId, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    rec = svc.store.get_case(case_id, team=who.team)
    if rec is None:
        raise NotFound(f"case {case_id} not found")
    from hepcal.web.reports import available_formats, kb_version

    return render(request, "case.html", rec=rec, assessment=rec.assessment, user=who.user,
                  report_formats=available_formats(), current_kb=kb_version())


@router.post("/cases/{case_id}/reassess")
def reassess(case_id: CaseId, who: Identity = Depends(writer), svc: Services = Depends(services)) -> Response:
    rec = svc.store.get_case(case_id, team=who.team)
    if rec is None:
        raise NotFound(f"case {case_id} not found")
    new, _ = svc.reassess(rec, who)
    return RedirectResponse(f"/cases/{new.id}", status_code=303)


@router.get("/cases/{case_id}/report.{fmt}")
def case_report(case_id: CaseId, fmt: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    from hepcal.web.reports import render_report

    rec = svc.store.get_case(case_id, team=who.team)
    if rec is None:
        raise NotFound(f"case {case_id} not found")
    return render_report(rec, fmt)


@router.get("/ct", response_class=HTMLResponse)
def ct_page(request: Request, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    from hepcal.web.scans import imaging_available

    return render(request, "ct.html", jobs=svc.store.list_jobs(team=who.team), problems=[], user=who.user,
                  imaging=svc.runner.pipeline is not None or imaging_available(), max_mb=svc.settings.max_upload_mb)


@router.post("/ct")
def ct_upload(request: Request, study: UploadFile = File(...), liver_mask: UploadFile | None = File(None),
              csrf_token: str = Form(""), label: str = Form(""), who: Identity = Depends(writer),
              svc: Services = Depends(services)) -> Response:
    from hepcal.web.joblabels import original_name, write_about
    from hepcal.web.scans import imaging_available

    try:
        label = clean_label(label)
        mask = liver_mask.file if liver_mask is not None and liver_mask.filename else None
        job_id = svc.start_scan(study.file, mask, who)
        write_about(svc.runner.folder(job_id), file_name=original_name(study.filename), label=label)
    except HepcalError as exc:
        return render(request, "ct.html", jobs=svc.store.list_jobs(team=who.team), problems=_problems(exc), user=who.user, label=label,
                      imaging=svc.runner.pipeline is not None or imaging_available(), max_mb=svc.settings.max_upload_mb, status_code=422)
    return RedirectResponse(f"/ct/{job_id}", status_code=303)


@router.get("/ct/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    job = svc.store.get_job(job_id, team=who.team) if len(job_id) <= 40 else None
    if job is None:
        raise NotFound(f"scan job {job_id} not found")
    lesions = (job.result or {}).get("lesions", []) if job.status == "done" else []
    return render(request, "job.html", job=job, lesions=lesions, user=who.user)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = Query("/assess", max_length=500)) -> Response:
    return render(request, "login.html", next=safe_next(next), problems=[], user=None)


@router.post("/login")
async def login(request: Request, svc: Services = Depends(services)) -> Response:
    await check_csrf(request, svc.settings, False, svc.auth_required())
    form = await request.form()
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or form.get("token") or "")
    target = safe_next(str(form.get("next") or "/assess"))
    client = request.client.host if request.client else ""
    try:
        _, token = svc.sign_in(name, password, client)
    except TooManyAttempts as exc:
        return render(request, "login.html", next=target, user=None, status_code=429,
                      problems=[f"Too many failed sign-ins; try again in {exc.retry_after // 60 + 1} minute(s)."])
    except InputError:
        return render(request, "login.html", next=target, problems=["That name and password are not valid."], user=None, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=svc.settings.secure_cookies, path="/",
                        max_age=int(svc.settings.session_hours * 3600))
    return response


@router.post("/logout")
async def logout(request: Request, who: Identity = Depends(writer), svc: Services = Depends(services)) -> Response:
    """Sign out: the session ends in the store (a copied cookie stops working too)."""
    svc.sign_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
