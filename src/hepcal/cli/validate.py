"""``hepcal validate``: accuracy on labelled cases, or cross-validation over the case library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from hepcal.cli.common import EXIT_PARTIAL, error, fail, formats, handle_errors, out, write_line
from hepcal.findings.io import open_lines
from hepcal.knowledge import load
from hepcal.reasoning.network import network
from hepcal.validation import evaluate, read_labelled


Format = formats("table", "json")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


MEASURES = (  # (key, label, format) of the library report
    ("top1", "top-1", "pct"), ("top3", "top-3", "pct"), ("mean_rank", "mean rank", "num"),
    ("brier", "Brier score", "num"), ("log_loss", "log loss", "num"), ("ece", "ECE (10 bins, top diagnosis)", "num"),
    ("calibration_slope", "calibration slope", "num"), ("calibration_intercept", "calibration intercept", "num"),
    ("auc_malignant", "AUC of P(malignant)", "num"), ("malignant_flagged", "malignant cases flagged", "pct"),
    ("malignant_not_excluded", "malignant: flagged or 'cannot be excluded' (upper bound)", "pct"),
    ("benign_to_needle_or_surgery", "benign sent to needle or surgery", "pct"),
)


def _cell(m: dict[str, Any] | None, kind: str) -> str:
    if not m or m.get("value") is None:
        return "-"
    f = _pct if kind == "pct" else (lambda x: f"{x:.3f}")
    ci = f" [{f(m['low'])}, {f(m['high'])}]" if m.get("low") is not None else ""
    return f(m["value"]) + ci


def _library_table(r: dict[str, Any]) -> None:
    head = (f"{r['folds']}-fold cross-validation × {r['repeats']} (nested choice of the prior strength)" if r["mode"] == "cross-validation"
            else f"frozen hold-out ({r['holdout_cases']} cases), fit on all {r['development_cases']} development cases")
    models = r["models"]
    t = Table(title=f"{head}; {next(iter(models.values()))['n_cases']} cases with a diagnosis in the vocabulary; 95 % intervals (bootstrap over cases)",
              title_justify="left")
    t.add_column("measure")
    for m in models:
        t.add_column(m, justify="right")
    for key, label, kind in MEASURES:
        t.add_row(label, *(_cell(models[m]["measures"].get(key), kind) for m in models))
    fm = models["fitted"]["measures"]
    if "malignant_cases" in fm:
        t.add_row("malignant / benign cases", *(f"{models[m]['measures']['malignant_cases']['value']} / {models[m]['measures']['benign_cases']['value']}" for m in models))
    out.print(t)
    p = Table(title="Per diagnosis (top-1 / top-3 / mean rank)", title_justify="left")
    p.add_column("diagnosis")
    p.add_column("cases", justify="right")
    for m in models:
        p.add_column(m, justify="right")
    for d, v in models["fitted"]["per_diagnosis"].items():
        p.add_row(d, str(v["cases"]), *(
            f"{models[m]['per_diagnosis'][d]['top1']:.0%} / {models[m]['per_diagnosis'][d]['top3']:.0%} / {models[m]['per_diagnosis'][d]['mean_rank']:.1f}"
            for m in models))
    out.print(p)
    for name, sub in (r.get("subgroups") or {}).items():
        _subgroup_table(name, sub)
    o = r["open_set"]
    if o.get("cases"):
        out.print(f"outside the vocabulary: {o['cases']} cases; mean top probability {o['mean_top_probability']:.2f}, "
                  f"top ≥ {o['confident_probability']:g} in {o['top_at_or_above_confident']:.0%}"
                  + (f", flagged atypical {o['atypical_rate']:.0%}" if o.get("atypical_rate") is not None else ""), highlight=False)
    sc = r.get("similar_cases") or {}
    if sc.get("cases"):
        out.print(f"similar published cases (leave-one-out over the {sc['cases']} cases, other publications only): the most similar "
                  f"has the proven diagnosis in {sc['nearest_shares_diagnosis']:.0%}, one of the {sc['count']} in {sc['any_shares_diagnosis']:.0%}",
                  highlight=False)
    nf = r.get("next_finding") or {}
    if nf.get("cases"):
        out.print(f"next finding ({nf['cases']} cases stating two or more findings that could be proposed, half of them hidden, "
                  f"{nf['splits']} times): the one proposed first raises ln P(proven diagnosis) by {nf['gain_proposed']['value']:.2f}, "
                  f"one at random by {nf['gain_random']['value']:.2f}, the one proposed last by {nf['gain_last']['value']:.2f}; "
                  f"top-1 {nf['top1_before']['value']:.0%} → {nf['top1_after_proposed']['value']:.0%} "
                  f"(at random {nf['top1_after_random']['value']:.0%})", highlight=False)
    chosen = r.get("strength_chosen_per_fold") or [r.get("strength")]
    out.print(f"prior strength chosen: {', '.join(f'{s:g}' for s in chosen)}; {r['seconds']:.1f} s", highlight=False)


SUBGROUPS = {"calcification_pattern_stated": "cases that state a calcification pattern",
             "benign_proven_without_tissue": "benign cases proven without tissue (imaging, follow-up, clinical or serology)"}
SUBGROUP_MEASURES = ("top1", "top3", "log_loss", "ece", "auc_malignant", "malignant_flagged", "benign_to_needle_or_surgery")


def _subgroup_table(name: str, models: dict[str, Any]) -> None:
    first = next(iter(models.values()))
    if not first["n_cases"]:
        return
    t = Table(title=f"Of these, the {first['n_cases']} {SUBGROUPS.get(name, name)}", title_justify="left")
    t.add_column("measure")
    for m in models:
        t.add_column(m, justify="right")
    for key, label, kind in MEASURES:
        if key in SUBGROUP_MEASURES:
            t.add_row(label, *(_cell(models[m]["measures"].get(key), kind) for m in models))
    out.print(t)


def _file_table(s: dict[str, Any], where: str, version: str) -> None:
    t = Table(title=f"Validation on {where} (knowledge base {version})", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("cases", str(s["n"]))
    t.add_row("top-1", _pct(s["top1"]))
    t.add_row("top-3", _pct(s["top3"]))
    t.add_row("mean rank", "-" if s["mean_rank"] is None else f"{s['mean_rank']:.2f}")
    t.add_row(f"malignant flagged (of {s['malignant_cases']})", _pct(s["malignant_flagged"]))
    t.add_row(f"benign sent to biopsy/surgery (of {s['benign_cases']})", _pct(s["benign_sent_to_biopsy"]))
    t.add_row("Brier score", "-" if s["brier"] is None else f"{s['brier']:.3f}")
    t.add_row("expected calibration error", "-" if s["expected_calibration_error"] is None else f"{s['expected_calibration_error']:.3f}")
    out.print(t)
    c = Table(title="Calibration of the top diagnosis", title_justify="left")
    for col in ("confidence", "n", "mean confidence", "top-1 accuracy"):
        c.add_column(col)
    for b in s["calibration"]:
        c.add_row(b["bin"], str(b["n"]), f"{b['mean_confidence']:.2f}", f"{b['top1_accuracy']:.2f}")
    out.print(c)
    p = Table(title="Per diagnosis", title_justify="left")
    for col in ("diagnosis", "n", "top-1", "top-3", "mean rank"):
        p.add_column(col)
    for d, v in s["per_diagnosis"].items():
        p.add_row(d, str(v["n"]), _pct(v["top1"]), _pct(v["top3"]), f"{v['mean_rank']:.1f}")
    out.print(p)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def validate(
        source: Optional[str] = typer.Argument(None, help='JSONL file, each line {"case": {...}, "diagnosis": "<id>", "source": "<citation>"}; - for stdin. '
                                               "Without it, the case library is cross-validated (--cv)."),
        cv: Annotated[int, typer.Option("--cv", min=2, help="Folds of the cross-validation over the case library.")] = 5,
        repeats: Annotated[int, typer.Option("--repeats", min=1, help="Repeats of the cross-validation (new folds each time).")] = 2,
        holdout: Annotated[bool, typer.Option("--holdout", help="Score the frozen hold-out once, with the fit on all development cases.")] = False,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table (readable) or json (every measure as data).")] = Format.table,
        kb_path: Annotated[Optional[Path], typer.Option("--kb", help="Knowledge-base folder to use instead of the shipped one.", show_default=False)] = None,
    ) -> None:
        """Accuracy, calibration and safety: of a labelled file, or cross-validated over the case library
        (fitted knowledge base, estimates only, the textbook-list baseline and a model learned from the
        library alone, on the same folds)."""
        kb = load(kb_path)
        if source is None:
            from hepcal.fit import cv as cross

            lib = cross.library(kb)
            if not lib.design.in_vocabulary.sum():
                fail("the case library has no development case with a diagnosis in the vocabulary")
            r = cross.score_holdout(lib) if holdout else cross.cross_validate(lib, cv, repeats)
            if holdout and not r["holdout_cases"] and fmt is Format.table:
                out.print("the hold-out (evidence/holdout/) holds no cases yet; nothing to score")
                return
            if fmt is Format.json:
                write_line(json.dumps(r, indent=2))
            else:
                _library_table(r)
            return
        if holdout:
            fail("--holdout scores the case library's hold-out; give no file with it")
        if source == "-":
            report = evaluate(read_labelled(getattr(sys.stdin, "buffer", sys.stdin), "<stdin>", kb), kb)
            where = "<stdin>"
        else:
            where = source
            with open_lines(source) as lines:
                report = evaluate(read_labelled(lines, where, kb), kb)
        s = report.to_dict()
        if not s["n"]:
            for e in report.errors:
                error(e)
            fail(f"{where}: no labelled case could be read" + (f" ({len(report.errors)} line(s) failed)" if report.errors else " (the file is empty)"))
        if fmt is Format.json:
            write_line(json.dumps(s, indent=2))
        else:
            _file_table(s, where, network(kb).version)
        if report.errors:
            for e in report.errors:
                error(e)
            raise typer.Exit(EXIT_PARTIAL)
