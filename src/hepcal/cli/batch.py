"""``hepcal batch``: scan and assess many studies, locally or on a Dask cluster, resumably."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from hepcal.cli.common import EXIT_PARTIAL, err, handle_errors, out

#: Rows of the failure and malignancy lists printed at the end (the CSV has them all).
SHOW = 15
EXIT_INTERRUPTED = 130


class RateColumn(ProgressColumn):
    """Studies per second since the bar started."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- studies/s" if speed is None else f"{speed:.2f} studies/s", style="progress.data.speed")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's kill, ``kill``) ends the run like Ctrl-C: tables rebuilt first."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _summary_view(report: Any) -> list[Table]:
    s, p = report.summary, report.plan
    t = Table(title=f"Batch results in {report.out}", title_justify="left")
    t.add_column("")
    t.add_column("count", justify="right")
    t.add_row("studies", str(s.studies))
    t.add_row("  succeeded", str(s.succeeded))
    t.add_row("  failed", str(s.failed))
    t.add_row("  succeeded with study-check warnings (summary.csv lists them)", str(len({src for src, _ in s.warned})))
    t.add_row("  run now", str(report.ran + len(p.to_record)))
    t.add_row("  already done (skipped)", str(p.done))
    if p.failed_before:
        t.add_row("  failed before (skipped; --retry-failed to rerun)", str(p.failed_before))
    if p.duplicates:
        t.add_row("  duplicates of another study (not rerun)", str(len(p.duplicates)))
    t.add_row("lesions", str(s.lesions))
    t.add_row("  in studies", str(s.studies_with_lesions))
    t.add_row("malignancy not excluded (studies)", str(len(s.not_excluded)))
    for pattern, n in sorted(s.patterns.items(), key=lambda kv: (-kv[1], kv[0])):
        t.add_row(f"pattern: {pattern}", str(n))
    tables = [t]
    if s.not_excluded:
        m = Table(title="Studies where malignancy could not be excluded", title_justify="left")
        m.add_column("study")
        m.add_column("max P(malignant)", justify="right")
        m.add_column("lesions flagged", justify="right")
        for src, prob, n in s.not_excluded[:SHOW]:
            m.add_row(src, f"{prob:.0%}", str(n))
        if len(s.not_excluded) > SHOW:
            m.add_row(f"… and {len(s.not_excluded) - SHOW} more (summary.csv lists all)", "", "")
        tables.append(m)
    if s.failures:
        f = Table(title="Failed studies", title_justify="left")
        f.add_column("study")
        f.add_column("error", overflow="fold")
        for src, error in s.failures[:SHOW]:
            f.add_row(src, error.splitlines()[0] if error else "")
        if len(s.failures) > SHOW:
            f.add_row(f"… and {len(s.failures) - SHOW} more (summary.csv lists all)", "")
        tables.append(f)
    return tables


def _dask(scheduler: str, workers: int) -> Any:
    from hepcal.batch.cluster import dask_executor

    return dask_executor(scheduler, workers)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def batch(
        source: Annotated[Optional[Path], typer.Argument(help="Folder of studies (NIfTI, .zip, DICOM; searched recursively) or a CSV manifest (columns study, mask, mask_label and case-format keys); or --dicomweb instead.", show_default=False)] = None,
        out_dir: Path = typer.Option(..., "--out", "-o", help="Results folder: studies.parquet, lesions.parquet, summary.csv, parts/."),
        workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local worker processes (default: CPUs, at most 4); with --scheduler local, the LocalCluster's workers.", show_default=False)] = None,
        scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786) to run on an existing cluster, or 'local' for a LocalCluster.", show_default=False)] = None,
        retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run again the studies that failed in an earlier run (done ones are always skipped).")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        dicomweb: Annotated[Optional[str], typer.Option("--dicomweb", help="Take the studies from a PACS: its DICOMweb service root (or a QIDO-RS .../studies?ModalitiesInStudy=CT&StudyDate=A-B address). Credentials from HEPCAL_DICOMWEB_TOKEN or HEPCAL_DICOMWEB_USER/PASSWORD.", show_default=False)] = None,
        modality: Annotated[Optional[str], typer.Option("--modality", help="With --dicomweb: studies holding this modality (default CT).", show_default=False)] = None,
        since: Annotated[Optional[str], typer.Option("--since", help="With --dicomweb: study date from (YYYYMMDD, inclusive).", show_default=False)] = None,
        until: Annotated[Optional[str], typer.Option("--until", help="With --dicomweb: study date to (YYYYMMDD, inclusive).", show_default=False)] = None,
        limit: Annotated[Optional[int], typer.Option("--limit", help="With --dicomweb: at most this many studies (oldest first).", show_default=False)] = None,
    ) -> None:
        """Scan and assess every study of a folder or manifest; rerun to resume."""
        from hepcal.batch import LocalExecutor, run_batch
        from hepcal.batch.dicomweb import source_of

        source = source_of(source, dicomweb, modality=modality, since=since, until=until, limit=limit)
        n = workers or default_workers()
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet,
            transient=False,
        )
        failed = 0
        bar: dict[str, Any] = {}

        def on_start(plan: Any) -> None:
            total = len(plan.to_run) + len(plan.to_record)
            skipped = plan.done + plan.failed_before
            if skipped:
                err.print(f"{len(plan.studies)} studies: {plan.done} already done, {plan.failed_before} failed before (skipped), {total} to run", highlight=False)
            bar["id"] = progress.add_task("studies", total=total)

        def on_result(rec: dict[str, Any]) -> None:
            nonlocal failed
            failed += rec.get("status") != "ok"
            desc = f"studies ([red]{failed} failed[/])" if failed else "studies"
            progress.update(bar["id"], advance=1, description=desc)

        with _terminate_as_interrupt(), progress:
            if scheduler is None:
                report = run_batch(source, out_dir, executor=LocalExecutor(n), retry_failed=retry_failed, on_start=on_start, on_result=on_result)
            else:
                report = run_batch(source, out_dir, executor_factory=lambda: _dask(scheduler, n), retry_failed=retry_failed, on_start=on_start, on_result=on_result)
        for table in _summary_view(report):
            out.print(table)
        if report.ran:
            err.print(f"{report.ran} studies in {report.seconds:.1f} s ({report.rate:.2f} studies/s) on {report.executor}", highlight=False)
        if report.interrupted:
            err.print("interrupted: every finished study is saved; run the same command again to continue", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED)
        if not report.summary.all_succeeded:
            raise typer.Exit(EXIT_PARTIAL)
