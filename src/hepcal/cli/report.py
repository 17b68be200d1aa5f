"""``hepcal report``: the radiologist report, patient summary, FHIR and DICOM SR of a case or scan."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepcal.cli.common import err, handle_errors, out
from hepcal.knowledge import KnowledgeBase, load
from hepcal.reasoning import Assessment

def _languages() -> tuple[str, ...]:
    from hepcal.report.messages import available_languages

    return available_languages()


#: Languages with a catalogue (hepcal/report/messages/<lang>.yaml): en, zh.
Lang = Enum("Lang", {code: code for code in _languages()}, type=str)  # type: ignore[misc]
LANG_OPTION = typer.Option("--lang", help="Language of the patient summary (the other reports too where the catalogue covers them; else English).")


def _print_written(written: dict[str, Path], to_stderr: bool = False) -> None:
    console = err if to_stderr else out
    for path in written.values():
        console.print(str(path), markup=False, highlight=False)


def write_for_assessment(a: Assessment, kb: KnowledgeBase, out_dir: Path, *, name: str, lang: str = "en") -> None:
    """``hepcal assess --report DIR``: write the reports of the case just assessed (list on stderr)."""
    from hepcal.report.source import from_assessment
    from hepcal.report.writer import write_reports

    _print_written(write_reports(from_assessment(a, name=name), out_dir, kb, lang=lang), to_stderr=True)


def write_for_findings(findings: Path, kb: KnowledgeBase, out_dir: Path, *, study: Path | None = None, lang: str = "en") -> None:
    """``hepcal scan --report DIR``: write the reports of a scan's findings.json (list on stderr)."""
    from hepcal.report.source import from_findings
    from hepcal.report.writer import write_reports

    _print_written(write_reports(from_findings(findings, kb, study=study), out_dir, kb, lang=lang), to_stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def report(
        source: Annotated[Path, typer.Argument(help="A case file (.yaml/.json) or a scan's findings.json (every lesion).")],
        out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html, report.pdf, patient.html, fhir.json (and sr.dcm for a DICOM scan).")],
        study: Annotated[Optional[Path], typer.Option("--study", help="For a findings.json: the DICOM study folder the scan read (needed for sr.dcm).", show_default=False)] = None,
        lang: Annotated[Lang, LANG_OPTION] = "en",
        kb_path: Annotated[Optional[Path], typer.Option("--kb", help="Knowledge-base folder to use instead of the shipped one.", show_default=False)] = None,
    ) -> None:
        """Write the reports of a case or of a scan: radiologist (HTML, PDF), patient, FHIR R4, DICOM SR."""
        from hepcal.report.messages import messages
        from hepcal.report.source import load_source
        from hepcal.report.writer import write_reports

        messages(lang.value)
        kb = load(kb_path) if kb_path is not None else load()
        _print_written(write_reports(load_source(source, kb, study=study), out_dir, kb, lang=lang.value))
