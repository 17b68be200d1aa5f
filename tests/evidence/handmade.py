"""Small hand-made library files for tests (never fake cases in the library itself)."""

from __future__ import annotations


SERIES = """
- id: hyd-rim-series
  source: {citation: "Author B. Hydatid series. J Test 2010;2:3-4.", doi: "10.1000/test"}
  diagnosis: hydatid_cyst
  finding: finding.calcification.rim
  state: true
  k: 12
  n: 40
  where: "Table 2"
- id: hyd-lesion-series
  source: {citation: "Author B. Hydatid series. J Test 2010;2:3-4.", doi: "10.1000/test"}
  diagnosis: hydatid_cyst
  finding: finding.lesion
  state: cystic
  k: 8
  n: 10
  where: "Table 3"
"""
