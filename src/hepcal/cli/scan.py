"""``hepcal scan`` (a CT study → calcified lesions, assessed) and ``hepcal phantom``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from hepcal.cli.common import err, formats, handle_errors, out, write_line
from hepcal.cli.report import LANG_OPTION, Lang


ScanFormat = formats("table", "json")


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
            finding = f"{', '.join(f['calcification'])} · {f['lesion']} · {f['location']}"
            t.add_row(str(les["id"]), finding, f"{f['size_mm']:.0f}", f"{f['max_hu']:.0f}", lead, pct(float(a.get("malignancy_probability", 0))))
        out.print(t, soft_wrap=False)
    for note in d["notes"]:
        out.print(f"[dim]- {note}[/]", highlight=False, soft_wrap=False)


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
        lang: Lang = LANG_OPTION,
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

            write_for_findings(path, load(), report_dir, study=study, lang=lang.value)
        if fmt is ScanFormat.json:
            write_line(json.dumps(result.to_dict(), indent=2))
        else:
            _summary(result)

    @app.command()
    @handle_errors
    def phantom(
        pattern: list[str] = typer.Option(["rim"], "--pattern", help="Calcification pattern of a lesion to include (repeatable): " + "punctate, coarse, rim, central, central_scar, amorphous, septal, linear, ductal, diffuse, dense_nodular, vascular."),
        size: Optional[float] = typer.Option(None, "--size", help="Lesion diameter in mm (default per pattern)."),
        phase: PhantomPhase = typer.Option(PhantomPhase.unenhanced, "--phase", help="Contrast phase of the synthetic study."),
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
