#!/usr/bin/env python3
"""Regenerate dev.jsonl and heldout.jsonl from cases.jsonl (standard library only).

Rule (fixed before any tuning, independent of any model output):
  sort the case ids by the hexadecimal SHA-256 of the UTF-8 id; the cases at
  sorted positions 0, 3, 6, ... form the held-out set (exactly ceil(n/3) cases),
  all others the development set. Each output keeps the line order of cases.jsonl.

Usage:
  python3 split.py          # (re)write dev.jsonl and heldout.jsonl next to this script
  python3 split.py --check  # exit 1 if the files on disk differ from what the rule gives
"""
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def split(lines):
    records = [json.loads(line) for line in lines]
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate ids in cases.jsonl")
    order = sorted(ids, key=lambda i: hashlib.sha256(i.encode("utf-8")).hexdigest())
    heldout_ids = {i for pos, i in enumerate(order) if pos % 3 == 0}
    dev, held = [], []
    for line, rec in zip(lines, records):
        (held if rec["id"] in heldout_ids else dev).append(line)
    return dev, held


def main(argv):
    lines = [l for l in (HERE / "cases.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    dev, held = split(lines)
    want = {"dev.jsonl": "".join(l + "\n" for l in dev), "heldout.jsonl": "".join(l + "\n" for l in held)}
    if "--check" in argv:
        bad = [name for name, text in want.items()
               if not (HERE / name).exists() or (HERE / name).read_text(encoding="utf-8") != text]
        print("split OK" if not bad else "split differs: " + ", ".join(bad))
        return 1 if bad else 0
    for name, text in want.items():
        (HERE / name).write_text(text, encoding="utf-8")
    print(f"{len(lines)} cases: {len(dev)} dev, {len(held)} held-out")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
