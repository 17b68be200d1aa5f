"""Words for the pages: contract keys and action ids as a clinician reads them.

The live result of the assess page is drawn by the same templates (``POST /assess/result``),
so server-rendered and live results read alike.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from hepcal.findings.contract import contract
from hepcal.reasoning.shown import Shown
from hepcal.web.checklist import words

_OBS = re.compile(r"^(?P<key>[a-z_]+\.[a-z0-9_]+)(?P<op>=|≠)(?P<value>.*)$")


@lru_cache(maxsize=1)
def field_labels() -> dict[str, str]:
    return {path: spec.label for path, spec in contract().fields.items()}


@lru_cache(maxsize=1)
def action_words() -> dict[str, str]:
    """Action id → words, from the policy's texts when the knowledge base loads."""
    out = {a: words(a) for a in contract().actions}
    try:
        from hepcal.knowledge import load

        texts = load().policy.texts
        out.update({a: texts[f"actions.{a}"] for a in out if f"actions.{a}" in texts})
    except Exception:  # the plain words are a fine fallback
        pass
    return out


def finding_text(observation: str) -> str:
    """``finding.calcification=rim`` → ``Calcification pattern(s): rim``."""
    m = _OBS.match(observation)
    if not m:
        return observation
    label = field_labels().get(m["key"], m["key"])
    value = m["value"]
    if value in ("true", "false"):
        value = "yes" if value == "true" else "no"
    value = words(value)
    return f"{label}: {'not ' if m['op'] == '≠' else ''}{value}"


def percent(p: float) -> str:
    """Whole percentages, never rounded to 100 % or 0 % (">99%", "<1%")."""
    return format(Shown(float(p)), ".0%")


def outcome_choices(finding: str, outcomes: dict[str, float]) -> list[dict[str, Any]]:
    """Buttons of a next-finding suggestion: the value each would enter, with its probability."""
    spec = contract().fields.get(finding)
    if spec is None or spec.type not in ("bool", "enum"):
        return []
    out = []
    for state, p in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        text = ("yes" if state == "true" else "no") if spec.type == "bool" else words(state)
        out.append({"value": state, "text": text, "p": p})
    return out
