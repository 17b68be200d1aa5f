"""Terminal rendering of ``hepcal explain``."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from hepcal.cli.render import markdown_text


def explanation_view(x: dict[str, Any]) -> Group:
    d = x["diagnosis"]
    head = Text()
    head.append(f"{d['name']} ({d['id']})\n", style="bold")
    kbinfo = x["knowledge_base"]
    fitted = {"fitted": f"likelihoods fitted to the case library (prior strength {kbinfo.get('prior_strength', 0):g})",
              "estimates": "likelihoods are the expert estimates (no fit)",
              "stale": "likelihoods are the expert estimates (the fit is stale: run hepcal kb fit)"}.get(kbinfo.get("likelihoods", ""), "")
    head.append(f"posterior {x['posterior']:.1%}, rank {x['rank']}; knowledge base {kbinfo['version']}; {fitted}\n")
    if "posterior_at_fitted_means" in x:
        head.append(f"(averaged over the likelihoods' uncertainty; at their fitted values, which the ratios below "
                    f"multiply to: {x['posterior_at_fitted_means']:.1%})\n")
    pr = x["prior"]
    src = ", ".join(pr["src"]) or "-"
    head.append(f"prior weight {pr['p']:g} (normalised {pr['normalised']:.3f}); sources {src}{' (estimate)' if pr['estimate'] else ''}\n")
    # Five columns, numbers kept together, so the table fits an 80-column terminal without
    # squeezing the finding's name out (names and sources wrap; numbers never do).
    t = Table(title="Findings", title_justify="left", caption="LR: P(f|dx) / P(f|others); P(f|dx): expert estimate → fitted (k/n of the library)",
              caption_justify="left")
    t.add_column("finding", overflow="fold", ratio=2, min_width=14)
    t.add_column("LR (ln)", no_wrap=True)
    t.add_column("P(f|dx)", no_wrap=True)
    t.add_column("P(f|others)", no_wrap=True)
    t.add_column("from; sources", overflow="fold", ratio=1, min_width=8)
    for f in x["findings"]:
        style = "green" if f["weight"] > 0.05 else ("red" if f["weight"] < -0.05 else "")
        srcs = ", ".join(f["src"]) + (" (estimate)" if f["estimate_mark"] else "")
        ev = f["evidence"]
        counts = f" ({ev['k']:g}/{ev['n']:g})" if ev["n"] else ""
        t.add_row(f["finding"], Text(f"{f['likelihood_ratio']:.2f} ({f['weight']:+.2f})", style=style),
                  f"{f['estimate']:.3f}→{f['p_given_diagnosis']:.3f}{counts}", f"{f['p_given_others']:.3f}",
                  f"{f['origin']}; {srcs}" if srcs else f["origin"])
    shown = Text()
    for f in x["findings"]:
        ev = f["evidence"]
        if ev["n"]:
            shown.append(f"  {f['finding']}: {ev['k']:g} of {ev['n']:g}", style="bold")
            shown.append(" from " + ", ".join([*ev["cases"], *(f"series {s}" for s in ev["series"])]) + "\n")
    if shown:
        shown = Text.assemble(Text("Evidence from the case library (cases of this diagnosis stating the finding)\n", style="bold"), shown)
    refs = Text("References\n", style="bold")
    for r in x["references"]:  # citations mark journals as *Markdown emphasis*: shown in italics
        refs.append(f"  [{r['key']}] ")
        refs.append_text(markdown_text(r["citation"]))
        refs.append((f" {r['url']}" if r["url"] else "") + "\n")
    cautions = Text()
    for c in x["cautions"]:
        cautions.append(f"⚠ {c}\n", style="bold red")
    return Group(head, t, shown, cautions, refs)
