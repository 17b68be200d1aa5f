"""``make bench``: run every benchmark present and write bench-results.json."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BENCHMARKS = ("bench_engine", "bench_ct", "bench_seg", "bench_truth", "bench_real", "bench_batch")


def main() -> int:
    for name in BENCHMARKS:
        if not (HERE / f"{name}.py").exists():
            print(f"{name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(name).main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
