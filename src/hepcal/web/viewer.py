"""The study viewer of a finished CT job: NiiVue (from npm, installed by ``make install``) showing
the CT with each lesion's calcium and outline, window presets and a lesion list.

A job writes the viewer's NIfTI files next to its findings.json (``out/viewer/``, see
:mod:`hepcal.imaging.viewer_volumes`); they hold the patient's images, so they are served only
through the authenticated routes here, by role name, never by a path. The viewer script itself
is public code under ``/static/vendor/``; when it is absent (an install without npm) the page
says so and still lists the lesions.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hepcal.errors import NotFound
from hepcal.web.accounts import Identity
from hepcal.web.deps import current_user, services
from hepcal.web.services import Services
from hepcal.web.viewer_files import FILES, VIEWER_DIR
from hepcal.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter()
#: The ES module of NiiVue, copied from the npm package by ``make install`` (never committed).
VENDOR_SCRIPT = ("vendor", "niivue", "niivue.js")


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    label: str = Field(min_length=1, max_length=40)
    width: float = Field(gt=0, le=5000)
    level: float = Field(ge=-1500, le=3000)


class ViewerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    windows: list[Window] = Field(min_length=1)


@lru_cache(maxsize=1)
def viewer_config() -> ViewerConfig:
    """The window presets of ``viewer.yaml``, validated."""
    from hepcal.yamlfile import safe_load

    text = resources.files("hepcal.web").joinpath("viewer.yaml").read_text(encoding="utf-8")
    return ViewerConfig.model_validate(safe_load(text))


def viewer_installed() -> bool:
    """Whether ``make install`` put NiiVue's module into ``static/vendor/``."""
    return resources.files("hepcal.web").joinpath("static", *VENDOR_SCRIPT).is_file()


def _job_and_folder(svc: Services, job_id: str, who: Identity) -> tuple[Any, Path]:
    """The job (of the reader's team) and its viewer folder; NotFound (404) otherwise."""
    job = svc.store.get_job(job_id, team=who.team) if len(job_id) <= 40 else None
    if job is None:
        raise NotFound(f"scan job {job_id} not found")
    return job, svc.runner.folder(job_id) / "out" / VIEWER_DIR


def _index(folder: Path) -> dict[str, Any] | None:
    import json

    path = folder / FILES["index"]
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@router.get("/ct/{job_id}/viewer", include_in_schema=False)
def viewer_page(request: Request, job_id: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    job, folder = _job_and_folder(svc, job_id, who)
    index = _index(folder) if job.status == "done" else None
    return render(request, "viewer.html", job=job, index=index, windows=viewer_config().windows,
                  installed=viewer_installed(), user=who.user)


@router.get("/api/scans/{job_id}/viewer/{name}", tags=["scans"],
            responses={200: {"content": {"application/octet-stream": {}, "application/json": {}}}})
def viewer_file(job_id: str, name: str, who: Identity = Depends(current_user), svc: Services = Depends(services)) -> Response:
    """One of the viewer's files of a finished job: ct.nii.gz, calcium.nii.gz, outline.nii.gz (NIfTI) or viewer.json."""
    if name not in FILES.values():
        raise NotFound(f"no viewer file {name!r}; allowed: {', '.join(FILES.values())}")
    folder = _job_and_folder(svc, job_id, who)[1].resolve()
    path = folder / name
    if path.is_symlink() or not path.is_file():
        raise NotFound(f"the viewer files of scan job {job_id} are not available")
    media = "application/json" if name.endswith(".json") else "application/octet-stream"
    return FileResponse(path, media_type=media, filename=name)
