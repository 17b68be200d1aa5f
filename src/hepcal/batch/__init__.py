"""Batch: scan and assess thousands of studies, locally or on a Dask cluster, resumably.

Input is a folder (NIfTI, .zip, DICOM series grouped by SeriesInstanceUID) or a CSV manifest;
each study runs the CT pipeline and the assessment on a worker; each outcome is written as its
own file as soon as it arrives, and ``studies.parquet``, ``lesions.parquet`` and
``summary.csv`` are rebuilt from those files. See docs/batch.md.
"""

from hepcal.batch.executors import Executor, LocalExecutor
from hepcal.batch.runner import BatchReport, Plan, plan, run_batch
from hepcal.batch.study import Study
from hepcal.batch.summary import Summary, summarize
from hepcal.batch.worker import WorkerContext, run_study

__all__ = [
    "BatchReport",
    "Executor",
    "LocalExecutor",
    "Plan",
    "Study",
    "Summary",
    "WorkerContext",
    "plan",
    "run_batch",
    "run_study",
    "summarize",
]
