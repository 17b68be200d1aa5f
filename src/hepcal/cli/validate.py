"""``hepcal validate``: accuracy on labelled cases."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from hepcal.cli.common import EXIT_PARTIAL, error, fail, handle_errors, out, write_line
from hepcal.findings.io import open_lines
from hepcal.knowledge import load
from hepcal.validation import evaluate, read_labelled


class Format(str, Enum):
    table = "table"
    json = "json"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def validate(
        source: str = typer.Argument(..., help='JSONL file, each line {"case": {...}, "diagnosis": "<id>", "source": "<citation>"}; - for stdin.'),
        fmt: Format = typer.Option(Format.table, "--format", "-f"),
        kb_path: Optional[Path] = typer.Option(None, "--kb", help="Knowledge-base folder.", show_default=False),
    ) -> None:
        """Top-1/top-3, mean rank, malignant cases flagged, benign biopsies, Brier score, calibration."""
        kb = load(kb_path)
        if source == "-":
            report = evaluate(read_labelled(getattr(sys.stdin, "buffer", sys.stdin), "<stdin>", kb), kb)
            where = "<stdin>"
        else:
            where = source
            with open_lines(source) as lines:
                report = evaluate(read_labelled(lines, where, kb), kb)
        s = report.to_dict()
        if not s["n"]:
            for e in report.errors:
                error(e)
            fail(f"{where}: no labelled case could be read" + (f" ({len(report.errors)} line(s) failed)" if report.errors else " (the file is empty)"))
        if fmt is Format.json:
            write_line(json.dumps(s, indent=2))
        else:
            t = Table(title=f"Validation on {where} (knowledge base {kb.version})", title_justify="left")
            t.add_column("measure")
            t.add_column("value", justify="right")
            t.add_row("cases", str(s["n"]))
            t.add_row("top-1", _pct(s["top1"]))
            t.add_row("top-3", _pct(s["top3"]))
            t.add_row("mean rank", "-" if s["mean_rank"] is None else f"{s['mean_rank']:.2f}")
            t.add_row(f"malignant flagged (of {s['malignant_cases']})", _pct(s["malignant_flagged"]))
            t.add_row(f"benign sent to biopsy/surgery (of {s['benign_cases']})", _pct(s["benign_sent_to_biopsy"]))
            t.add_row("Brier score", "-" if s["brier"] is None else f"{s['brier']:.3f}")
            t.add_row("expected calibration error", "-" if s["expected_calibration_error"] is None else f"{s['expected_calibration_error']:.3f}")
            out.print(t)
            c = Table(title="Calibration of the top diagnosis", title_justify="left")
            for col in ("confidence", "n", "mean confidence", "top-1 accuracy"):
                c.add_column(col)
            for b in s["calibration"]:
                c.add_row(b["bin"], str(b["n"]), f"{b['mean_confidence']:.2f}", f"{b['top1_accuracy']:.2f}")
            out.print(c)
            p = Table(title="Per diagnosis", title_justify="left")
            for col in ("diagnosis", "n", "top-1", "top-3", "mean rank"):
                p.add_column(col)
            for d, v in s["per_diagnosis"].items():
                p.add_row(d, str(v["n"]), _pct(v["top1"]), _pct(v["top3"]), f"{v['mean_rank']:.1f}")
            out.print(p)
        if report.errors:
            for e in report.errors:
                error(e)
            raise typer.Exit(EXIT_PARTIAL)
