"""Rich renderings of an assessment for the terminal (the CLI's table format).

Everything works on the contract's assessment output (``Assessment.to_dict()``), so fields that
other parts of hepcal add (``recommendation.plan``, ``probability_interval``, ``atypical``,
``similar_cases``) show when present and leave no trace when absent. Tables fit the console
width by wrapping, never by cutting a name: at under ``WIDE`` columns (80 by default, and
whenever output is piped) the probability bar and the for/against column move out of the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hepcal.reasoning.shown import Shown

BAR = 20
WIDE = 120  # console columns from which the bar and the for/against column sit in the table
ROWS = 8
ARGUED = 3
_EMPHASIS = re.compile(r"\*([^*]+)\*")


def similar_note() -> str:
    """The caveat printed above the similar published cases (the report's own words)."""
    from hepcal.report.messages import messages  # the report's catalogue, read on first use

    return str(messages()["report"]["similar_note"])


def bar(p: float) -> str:
    n = round(p * BAR)
    return "█" * n + "·" * (BAR - n)


def pct(p: float) -> str:
    """A probability as a percentage, with a decimal where 0% or 100% would mislead, and never
    rounded to certainty (">99.9%", "<0.1%": :class:`~hepcal.reasoning.shown.Shown`)."""
    return format(Shown(p), ".0%" if p in (0.0, 1.0) or 0.095 <= p <= 0.995 else ".1%")


def interval(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{pct(float(value[0]))}–{pct(float(value[1]))}"
    return ""


def short(label: str) -> str:
    """A finding label without its section (``finding.calcification=rim`` → ``calcification=rim``)."""
    return label.split(".", 1)[1] if "." in label.split("=")[0].split("≠")[0] else label


def markdown_text(text: str, style: str = "") -> Text:
    """Text whose ``*emphasis*`` (citations' journal names) is shown in italics, not as asterisks."""
    out = Text(style=style)
    pos = 0
    for m in _EMPHASIS.finditer(text):
        out.append(text[pos:m.start()])
        out.append(m.group(1), style="italic")
        pos = m.end()
    out.append(text[pos:])
    return out


def _basis(e: Mapping[str, Any], n_for: int = 2, n_against: int = 1) -> Text:
    pro = ", ".join(f"{short(c['finding'])} +{float(c['weight']):.1f}" for c in e.get("for", [])[:n_for])
    con = ", ".join(f"{short(c['finding'])} {float(c['weight']):.1f}" for c in e.get("against", [])[:n_against])
    t = Text(pro, style="green")
    if con:
        t.append(("; " if pro else "") + con, style="red")
    return t


def _malignant(e: Mapping[str, Any]) -> str:
    m = float(e.get("malignancy", 1.0 if e.get("malignant") else 0.0))
    return "yes" if m >= 0.5 else ("possible" if m > 0 else "no")


def differential_table(a: Mapping[str, Any], *, wide: bool, rows: int = ROWS) -> Table:
    diff = a["differential"]
    has_interval = any("probability_interval" in e for e in diff[:rows])
    t = Table(title="Differential", title_justify="left", expand=False)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("diagnosis", overflow="fold", ratio=3)
    t.add_column("P", justify="right", no_wrap=True)
    if has_interval:
        t.add_column("90% range", justify="right", no_wrap=True)
    if wide:
        t.add_column("", no_wrap=True)
    t.add_column("malignant", no_wrap=True)
    if wide:
        t.add_column("strongest for / against (ln LR)", overflow="fold", ratio=2)
    for i, e in enumerate(diff[:rows], start=1):
        cells: list[Any] = [str(i), e["name"], pct(float(e["probability"]))]
        if has_interval:
            cells.append(interval(e.get("probability_interval")))
        if wide:
            cells.append(bar(float(e["probability"])))
        cells.append(_malignant(e))
        if wide:
            cells.append(_basis(e))
        t.add_row(*cells)
    rest = sum(float(e["probability"]) for e in diff[rows:])
    if rest > 0:
        cells = ["", f"{len(diff) - rows} others", pct(rest)] + ([""] if has_interval else []) + ([bar(rest)] if wide else []) + [""] + ([""] if wide else [])
        t.add_row(*cells)
    return t


def _basis_lines(a: Mapping[str, Any]) -> Text:
    """For / against of the leading diagnoses, below the table when it is narrow."""
    t = Text("Strongest for / against (ln LR):\n", style="bold")
    for e in a["differential"][:ARGUED]:
        t.append(f"  {e['name']}: ")
        t.append_text(_basis(e))
        t.append("\n")
    return t


def _plan(rec: Mapping[str, Any]) -> Text:
    plan = sorted(rec.get("plan") or [], key=lambda s: int(s.get("step", 0)))
    t = Text()
    if not plan:
        t.append(f"Recommendation: {rec['action'].replace('_', ' ')}\n", style="bold")
        return t
    t.append("Plan:\n", style="bold")
    for s in plan:
        t.append(f"  {s.get('step')}. {str(s.get('action', '')).replace('_', ' ')}", style="bold")
        t.append(f": {s['text']}" if s.get("text") else "")
        t.append("\n")
        if s.get("reason"):
            t.append(f"     because {s['reason']}\n")
        if s.get("then"):
            t.append(f"     then: {s['then']}\n", style="cyan")
    return t


class AssessmentView:
    """The whole assessment; lays itself out for the width it is given."""

    def __init__(self, a: Mapping[str, Any], title: str | None = None):
        self.a, self.title = a, title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        a = self.a
        wide = options.max_width >= WIDE
        rec = a["recommendation"]
        head = Text()
        head.append(f"P(malignant) {pct(float(a['malignancy_probability']))}", style="bold")
        if interval(a.get("malignancy_interval")):
            head.append(f" (90% range {interval(a['malignancy_interval'])})")
        head.append("   doubtful" if a["doubtful"] else "   confident", style="yellow" if a["doubtful"] else "green")
        parts: list[Any] = [head]
        if a.get("atypical"):
            reason = f" ({a['atypical_reason']})" if a.get("atypical_reason") else ""
            parts.append(Text(f"⚠ Atypical: the findings fit none of the listed diagnoses well{reason}; "
                              "consider a diagnosis outside this list.", style="bold red"))
        parts.append(differential_table(a, wide=wide))
        if not wide:
            parts.append(_basis_lines(a))
        lines = _plan(rec)
        for r in rec.get("reasons", []):
            lines.append(f"  • {r}\n")
        for c in rec.get("cautions", []):
            lines.append(f"  ⚠ {c}\n", style="bold red")
        if a.get("next_findings"):
            lines.append("Next findings worth looking for:\n", style="bold")
            for n in a["next_findings"]:
                lines.append(f"  {n['finding']}  ({n['label']}; {float(n['expected_information_gain_bits']):.2f} bits)\n")
        similar = sorted(a.get("similar_cases") or [], key=lambda c: -float(c.get("similarity", 0)))
        if similar:
            lines.append("Published cases like this one:\n", style="bold")
            lines.append(f"  {similar_note()}\n", style="dim")
            for c in similar:
                lines.append(f"  {c.get('diagnosis_name') or c.get('diagnosis')} (similarity {pct(float(c.get('similarity', 0)))}): ")
                lines.append_text(markdown_text(str(c.get("citation", ""))))
                lines.append((f" {c['url']}" if c.get("url") else "") + "\n")
        lines.append(f"Knowledge base {a['knowledge_base']['version']}. Decision support: check the basis above (hepcal explain) "
                     "before acting.", style="dim")
        parts.append(lines)
        body = Group(*parts)
        yield Panel(body, title=self.title, title_align="left") if self.title else body


def assessment_view(a: Any, title: str | None = None) -> AssessmentView:
    """The terminal view of an assessment (an ``Assessment`` or its ``to_dict()``)."""
    return AssessmentView(a if isinstance(a, Mapping) else a.to_dict(), title)
