"""Pipelines that misbehave, for the scan-worker tests (module level: they are pickled into the
worker process)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hepcal.errors import InputError
from tests.web.conftest import FakePipeline


class MemoryHog(FakePipeline):
    """Allocates far beyond any sane limit, as a decompression bomb would."""

    def scan_study(self, path: str | Path, **kwargs: Any) -> Any:
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(256 * 1024 * 1024))  # 16 GiB in all
        return blocks


class Sleeper(FakePipeline):
    def scan_study(self, path: str | Path, **kwargs: Any) -> Any:
        time.sleep(60)


class Refuser(FakePipeline):
    """A study the pipeline refuses, with the server path in its message."""

    def scan_study(self, path: str | Path, **kwargs: Any) -> Any:
        raise InputError(f"{Path(path).resolve()}: RescaleIntercept is missing")


class Buggy(FakePipeline):
    def scan_study(self, path: str | Path, **kwargs: Any) -> Any:
        return {}["no such key"]
