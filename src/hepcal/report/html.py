"""Render the radiologist report and the patient summary to HTML (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

_EMPHASIS = re.compile(r"\*([^*<>]+)\*")


def cite(text: str) -> Markup:
    """A citation with its *journal* emphasis as italics; escaped first, so nothing else passes."""
    return Markup(_EMPHASIS.sub(r"<em>\1</em>", str(escape(text))))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One environment; autoescape is on for every template, whatever its extension.

    StrictUndefined makes a key missing from a catalogue an error rather than an empty gap.
    """
    env = Environment(
        loader=PackageLoader("hepcal.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["cite"] = cite
    return env


def render_report(context: dict[str, Any]) -> str:
    """The radiologist report (screen and print share one template)."""
    return environment().get_template("report.html.j2").render(**context)


def render_patient(context: dict[str, Any]) -> str:
    """The patient summary."""
    return environment().get_template("patient.html.j2").render(**context)
