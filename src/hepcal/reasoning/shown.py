"""A probability as hepcal writes it: never rounded up to certainty or down to nothing.

A clinician reads "100%" as certain and "0%" as impossible; the engine's probabilities are
neither unless they are exactly 1 or 0. Every place that writes a probability as a percentage
(reasons, tables, reports) formats a :class:`Shown` value, so the rule lives here once.
"""

from __future__ import annotations


class Shown(float):
    """A float whose percentage format (``.0%``, ``.1%``…) says ">99%" for 0.996 and "<1%" for
    0.003 (">99.9%" and "<0.1%" with one decimal) instead of rounding to 100 % or 0 %."""

    def __format__(self, spec: str) -> str:
        if spec.endswith("%") and spec.startswith(".") and spec[1:-1].isdigit():
            step = 10.0 ** -(int(spec[1:-1]) + 2)  # the smallest difference the format shows
            if 1.0 - step / 2 <= self < 1.0:
                return ">" + format(1.0 - step, spec)
            if 0.0 < self < step / 2:
                return "<" + format(step, spec)
        return format(float(self), spec)
