"""The case library: published cases and series counts the knowledge base is fitted to.

Data lives beside this package (``cases/``, ``holdout/``, ``series/``; format in
docs/case-library.md). :mod:`hepcal.evidence.models` describes a record, :mod:`hepcal.evidence.library`
reads and validates the files. The fit (``hepcal.fit``) reads development cases and series only:
the hold-out is read by the final scoring and nothing else.
"""

from hepcal.evidence.library import EvidenceError, LibraryCase, load_cases, load_holdout, load_series
from hepcal.evidence.models import CaseRecord, SeriesCount

__all__ = ["CaseRecord", "EvidenceError", "LibraryCase", "SeriesCount", "load_cases", "load_holdout", "load_series"]
