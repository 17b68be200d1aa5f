"""Routes that serve the reader beside the pages: the live result of the assess page and the
patient summary of a stored case.

Kept apart from :mod:`hepcal.web.pages` because they answer fragments and standalone documents,
not the app's pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hepcal.errors import HepcalError, NotFound
from hepcal.findings import CaseError
from hepcal.web.deps import current_user, services, writer
from hepcal.web.services import Services
from hepcal.web.templating import render

MAX_ID = 2**31 - 1
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(include_in_schema=False)


def own_case(svc: Services, who: Any, case_id: int) -> Any:
    """The stored case, only within the reader's team."""
    rec = svc.store.get_case(case_id, team=who.team)
    if rec is None:
        raise NotFound(f"case {case_id} not found")
    return rec


@router.post("/assess/result", response_class=HTMLResponse)
async def assess_result(request: Request, _: Any = Depends(writer), svc: Services = Depends(services)) -> Response:
    """The live result of the assess page: a case (JSON) in, the page's own result templates out.

    One renderer serves the page with and without script. A refused case answers 422 with the
    problems by key, so the page marks each field and keeps the last valid result on screen.
    """
    from hepcal.web.api import _json

    try:
        data = await _json(request)
        _, assessment = await run_in_threadpool(svc.assess_case, data)
    except HepcalError as exc:
        problems = [{"path": p.path, "message": p.message} for p in exc.problems] if isinstance(exc, CaseError) else []
        return JSONResponse({"error": str(exc), "problems": problems}, status_code=422)
    return render(request, "_result.html", assessment=assessment, problems=[])


@router.get("/cases/{case_id}/patient", response_class=HTMLResponse)
def case_patient(case_id: CaseId, lang: str = Query("en", max_length=20), who: Any = Depends(current_user),
                 svc: Services = Depends(services)) -> Response:
    """The plain-language summary of a stored case for the patient (the reports' own page)."""
    from hepcal.web.patient import patient_page

    return patient_page(own_case(svc, who, case_id), lang)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (the app's pages declare none; the patient page, a standalone document, lets the browser ask)."""
    return Response(status_code=204)
