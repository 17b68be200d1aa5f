"""``/api/docs``: the OpenAPI browser, served by the app itself.

Swagger UI's files come from the ``swagger-ui-bundle`` package (installed from PyPI with the web
extra), so the page loads nothing from another site and passes the app's own
Content-Security-Policy (no inline script: the start-up call is ``static/apidocs.js``). Without
the package the page says how to get it, and the machine-readable ``/openapi.json`` stays.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hepcal API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""

MISSING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>hepcal API</title><link rel="stylesheet" href="/static/hepcal.css"></head>
<body><main>
<h1>hepcal API</h1>
<p>The browsable API page needs the <code>swagger-ui-bundle</code> package, which is not installed
(install hepcal with its <code>web</code> extra). The API description is at
<a href="/openapi.json">/openapi.json</a>; docs/web.md lists every route.</p>
</main></body>
</html>
"""


def assets_dir() -> Path | None:
    """Swagger UI's distribution folder from the installed package, or None."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    folder = Path(swagger_ui_path)
    return folder if all((folder / name).is_file() for name in ASSETS) else None


@router.get("/api/docs", response_class=HTMLResponse)
def docs_page() -> Response:
    return HTMLResponse(PAGE if assets_dir() is not None else MISSING)


@router.get("/api/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    folder = assets_dir()
    if folder is None or name not in ASSETS:  # a fixed list: no other file of the package is served
        raise LookupError(f"{name} not found")
    return FileResponse(folder / name, media_type=ASSETS[name])
