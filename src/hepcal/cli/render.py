"""Rich renderings of an assessment for the terminal (the CLI's table format)."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hepcal.reasoning import Assessment

BAR = 24


def bar(p: float) -> str:
    n = round(p * BAR)
    return "█" * n + "·" * (BAR - n)


def short(label: str) -> str:
    """A finding label without its section (``finding.calcification=rim`` → ``calcification=rim``)."""
    return label.split(".", 1)[1] if "." in label.split("=")[0].split("≠")[0] else label


def differential_table(a: Assessment, rows: int = 8) -> Table:
    t = Table(title="Differential", title_justify="left", expand=False)
    t.add_column("#", justify="right")
    t.add_column("diagnosis")
    t.add_column("P", justify="right")
    t.add_column("", no_wrap=True)
    t.add_column("malignant")
    t.add_column("strongest for / against (ln LR)", max_width=60)
    for i, e in enumerate(a.differential[:rows], start=1):
        pro = ", ".join(f"{short(c.finding)} +{c.weight:.1f}" for c in e.pro[:2])
        con = ", ".join(f"{short(c.finding)} {c.weight:.1f}" for c in e.con[:1])
        basis = Text(pro, style="green")
        if con:
            basis.append(("; " if pro else "") + con, style="red")
        mal = "yes" if e.malignancy >= 0.5 else ("possible" if e.malignancy > 0 else "no")
        t.add_row(str(i), e.name, f"{e.probability:.1%}", bar(e.probability), mal, basis)
    rest = sum(e.probability for e in a.differential[rows:])
    if rest > 0:
        t.add_row("", f"{len(a.differential) - rows} others", f"{rest:.1%}", bar(rest), "", "")
    return t


def assessment_view(a: Assessment, title: str | None = None) -> Group:
    rec = a.recommendation
    head = Text()
    head.append(f"P(malignant) {a.malignancy_probability:.1%}", style="bold")
    head.append("   doubtful" if a.doubtful else "   confident", style="yellow" if a.doubtful else "green")
    head.append(f"   knowledge base {a.knowledge_base['version']}")
    lines = Text()
    lines.append(f"Recommendation: {rec.action.replace('_', ' ')}\n", style="bold")
    for r in rec.reasons:
        lines.append(f"  • {r}\n")
    for c in rec.cautions:
        lines.append(f"  ⚠ {c}\n", style="bold red")
    if a.next_findings:
        lines.append("Next findings worth looking for:\n", style="bold")
        for n in a.next_findings:
            lines.append(f"  {n.finding}  ({n.label}; {n.expected_information_gain_bits:.2f} bits)\n")
    lines.append("Decision support: check the basis above (hepcal explain) before acting.", style="dim")
    parts = [head, differential_table(a), lines]
    return Group(Panel(Group(*parts), title=title, title_align="left")) if title else Group(*parts)
