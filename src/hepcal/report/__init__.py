"""Reports: the radiologist report (HTML, PDF), the patient summary, FHIR R4 and DICOM SR.

Every writer reads one :class:`~hepcal.report.source.ReportSource` (an assessed case, or every
lesion of a scan) and takes ``now`` as a parameter, so a report is reproducible: it names
hepcal's version, the knowledge-base version and the date it was made.
"""

from hepcal.report.source import Lesion, ReportSource, from_assessment, from_case, from_findings, load_source

__all__ = ["Lesion", "ReportSource", "from_assessment", "from_case", "from_findings", "load_source"]
