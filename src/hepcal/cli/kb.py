"""``hepcal kb list | show | check | fit``: read, validate and fit the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from hepcal.cli.common import err, fail, formats, handle_errors, out, write_line
from hepcal.errors import HepcalError, KnowledgeBaseError
from hepcal.knowledge import load, read
from hepcal.knowledge.check import check, summary

kb_app = typer.Typer(help="Inspect and validate the knowledge base.", no_args_is_help=True)
KB_OPTION = typer.Option("--kb", help="Knowledge-base folder (default: the shipped one).", show_default=False)


Format = formats("table", "json")
FORMAT_OPTION = typer.Option("--format", "-f", help="table (readable) or json (the entries as data).")


@kb_app.command("list")
@handle_errors
def list_(kb_path: Annotated[Optional[Path], KB_OPTION] = None, fmt: Annotated[Format, FORMAT_OPTION] = Format.table) -> None:
    """List the diagnoses with their category, malignancy and prior."""
    kb = load(kb_path)
    if fmt is Format.json:
        write_line(json.dumps([{"id": d.id, "name": d.name, "category": d.category, "malignant": d.malignant.p, "prior": d.prior.p}
                               for d in kb.diagnoses], indent=2))
        return
    # id and name share a column (name below, wrapped at spaces) so 80 columns cut neither
    t = Table(title=f"{kb.manifest.name} {kb.version}", title_justify="left")
    t.add_column("id / name", overflow="fold")
    for col in ("category", "malignant", "prior"):
        t.add_column(col, no_wrap=True)
    for d in kb.diagnoses:
        cell = Text(d.id, style="bold")
        cell.append(f"\n{d.name}")
        t.add_row(cell, d.category, f"{d.malignant.p:g}", f"{d.prior.p:g}")
    out.print(t, soft_wrap=False)


@kb_app.command()
@handle_errors
def show(
    diagnosis: Annotated[str, typer.Argument(help="Diagnosis id.")],
    fmt: Annotated[Format, FORMAT_OPTION] = Format.table,
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json (kept for old scripts).")] = False,
    kb_path: Annotated[Optional[Path], KB_OPTION] = None,
) -> None:
    """Show one diagnosis: description, likelihoods, cautions, tests and references."""
    as_json = as_json or fmt is Format.json
    kb = load(kb_path)
    if diagnosis not in kb.ids:
        fail(f"unknown diagnosis {diagnosis!r}; allowed: {', '.join(kb.ids)}")
    d = kb.diagnosis(diagnosis)
    if as_json:
        write_line(json.dumps(d.model_dump(mode="json"), indent=2))
        return
    out.print(f"[bold]{d.name}[/] ({d.id}) — {d.category}, P(malignant | {d.id}) = {d.malignant.p:g}")
    out.print(d.description.strip())
    out.print(f"prior weight {d.prior.p:g}  sources: {', '.join(d.prior.src) or '-'}{' (estimate)' if d.prior.estimate else ''}")
    t = Table(title="Likelihoods stated by this diagnosis", title_justify="left")
    for col in ("variable", "value", "sources"):
        t.add_column(col, overflow="fold")
    for var_id, spec in d.likelihoods.items():
        value = f"p={spec.p:g}" if spec.p is not None else ", ".join(f"{k}={v:g}" for k, v in (spec.dist or {}).items())
        t.add_row(var_id, value, ", ".join(spec.src) + (" (estimate)" if spec.estimate else ""))
    out.print(t)
    out.print(f"[bold]When confident:[/] {d.management.action}")
    out.print(f"[bold]Puncture:[/] {d.puncture.advice} — {d.puncture.why}")
    for c in d.cautions:
        out.print(f"[red]⚠ {c.text}[/]")
    for n in d.next_tests:
        out.print(f"next test: {n.text}")
    for key in d.references:
        r = kb.references[key]
        out.print(f"  [{key}] {r.citation}" + (f" {r.url}" if r.url else ""), highlight=False, markup=False)


@kb_app.command("check")
def check_(kb_path: Annotated[Optional[Path], KB_OPTION] = None) -> None:
    """Validate the knowledge base: probabilities, vocabulary, sources, completeness."""
    try:
        kb = read(kb_path)
    except KnowledgeBaseError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from None
    problems = check(kb)
    if not problems:
        from hepcal.fit import baseline
        from hepcal.fit.output import staleness

        try:  # the shipped base must be the fit of its estimates; another folder may be estimates only
            problems = staleness(kb, required=kb_path is None) + baseline.check(kb)
        except HepcalError as exc:
            problems = [str(exc)]
    if problems:
        for p in problems:
            err.print(f"- {p}", markup=False, highlight=False)
        err.print(f"knowledge base {kb.version}: {len(problems)} problem(s)")
        raise typer.Exit(1)
    s = summary(kb)
    from hepcal.fit import store

    fit = store.read(kb.source)
    fitted = (f"; fitted to the case library (strength {fit.strength:g}, {len(fit.entries)} likelihoods with evidence)"
              if fit is not None else "; estimates only (no fitted.json)")
    out.print(f"knowledge base {kb.version}: OK — {s['diagnoses']} diagnoses, {s['variables']} evidence variables, "
              f"{s['entries']} numbers ({s['estimate_only']} of them estimates without a direct source), {s['references']} references{fitted}")


@kb_app.command("fit")
@handle_errors
def fit_(
    kb_path: Annotated[Optional[Path], KB_OPTION] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds that choose the prior strength.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Repeats of the cross-validation.")] = 2,
) -> None:
    """Fit the likelihoods to the case library (development cases and series counts; never the hold-out).

    Writes fitted.json next to the estimates: for every likelihood with evidence, the estimate,
    the counts and the cases and series that gave them, and the fitted value. On the shipped
    knowledge base it also rebuilds the atypical threshold (reasoning/atypical.yaml) from
    out-of-fold scores of the development cases.
    """
    from hepcal.fit.output import fit_and_write

    kb = read(kb_path)
    problems = check(kb)
    if problems:
        raise KnowledgeBaseError(problems)
    path, data = fit_and_write(kb, None, folds, repeats)
    if kb_path is None:  # the shipped knowledge base: its atypical threshold follows the new fit
        from hepcal.fit.open_set import recalibrate
        from hepcal.reasoning.network import network

        cal, oof = recalibrate(network(read(None)))
        inside, outside = oof.flag_rates(cal.threshold)
        out.print(f"atypical threshold recalibrated on {cal.cases} in-vocabulary development cases, each scored by a fit "
                  f"that did not see it ({cal.quantile:.0%} quantile): {cal.threshold:.4f}; flags {inside:.0%} of them "
                  f"and {outside:.0%} of the cases outside the vocabulary", highlight=False)
    lib = data["library"]
    out.print(f"fitted {len(data['entries'])} likelihoods to {lib['in_vocabulary']} development cases "
              f"({lib['development_cases'] - lib['in_vocabulary']} outside the vocabulary, not used) and {lib['series_counts']} series counts; "
              f"prior strength {data['strength']:g} chosen by {folds}-fold cross-validation × {repeats}; written to {path.name}", highlight=False)
    moves = sorted(((abs(f - e), x["diagnosis"], x["variable"], st, e, f, k, x["n"])
                    for x in data["entries"] for st, e, f, k in zip(x["states"], x["estimate"], x["fitted"], x["counts"])
                    if st != "false"), reverse=True)  # a binary variable: its "true" state says it all
    if moves and moves[0][0] > 0.005:
        t = Table(title="Largest changes from the estimates", title_justify="left")
        for col in ("diagnosis", "finding", "estimate", "evidence k/n", "fitted"):
            t.add_column(col)
        for _, d, var, st, e, f, k, n in moves[:10]:
            t.add_row(d, f"{var}={st}", f"{e:.3f}", f"{k:g}/{n:g}", f"{f:.3f}")
        out.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")
