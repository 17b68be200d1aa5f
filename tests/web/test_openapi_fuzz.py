"""Schemathesis over the published OpenAPI: generated requests never cause a server error.

Bounded (a few examples per operation) so the run stays within seconds; requests carry a bearer
token, so they reach the handlers rather than stopping at authentication.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from hepcal.web.app import create_app  # noqa: E402
from hepcal.web.settings import Settings  # noqa: E402
from tests.web.conftest import TOKEN, FakePipeline  # noqa: E402

_DIR = tempfile.TemporaryDirectory(prefix="hepcal-fuzz-")
_APP = create_app(
    Settings(database_url=f"sqlite:///{Path(_DIR.name) / 'cases.sqlite3'}", data_dir=Path(_DIR.name),
             users={TOKEN: "fuzz"}, max_upload_mb=1),
    pipeline=FakePipeline(),
)
# The store and the scan runner are opened by the app's lifespan: run it once for the module.
_LIFESPAN = __import__("fastapi.testclient", fromlist=["TestClient"]).TestClient(_APP)
_LIFESPAN.__enter__()
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
EXAMPLES = max(12, int(os.environ.get("HEPCAL_FUZZ_EXAMPLES", "12")) // 50)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])
