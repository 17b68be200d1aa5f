"""``hepcal assess``, ``hepcal explain`` and ``hepcal schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rich.markup import escape

from hepcal.cli.common import EXIT_PARTIAL, EXIT_USAGE, clean, err, error, fail, formats, handle_errors, out, write_line
from hepcal.cli.render import assessment_view
from hepcal.cli.report import LANG_OPTION, Lang
from hepcal.findings import json_schema, load_case
from hepcal.findings.io import is_jsonl, iter_cases, open_lines
from hepcal.knowledge import KnowledgeBase, load
from hepcal.reasoning import assess as assess_case
from hepcal.reasoning.explain import explain_diagnosis


Format = formats("table", "json", "jsonl")
ExplainFormat = formats("table", "json")


def _kb(path: Optional[Path]) -> KnowledgeBase:
    return load(path) if path is not None else load()


KB_OPTION = typer.Option("--kb", help="Knowledge-base folder to use instead of the shipped one.", show_default=False)


def _stream(source: str, fmt: Format, kb: KnowledgeBase) -> tuple[int, int]:
    """Assess a JSONL stream line by line; returns (cases assessed, bad lines)."""
    if source == "-":
        lines, where = getattr(sys.stdin, "buffer", sys.stdin), "<stdin>"
    else:
        lines, where = open_lines(source), source
    good = bad = 0
    first = True
    if fmt is Format.json:
        sys.stdout.write("[")
    for line in iter_cases(lines, where):
        if line.error is not None:
            bad += 1
            error(line.error)
            continue
        good += 1
        a = assess_case(line.record, kb)
        if fmt is Format.table:
            out.print(assessment_view(a, title=escape(clean(f"{where}:{line.number}"))), soft_wrap=False)
            continue
        payload = {"line": line.number, **a.to_dict()}
        if fmt is Format.json:
            sys.stdout.write(("" if first else ",") + "\n" + json.dumps(payload))
            first = False
        else:
            write_line(json.dumps(payload))
    if fmt is Format.json:
        write_line("\n]")
    return good, bad


def stream_exit(good: int, bad: int) -> int:
    """The exit code of a JSONL run: 0 all assessed, 1 some lines failed, 2 none assessed."""
    if bad == 0 and good > 0:
        return 0
    if good == 0:
        return EXIT_USAGE
    return EXIT_PARTIAL


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def assess(
        source: Annotated[str, typer.Argument(help="Case file (.json/.yaml), many cases (.jsonl), or - for standard input.")],
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table (readable), json (the contract's assessment output) or jsonl (one line per case).")] = Format.table,
        kb_path: Annotated[Optional[Path], KB_OPTION] = None,
        report_dir: Annotated[Optional[Path], typer.Option("--report", help="Also write the reports of this case into this folder (see hepcal report).", show_default=False)] = None,
        lang: Annotated[Lang, LANG_OPTION] = "en",
    ) -> None:
        """Assess a case: ranked differential, P(malignant), recommendation, next findings."""
        kb = _kb(kb_path)
        if is_jsonl(source) or (source == "-" and fmt is Format.jsonl):
            if report_dir is not None:
                fail("--report writes the reports of one case; give a single case file (hepcal report writes them for a scan)")
            good, bad = _stream(source, fmt, kb)
            code = stream_exit(good, bad)
            if code == EXIT_USAGE:
                what = f"none of its {bad} line(s) could be assessed" if bad else "it holds no case (every line is blank)"
                error(f"{clean(source if source != '-' else '<stdin>')}: {what}")
            elif code == EXIT_PARTIAL:
                err.print(f"{bad} line(s) could not be assessed; the other {good} were.")
            if code:
                raise typer.Exit(code)
            return
        case = load_case(source, sys.stdin)
        a = assess_case(case, kb)
        if fmt is Format.table:
            out.print(assessment_view(a), soft_wrap=False)
        else:
            write_line(json.dumps(a.to_dict(), indent=None if fmt is Format.jsonl else 2))
        if report_dir is not None:
            from hepcal.cli.report import write_for_assessment

            write_for_assessment(a, kb, report_dir, name=Path(source).name if source != "-" else "stdin", lang=lang.value)

    @app.command()
    @handle_errors
    def explain(
        source: Annotated[str, typer.Argument(help="Case file (.json/.yaml) or - for standard input.")],
        diagnosis: Annotated[str, typer.Argument(help="Diagnosis id, e.g. hydatid_cyst (hepcal kb list shows them).")],
        fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="table (readable) or json (the explanation as data).")] = ExplainFormat.table,
        kb_path: Annotated[Optional[Path], KB_OPTION] = None,
    ) -> None:
        """Why a diagnosis has its probability: prior, each finding's likelihood ratio, references."""
        kb = _kb(kb_path)
        if diagnosis not in kb.ids:
            fail(f"unknown diagnosis {diagnosis!r}; allowed: {', '.join(kb.ids)}")
        case = load_case(source, sys.stdin)
        x = explain_diagnosis(case, diagnosis, kb)
        if fmt is ExplainFormat.table:
            from hepcal.cli.render_explain import explanation_view

            out.print(explanation_view(x))
        else:
            write_line(json.dumps(x, indent=2))

    @app.command()
    def schema() -> None:
        """Print the JSON Schema of the case format."""
        write_line(json.dumps(json_schema(), indent=2))
