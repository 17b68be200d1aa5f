"""The CT pipeline: read a study, find the liver, detect and characterise calcifications.

The image analysis proposes; the clinician confirms. Every stage is a pure function over a
:class:`~hepcal.imaging.volume.Volume`; reading and writing files happens at the edges
(:mod:`~hepcal.imaging.reading`, :mod:`~hepcal.imaging.outputs`).
"""

from hepcal.imaging.volume import Volume

__all__ = ["Volume"]
