"""``hepcal scan`` (a CT study → calcified lesions, assessed) and ``hepcal phantom``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepcal.cli.common import err, formats, handle_errors, out, write_line
from hepcal.cli.report import LANG_OPTION, Lang
from hepcal.errors import InputError
from hepcal.findings.contract import contract


ScanFormat = formats("table", "json")


#: The calcification patterns of the case format (the phantom draws every one of them).
PatternChoice = Enum("PatternChoice", {v: v for v in contract().field("finding.calcification").values}, type=str)  # type: ignore[misc]


class PhaseChoice(str, Enum):
    auto = "auto"
    unenhanced = "unenhanced"
    arterial = "arterial"
    portal = "portal"
    delayed = "delayed"


#: A phantom is made in one phase: every choice but auto.
PhantomPhase = Enum("PhantomPhase", {p.value: p.value for p in PhaseChoice if p is not PhaseChoice.auto}, type=str)  # type: ignore[misc]


def _summary(result) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from hepcal.cli.render import pct

    d = result.to_dict()
    out.print(
        f"phase [bold]{d['phase']['used']}[/] (aorta {d['phase']['detected']['aorta_hu']} HU) · "
        f"threshold {d['threshold']['candidate_hu']:.0f}/{d['threshold']['definite_hu']:.0f} HU · liver: {d['liver']['source']}"
    )
    liver_ml = d["liver"].get("volume_ml")
    if liver_ml:
        out.print(f"liver volume {liver_ml:.0f} ml", highlight=False)
    if not d["lesions"]:
        out.print("no calcified liver lesion found: a normal result for this question (check the liver outline image)")
    else:
        t = Table(title="calcified liver lesions (proposed; the clinician confirms)", title_justify="left")
        for col, justify in (("#", "right"), ("finding", "left"), ("size mm", "right"), ("max HU", "right"),
                             ("leading diagnosis", "left"), ("P malignant", "right")):
            t.add_column(col, justify=justify, overflow="fold")
        for les in d["lesions"]:
            f, a = les["finding"], les["assessment"] or {}
            top = (a.get("differential") or [{}])[0]
            lead = f"{top.get('name', '-')} ({pct(float(top.get('probability', 0)))})" if top else "-"
            finding = f"{_pattern(les)} · {f['lesion']} · {f['location']}"
            t.add_row(str(les["id"]), finding, f"{f['size_mm']:.0f}", f"{f['max_hu']:.0f}", lead, pct(float(a.get("malignancy_probability", 0))))
        out.print(t, soft_wrap=False)
    for note in d["notes"]:
        out.print(f"[dim]- {note}[/]", highlight=False, soft_wrap=False)
    _warnings(d.get("warnings") or [])


def _warnings(warnings: list[dict[str, str]]) -> None:
    """Study-check warnings: analysed, but the reader must know (text shown as is, no markup)."""
    from rich.text import Text

    for w in warnings:
        out.print(Text.assemble(("warning ", "bold yellow"), (f"[{w['check']}] ", "yellow"), w["message"]), highlight=False)


def _scan_phases(study: Path, liver_mask: Optional[Path], liver_label: Optional[int], overrides: tuple[str, ...], progress):  # type: ignore[no-untyped-def]
    """Every phase of a DICOM study: calcium on the unenhanced series, enhancement from the others."""
    from hepcal.imaging.liver import load_mask
    from hepcal.imaging.multiphase import read_phases, scan_phases

    if not study.is_dir() and not study.suffix.lower() == ".zip":
        raise InputError(f"--multiphase reads the series of a DICOM folder (or .zip); {study.name} is neither")
    volumes = read_phases(study)
    mask = load_mask(liver_mask, volumes[0], label=liver_label) if liver_mask is not None else None
    return scan_phases(volumes, liver_mask=mask, overrides=overrides, progress=progress)


def _fetch(url: str, dest: Path, every_phase: bool = False):  # type: ignore[no-untyped-def]
    """Fetch the series the selection rules choose (all usable ones for a multi-phase scan)."""
    from hepcal.pacs.dicomweb import client_from_env, fetch_study, parse_study_url

    ref = parse_study_url(url)
    client = client_from_env(ref.base_url)
    folder, choice = fetch_study(ref, dest, client=client, every_usable=every_phase)
    err.print(f"series analysed: {choice.chosen.label()} ({'; '.join(choice.reasons)})", markup=False, highlight=False)
    for uid, why in choice.rejected.items():
        err.print(f"  set aside {uid}: {why}", markup=False, highlight=False)
    return ref, folder, client


def _push(remote, result, results_dir: Path, report_dir: Optional[Path]) -> None:  # type: ignore[no-untyped-def]
    """Store the SEG and the SR of this scan in the study (writing the SR when not yet written)."""
    from hepcal.knowledge import load
    from hepcal.pacs.dicomweb import push
    from hepcal.report.source import from_findings
    from hepcal.report.sr import write_sr

    ref, folder, client = remote
    files = [results_dir / result.seg_file] if result.seg_file else []
    sr = (report_dir / "sr.dcm") if report_dir is not None else None
    if sr is None or not sr.exists():
        sr = write_sr(from_findings(results_dir / "findings.json", load(), study=folder), results_dir / "sr.dcm")
    if sr is not None:
        files.append(sr)
    stored = push(ref, files, client=client)
    err.print(f"stored in the PACS: {len(stored.stored)} object(s)" + (f"; not stored again: {', '.join(stored.skipped)}" if stored.skipped else ""), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def scan(
        study: Annotated[str, typer.Argument(help="DICOM series folder, a .zip of one, a .nii/.nii.gz CT volume, or a DICOMweb study address (https://<host>/<root>/studies/<StudyInstanceUID>; credentials from HEPCAL_DICOMWEB_TOKEN or HEPCAL_DICOMWEB_USER/PASSWORD).")],
        liver_mask: Annotated[Optional[Path], typer.Option("--liver-mask", help="Liver mask: NIfTI label map or DICOM SEG (brought onto the CT through patient space).")] = None,
        liver_label: Annotated[Optional[int], typer.Option("--liver-label", help="Label value (NIfTI) or segment number (SEG) of the liver, e.g. 5 for TotalSegmentator.")] = None,
        phase: Annotated[PhaseChoice, typer.Option("--phase", help="Contrast phase; auto detects it from the aorta and liver.")] = PhaseChoice.auto,
        set_: Annotated[list[str], typer.Option("--set", help="Override or add a case-format key before assessment, e.g. finding.enhancement=arterial_washout (repeatable).")] = [],
        series: Annotated[Optional[str], typer.Option("--series", help="Series to read when a folder holds several (UID, series number or listed index).")] = None,
        out_dir: Annotated[Optional[Path], typer.Option("--out", help="Write findings.json, key images and (DICOM input) a DICOM SEG here.")] = None,
        fmt: Annotated[ScanFormat, typer.Option("--format", "-f", help="table (readable) or json (findings.json on stdout).")] = ScanFormat.table,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar on standard error.")] = True,
        report_dir: Annotated[Optional[Path], typer.Option("--report", help="Also write the reports (HTML, PDF, patient, FHIR, DICOM SR) into this folder (see hepcal report).", show_default=False)] = None,
        multiphase: Annotated[bool, typer.Option("--multiphase", help="The study holds several contrast phases (a DICOM folder, or a DICOMweb study): find calcium on the unenhanced series and measure each lesion's enhancement in the others.")] = False,
        push: Annotated[bool, typer.Option("--push", help="DICOMweb study only: store the DICOM SEG and SR back in the study (STOW-RS); a rerun of the same version stores nothing twice.")] = False,
        lang: Annotated[Lang, LANG_OPTION] = "en",
    ) -> None:
        """Find calcified liver lesions in a CT study, describe and assess each one."""
        import tempfile

        from hepcal.imaging.outputs import write_outputs
        from hepcal.imaging.pipeline import scan_study
        from hepcal.pacs.dicomweb import is_dicomweb_url

        held = tempfile.TemporaryDirectory(prefix="hepcal-scan-")
        remote = None
        if is_dicomweb_url(study):
            remote = _fetch(study, Path(held.name) / "study", every_phase=multiphase)
            study_path = remote[1]
            if push and out_dir is None and report_dir is None:
                out_dir = Path(held.name) / "results"
        else:
            if push:
                raise InputError("--push stores results back in a PACS: it needs a DICOMweb study address, not a local study")
            study_path = Path(study)

        bar = task = None
        if progress and err.is_terminal:
            from rich.progress import Progress

            bar = Progress(console=err, transient=True)
            task = bar.add_task("scan", total=100)
            bar.start()

        def report(step: str, frac: float) -> None:
            if bar is not None:
                bar.update(task, description=step, completed=int(frac * 100))

        try:
            if multiphase:
                result = _scan_phases(study_path, liver_mask, liver_label, tuple(set_), report)
            else:
                result = scan_study(study_path, liver_mask=liver_mask, liver_label=liver_label, phase=phase.value, overrides=tuple(set_), series=series, progress=report)
        finally:
            if bar is not None:
                bar.stop()
        if out_dir is not None or report_dir is not None:
            path = write_outputs(result, out_dir if out_dir is not None else report_dir)
            if fmt is ScanFormat.table:
                err.print(f"wrote {path}", highlight=False)
        if report_dir is not None:
            from hepcal.cli.report import write_for_findings
            from hepcal.knowledge import load

            write_for_findings(path, load(), report_dir, study=study_path, lang=lang.value)
        if push and remote is not None:
            _push(remote, result, out_dir if out_dir is not None else report_dir, report_dir)
        if fmt is ScanFormat.json:
            write_line(json.dumps(result.to_dict(), indent=2))
            for w in result.warnings:
                err.print(f"warning [{w['check']}]: {w['message']}", markup=False, highlight=False)
        else:
            _summary(result)

    @app.command()
    @handle_errors
    def phantom(
        pattern: Annotated[list[PatternChoice], typer.Option("--pattern", help="Calcification pattern of a lesion to include (repeatable).")] = [PatternChoice("rim")],
        size: Annotated[Optional[float], typer.Option("--size", help="Lesion diameter in mm (default per pattern).")] = None,
        phase: Annotated[PhantomPhase, typer.Option("--phase", help="Contrast phase of the synthetic study.")] = PhantomPhase.unenhanced,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (placement, shapes, noise).")] = 0,
        spacing: Annotated[float, typer.Option("--spacing", help="Isotropic voxel size in mm.")] = 1.0,
        out_path: Path = typer.Option(..., "--out", help="Where to write the synthetic study (.nii.gz); a *_truth.json is written beside it."),
    ) -> None:
        """Write a synthetic CT study with known calcified lesions (for testing the pipeline)."""
        import nibabel as nib
        import numpy as np

        from hepcal.errors import InputError
        from hepcal.imaging.phantom import LesionSpec, make_phantom
        from hepcal.imaging.volume import ras_to_lps

        if not (out_path.name.endswith(".nii.gz") or out_path.name.endswith(".nii")):
            raise InputError(f"--out {out_path}: the phantom is written as NIfTI; use a .nii.gz name")
        ph = make_phantom(phase=phase.value, lesions=[LesionSpec(p.value, size) for p in pattern], seed=seed, spacing=(spacing,) * 3)
        nib.save(nib.Nifti1Image(ph.volume.array, ras_to_lps(ph.volume.affine)), str(out_path))
        stem = out_path.name[: -len(".nii.gz")] if out_path.name.endswith(".nii.gz") else out_path.stem
        truth = {
            "phase": ph.phase,
            "lesions": [{"pattern": t.pattern, "lesion": t.lesion, "center_mm_lps": list(t.center_mm), "size_mm": t.size_mm} for t in ph.lesions],
        }
        (out_path.parent / f"{stem}_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        nib.save(nib.Nifti1Image(ph.liver.astype(np.uint8), ras_to_lps(ph.volume.affine)), str(out_path.parent / f"{stem}_liver.nii.gz"))
        err.print(f"wrote {out_path} ({len(ph.lesions)} lesion(s)), {stem}_truth.json and {stem}_liver.nii.gz", highlight=False)


def _pattern(lesion: dict) -> str:
    """The finding's pattern, or the candidates when the measurements left it uncertain."""
    named = lesion["finding"].get("calcification")
    if named:
        return ", ".join(named)
    return "uncertain: " + " / ".join(lesion.get("features", {}).get("pattern_candidates", []))
