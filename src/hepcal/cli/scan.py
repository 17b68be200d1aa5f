"""``hepcal scan`` (a CT study → calcified lesions, assessed) and ``hepcal phantom``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from hepcal.cli.common import err, handle_errors, out, write_line
from hepcal.errors import InputError


class ScanFormat(str, Enum):
    table = "table"
    json = "json"


class PhaseChoice(str, Enum):
    auto = "auto"
    unenhanced = "unenhanced"
    arterial = "arterial"
    portal = "portal"
    delayed = "delayed"


def _summary(result) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    d = result.to_dict()
    out.print(
        f"phase [bold]{d['phase']['used']}[/] (aorta {d['phase']['detected']['aorta_hu']} HU) · "
        f"threshold {d['threshold']['candidate_hu']:.0f}/{d['threshold']['definite_hu']:.0f} HU · liver: {d['liver']['source']}"
    )
    if not d["lesions"]:
        out.print("no calcified liver lesion found")
    else:
        t = Table(title="calcified liver lesions (proposed; the clinician confirms)")
        for col in ("#", "pattern", "lesion", "size mm", "max HU", "location", "top diagnosis", "P(malignant)"):
            t.add_column(col)
        for les in d["lesions"]:
            f, a = les["finding"], les["assessment"] or {}
            top = (a.get("differential") or [{}])[0]
            t.add_row(
                str(les["id"]), _pattern(les), f["lesion"], f"{f['size_mm']:.0f}", f"{f['max_hu']:.0f}", f["location"],
                f"{top.get('name', '-')} ({top.get('probability', 0):.2f})", f"{a.get('malignancy_probability', 0):.2f}",
            )
        out.print(t)
    for note in d["notes"]:
        out.print(f"[dim]- {note}[/]", highlight=False)


def _fetch(url: str, dest: Path):  # type: ignore[no-untyped-def]
    """Fetch the series the selection rules choose; say which and why on stderr."""
    from hepcal.pacs.dicomweb import client_from_env, fetch_study, parse_study_url

    ref = parse_study_url(url)
    client = client_from_env(ref.base_url)
    folder, choice = fetch_study(ref, dest, client=client)
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
        study: str = typer.Argument(..., help="DICOM series folder, a .zip of one, a .nii/.nii.gz CT volume, or a DICOMweb study address (https://<host>/<root>/studies/<StudyInstanceUID>; credentials from HEPCAL_DICOMWEB_TOKEN or HEPCAL_DICOMWEB_USER/PASSWORD)."),
        liver_mask: Optional[Path] = typer.Option(None, "--liver-mask", help="Liver mask: NIfTI label map or DICOM SEG (brought onto the CT through patient space)."),
        liver_label: Optional[int] = typer.Option(None, "--liver-label", help="Label value (NIfTI) or segment number (SEG) of the liver, e.g. 5 for TotalSegmentator."),
        phase: PhaseChoice = typer.Option(PhaseChoice.auto, "--phase", help="Contrast phase; auto detects it from the aorta and liver."),
        set_: list[str] = typer.Option([], "--set", help="Override or add a case-format key before assessment, e.g. finding.enhancement=arterial_washout (repeatable)."),
        series: Optional[str] = typer.Option(None, "--series", help="Series to read when a folder holds several (UID, series number or listed index)."),
        out_dir: Optional[Path] = typer.Option(None, "--out", help="Write findings.json, key images and (DICOM input) a DICOM SEG here."),
        fmt: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="table (readable) or json (findings.json on stdout)."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on standard error."),
        report_dir: Optional[Path] = typer.Option(None, "--report", help="Also write the reports (HTML, PDF, patient, FHIR, DICOM SR) into this folder (see hepcal report).", show_default=False),
        push: bool = typer.Option(False, "--push", help="DICOMweb study only: store the DICOM SEG and SR back in the study (STOW-RS); a rerun of the same version stores nothing twice."),
    ) -> None:
        """Find calcified liver lesions in a CT study, describe and assess each one."""
        import tempfile

        from hepcal.imaging.outputs import write_outputs
        from hepcal.imaging.pipeline import scan_study
        from hepcal.pacs.dicomweb import is_dicomweb_url

        held = tempfile.TemporaryDirectory(prefix="hepcal-scan-")
        remote = None
        if is_dicomweb_url(study):
            remote = _fetch(study, Path(held.name) / "study")
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

            write_for_findings(path, load(), report_dir, study=study_path)
        if push and remote is not None:
            _push(remote, result, out_dir if out_dir is not None else report_dir, report_dir)
        if fmt is ScanFormat.json:
            write_line(json.dumps(result.to_dict(), indent=2))
        else:
            _summary(result)

    @app.command()
    @handle_errors
    def phantom(
        pattern: list[str] = typer.Option(["rim"], "--pattern", help="Calcification pattern of a lesion to include (repeatable): " + "punctate, coarse, rim, central, central_scar, amorphous, septal, linear, ductal, diffuse, dense_nodular, vascular."),
        size: Optional[float] = typer.Option(None, "--size", help="Lesion diameter in mm (default per pattern)."),
        phase: PhaseChoice = typer.Option(PhaseChoice.unenhanced, "--phase", help="Contrast phase of the synthetic study."),
        seed: int = typer.Option(0, "--seed", help="Random seed (placement, shapes, noise)."),
        spacing: float = typer.Option(1.0, "--spacing", help="Isotropic voxel size in mm."),
        out_path: Path = typer.Option(..., "--out", help="Where to write the synthetic study (.nii.gz); a *_truth.json is written beside it."),
    ) -> None:
        """Write a synthetic CT study with known calcified lesions (for testing the pipeline)."""
        import nibabel as nib
        import numpy as np

        from hepcal.errors import InputError
        from hepcal.imaging.phantom import LesionSpec, make_phantom
        from hepcal.imaging.volume import ras_to_lps

        if phase is PhaseChoice.auto:
            raise InputError("--phase auto is for scan; give the phantom's phase (unenhanced, arterial, portal or delayed)")
        if not (out_path.name.endswith(".nii.gz") or out_path.name.endswith(".nii")):
            raise InputError(f"--out {out_path}: the phantom is written as NIfTI; use a .nii.gz name")
        ph = make_phantom(phase=phase.value, lesions=[LesionSpec(p, size) for p in pattern], seed=seed, spacing=(spacing,) * 3)
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
