"""``hepcal scan`` (a CT study → calcified lesions, assessed) and ``hepcal phantom``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from hepcal.cli.common import err, handle_errors, out, write_line


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
                str(les["id"]), ", ".join(f["calcification"]), f["lesion"], f"{f['size_mm']:.0f}", f"{f['max_hu']:.0f}", f["location"],
                f"{top.get('name', '-')} ({top.get('probability', 0):.2f})", f"{a.get('malignancy_probability', 0):.2f}",
            )
        out.print(t)
    for note in d["notes"]:
        out.print(f"[dim]- {note}[/]", highlight=False)
    _warnings(d.get("warnings") or [])


def _warnings(warnings: list[dict[str, str]]) -> None:
    """Study-check warnings: analysed, but the reader must know (text shown as is, no markup)."""
    from rich.text import Text

    for w in warnings:
        out.print(Text.assemble(("warning ", "bold yellow"), (f"[{w['check']}] ", "yellow"), w["message"]), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def scan(
        study: Path = typer.Argument(..., help="DICOM series folder, a .zip of one, or a .nii/.nii.gz CT volume."),
        liver_mask: Optional[Path] = typer.Option(None, "--liver-mask", help="Liver mask: NIfTI label map or DICOM SEG (brought onto the CT through patient space)."),
        liver_label: Optional[int] = typer.Option(None, "--liver-label", help="Label value (NIfTI) or segment number (SEG) of the liver, e.g. 5 for TotalSegmentator."),
        phase: PhaseChoice = typer.Option(PhaseChoice.auto, "--phase", help="Contrast phase; auto detects it from the aorta and liver."),
        set_: list[str] = typer.Option([], "--set", help="Override or add a case-format key before assessment, e.g. finding.enhancement=arterial_washout (repeatable)."),
        series: Optional[str] = typer.Option(None, "--series", help="Series to read when a folder holds several (UID, series number or listed index)."),
        out_dir: Optional[Path] = typer.Option(None, "--out", help="Write findings.json, key images and (DICOM input) a DICOM SEG here."),
        fmt: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="table (readable) or json (findings.json on stdout)."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on standard error."),
        report_dir: Optional[Path] = typer.Option(None, "--report", help="Also write the reports (HTML, PDF, patient, FHIR, DICOM SR) into this folder (see hepcal report).", show_default=False),
    ) -> None:
        """Find calcified liver lesions in a CT study, describe and assess each one."""
        from hepcal.imaging.outputs import write_outputs
        from hepcal.imaging.pipeline import scan_study

        bar = None
        if progress and err.is_terminal:
            from tqdm import tqdm

            bar = tqdm(total=100, desc="scan", unit="%", file=err.file, leave=False)

        def report(step: str, frac: float) -> None:
            if bar is not None:
                bar.set_description(step)
                bar.n = int(frac * 100)
                bar.refresh()

        try:
            result = scan_study(study, liver_mask=liver_mask, liver_label=liver_label, phase=phase.value, overrides=tuple(set_), series=series, progress=report)
        finally:
            if bar is not None:
                bar.close()
        if out_dir is not None or report_dir is not None:
            path = write_outputs(result, out_dir if out_dir is not None else report_dir)
            if fmt is ScanFormat.table:
                err.print(f"wrote {path}", highlight=False)
        if report_dir is not None:
            from hepcal.cli.report import write_for_findings
            from hepcal.knowledge import load

            write_for_findings(path, load(), report_dir, study=study)
        if fmt is ScanFormat.json:
            write_line(json.dumps(result.to_dict(), indent=2))
            for w in result.warnings:
                err.print(f"warning [{w['check']}]: {w['message']}", markup=False, highlight=False)
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
