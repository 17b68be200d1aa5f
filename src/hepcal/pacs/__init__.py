"""hepcal beside the PACS: studies from it and results back to it.

``selection`` chooses the series to analyse by documented rules (``selection.yaml``);
``dicomweb`` reads a study over DICOMweb (QIDO-RS, WADO-RS) and stores results back (STOW-RS);
``node`` is a DICOM node (C-ECHO, C-STORE) with a queue on disk; ``results`` finds the objects a
scan wrote (SEG, SR) and what they refer to. The network lives here, at the edge: the imaging and
reasoning code never opens a connection.
"""
