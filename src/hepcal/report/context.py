"""The reports' view model: plain data computed once, which the templates only lay out.

Pure functions of (source, knowledge base, catalogue, date): no I/O except reading key images
to embed them, so a test can fix ``now`` and get the same report twice. Every string here is
plain text; the templates escape all of it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hepcal import __version__, yamlfile
from hepcal.findings import contract
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning.shown import Shown
from hepcal.report.messages import messages
from hepcal.report.source import Lesion, ReportSource

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    """Layout choices of the reports (settings.yaml)."""
    return yamlfile.safe_load(resources.files("hepcal.report").joinpath("settings.yaml").read_text("utf-8"))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- words ---------------------------------------------------------------------------------


class Words:
    """Turns contract keys and values into the catalogue's words."""

    def __init__(self, m: Mapping[str, Any]):
        self.m = m
        self.c = contract()

    def label(self, key: str) -> str:
        own = self.m.get("field_labels", {}).get(key)
        if own:
            return own
        spec = self.c.fields.get(key)
        return spec.label if spec else key

    def word(self, value: Any) -> str:
        return str(self.m["value_words"].get(str(value), str(value).replace("_", " ")))

    def value(self, key: str, raw: Any) -> str:
        if isinstance(raw, bool):
            return self.m["true_word"] if raw else self.m["false_word"]
        if isinstance(raw, (list, tuple)):
            return self.m["list_separator"].join(self.word(v) for v in raw)
        if isinstance(raw, (int, float)):
            unit = self.m["units"].get(key)
            return f"{raw:g} {unit}" if unit else f"{raw:g}"
        return self.word(raw)

    def contribution(self, label: str) -> str:
        """A finding as the engine names it ("finding.calcification=rim") in words."""
        for sep, negated in (("≠", True), ("=", False)):
            if sep in label:
                key, _, raw = label.partition(sep)
                shown = raw.split(" (", 1)[0]
                if key in self.c.fields:
                    spec = self.c.fields[key]
                    if spec.type == "bool":
                        text = self.value(key, shown == "true")
                    elif spec.type == "number":
                        try:
                            text = self.value(key, float(shown))
                        except ValueError:
                            text = shown
                    else:
                        text = self.word(shown)
                    if negated:
                        text = self.m["not_word"].format(value=text)
                    return f"{self.label(key)}: {text}"
        return label

    def percent(self, p: float) -> str:
        coarse = p == 0 or p == 1 or 0.095 <= p <= 0.995  # keep 0.4% and 99.6% from reading as 0% / 100%
        fmt = self.m["percent"] if coarse else self.m["percent_fine"]
        return fmt.format(value=Shown(p))  # and never rounded to certainty or to nothing

    def interval(self, value: Any) -> str | None:
        """A [low, high] probability interval in words ("31–52%"), or None when absent."""
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            return None
        return self.m["interval"].format(low=self.percent(float(value[0])), high=self.percent(float(value[1])))

    def action(self, action: str) -> str:
        return self.m["actions"].get(action, action.replace("_", " "))


# -- fields other parts of the assessment may carry (rendered when present) ---------------------


def plan_steps(rec: Mapping[str, Any], w: Words) -> list[dict[str, Any]]:
    """The recommendation's ordered plan; without one, its action as the single step."""
    plan = rec.get("plan") or [{"step": 1, "action": rec["action"], "text": "", "reason": "", "then": None}]
    steps = sorted(plan, key=lambda s: int(s.get("step", 0)))
    return [{"step": int(s.get("step", i)), "action": w.action(str(s.get("action", ""))), "action_id": str(s.get("action", "")),
             "text": str(s.get("text") or ""), "reason": str(s.get("reason") or ""), "then": str(s.get("then") or "")}
            for i, s in enumerate(steps, start=1)]


def atypical_notice(a: Mapping[str, Any], w: Words) -> str | None:
    """The notice that the case fits the listed diagnoses badly (every output shows it)."""
    if not a.get("atypical"):
        return None
    reason = str(a.get("atypical_reason") or "").strip()
    r = w.m["report"]
    return r["atypical_reason"].format(reason=reason) if reason else r["atypical"]


def similar_cases(a: Mapping[str, Any], w: Words) -> list[dict[str, Any]]:
    """Published cases like this one, most similar first."""
    out = []
    for c in sorted(a.get("similar_cases") or [], key=lambda c: -float(c.get("similarity", 0))):
        url = str(c.get("url") or "")
        out.append({"diagnosis": str(c.get("diagnosis_name") or c.get("diagnosis") or ""), "citation": str(c.get("citation") or ""),
                    "url": url if url.startswith(("https://", "http://")) else None,
                    "similarity": w.m["report"]["similarity"].format(value=w.percent(float(c.get("similarity", 0))))})
    return out


# -- pieces --------------------------------------------------------------------------------


def findings_in_words(case: Mapping[str, Any], w: Words) -> list[dict[str, Any]]:
    """The entered findings, grouped by section in the contract's order."""
    groups = []
    for section, keys in w.c.sections.items():
        given = case.get(section, {})
        items = [{"label": w.label(f"{section}.{k}"), "value": w.value(f"{section}.{k}", given[k])}
                 for k in keys if k in given]
        if items:
            groups.append({"heading": w.m["sections"].get(section, section), "items": items})
    return groups


def malignant_word(entry: Mapping[str, Any], w: Words) -> str:
    r = w.m["report"]
    p = float(entry.get("malignancy", 1.0 if entry.get("malignant") else 0.0))
    return r["malignant_yes"] if p >= 0.5 else (r["malignant_possible"] if p > 0 else r["malignant_no"])


def differential_rows(a: Mapping[str, Any], w: Words) -> dict[str, Any]:
    """Rows of the table and the bars of the chart: the first N diagnoses and the rest summed."""
    n = settings()["differential_rows"]
    diff = a["differential"]
    rows = [{"rank": i, "name": e["name"], "probability": float(e["probability"]), "text": w.percent(float(e["probability"])),
             "malignant": malignant_word(e, w), "malignant_level": float(e.get("malignancy", 0.0)),
             "interval": _bounds(e.get("probability_interval")), "interval_text": w.interval(e.get("probability_interval"))}
            for i, e in enumerate(diff[:n], start=1)]
    rest = diff[n:]
    others = None
    if rest:
        p = sum(float(e["probability"]) for e in rest)
        others = {"name": w.m["report"]["others"].format(n=len(rest)), "probability": p, "text": w.percent(p)}
    return {"rows": rows, "others": others}


def _bounds(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (float(value[0]), float(value[1]))
    return None


def _lr(weight: float) -> str:
    lr = math.exp(weight)
    return f"{lr:.1f}" if lr >= 0.1 else f"{lr:.2f}"


def basis(a: Mapping[str, Any], w: Words) -> list[dict[str, Any]]:
    """For and against, with likelihood ratios, for the leading diagnoses."""
    out = []
    s = settings()
    for e in a["differential"][: s["argued_diagnoses"]]:
        def items(key: str) -> list[dict[str, str]]:
            shown = e.get(key, [])[: s["basis_for_shown"] if key == "for" else s["basis_against_shown"]]
            return [{"finding": w.contribution(c["finding"]), "lr": w.m["report"]["lr"].format(value=_lr(float(c["weight"])))}
                    for c in shown]
        interval = w.interval(e.get("probability_interval"))
        text = w.percent(float(e["probability"])) + (f" ({interval})" if interval else "")
        out.append({"name": e["name"], "text": text, "for": items("for"), "against": items("against")})
    return out


def _embed(lesion: Lesion, w: Words) -> dict[str, Any] | None:
    path = lesion.key_image
    if path is None:
        return None
    return embed_image(path, w.m["report"]["key_image_caption"].format(n=lesion.number, name=path.name), w)


def embed_image(path: Path, caption: str, w: Words) -> dict[str, Any]:
    """An image as a data URL with its caption (or only a note when it is missing or too large)."""
    mime = _IMAGE_TYPES.get(path.suffix.lower())
    if mime is None or not path.is_file() or path.stat().st_size > settings()["key_image_max_bytes"]:
        return {"src": None, "caption": w.m["report"]["key_image_missing"].format(name=path.name)}
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"src": f"data:{mime};base64,{data}", "caption": caption}


def measurements(lesion: Lesion, w: Words) -> list[str]:
    r = w.m["report"]
    out = []
    if lesion.volume_mm3 is not None:
        out.append(r["volume"].format(value=lesion.volume_mm3))
    if lesion.max_hu is not None:
        out.append(r["max_hu"].format(value=lesion.max_hu))
    if lesion.centroid_mm is not None:
        x, y, z = lesion.centroid_mm
        out.append(r["centroid"].format(x=x, y=y, z=z))
    return out


def lesion_view(lesion: Lesion, total: int, kb: KnowledgeBase, w: Words) -> dict[str, Any]:
    a = lesion.assessment
    r = w.m["report"]
    rec = a["recommendation"]
    level = w.percent(kb.policy.confident_probability.value)
    return {
        "number": lesion.number,
        "heading": r["lesion_of"].format(n=lesion.number, total=total) if total > 1 else None,
        "findings": findings_in_words(lesion.case, w),
        "measurements": measurements(lesion, w),
        "key_image": _embed(lesion, w),
        "differential": differential_rows(a, w),
        "malignancy": r["malignancy_value"].format(value=w.percent(float(a["malignancy_probability"]))),
        "malignancy_interval": (r["interval_90"].format(interval=w.interval(a.get("malignancy_interval")))
                                if w.interval(a.get("malignancy_interval")) else None),
        "atypical": atypical_notice(a, w),
        "similar_cases": similar_cases(a, w),
        "malignancy_p": float(a["malignancy_probability"]),
        "malignancy_flagged": float(a["malignancy_probability"]) >= kb.policy.malignancy_not_excluded.value,
        "doubtful": bool(a["doubtful"]),
        "confidence": (r["doubtful"] if a["doubtful"] else r["confident"]).format(level=level),
        "basis": basis(a, w),
        "recommendation": {
            "action": w.action(rec["action"]),
            "plan": plan_steps(rec, w),
            "has_plan": bool(rec.get("plan")),
            "reasons": list(rec.get("reasons", [])),
            "cautions": list(rec.get("cautions", [])),
            "next_tests": list(rec.get("next_tests", [])),
            "rule": r["policy_rule"].format(rule=str(rec.get("rule", "")).replace("_", " ")),
        },
        "next_findings": [r["next_finding_item"].format(label=w.label(n["finding"]), bits=float(n["expected_information_gain_bits"]))
                          for n in a.get("next_findings", [])[: settings()["next_findings_shown"]]],
        "leading": a["differential"][0]["name"],
        "action": w.m["report"]["plan_arrow"].join(step["action"] for step in plan_steps(rec, w)),
    }


def references(source: ReportSource, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """References behind the leading diagnoses of every lesion, each listed once."""
    cited: dict[str, list[str]] = {}
    for lesion in source.lesions:
        for e in lesion.assessment["differential"][: settings()["cited_diagnoses"]]:
            try:
                d = kb.diagnosis(e["id"])
            except KeyError:
                continue
            for key in d.references:
                names = cited.setdefault(key, [])
                if d.name not in names:
                    names.append(d.name)
    out = []
    for key, names in cited.items():
        ref = kb.references.get(key)
        if ref is not None:
            url = ref.url if ref.url and ref.url.startswith(("https://", "http://")) else None
            out.append({"key": key, "citation": ref.citation, "url": url, "cited_by": names})
    return out


def _scan_rows(views: Sequence[dict[str, Any]], source: ReportSource, w: Words) -> list[dict[str, str]]:
    rows = []
    for lesion, v in zip(source.lesions, views):
        pattern = lesion.case.get("finding", {}).get("calcification", [])
        rows.append({
            "lesion": str(lesion.number),
            "centroid": ", ".join(f"{x:.0f}" for x in lesion.centroid_mm) if lesion.centroid_mm else "",
            "volume": f"{lesion.volume_mm3:.0f}" if lesion.volume_mm3 is not None else "",
            "max_hu": f"{lesion.max_hu:.0f}" if lesion.max_hu is not None else "",
            "pattern": w.value("finding.calcification", pattern) if pattern else "",
            "leading": v["leading"],
            "malignant": w.percent(v["malignancy_p"]),
            "action": v["action"],
        })
    return rows


def scan_view(source: ReportSource, w: Words) -> dict[str, Any] | None:
    """What a scan as a whole shows: how it was read, the liver, the images to check the outline."""
    s = source.scan
    if not s:
        return None
    r = w.m["report"]
    liver = s.get("liver") if isinstance(s.get("liver"), Mapping) else {}
    volume = liver.get("volume_ml")
    phase = s.get("phase", "")
    phase = phase.get("used", "") if isinstance(phase, Mapping) else phase
    images = []
    for key, caption in (("liver_image", r["liver_image_caption"]), ("overview_image", r["overview_caption"])):
        if s.get(key) and source.findings_dir is not None:
            images.append(embed_image(source.findings_dir / str(s[key]), caption, w))
    notes = [str(n) for n in s.get("notes", []) if isinstance(n, str)]
    return {
        "facts": _scan_facts(source, w.m),
        "liver_volume": r["liver_volume"].format(value=float(volume)) if isinstance(volume, (int, float)) and volume > 0 else None,
        "phase_caution": r["phase_caution"].format(phase=w.word(phase)) if phase and phase != "unenhanced" else None,
        "images": images,
        "notes": notes,
        "normal": not source.lesions,
    }


def _scan_facts(source: ReportSource, m: Mapping[str, Any]) -> str | None:
    s = source.scan
    if not s:
        return None
    phase, threshold, liver = s.get("phase", ""), s.get("threshold", s.get("threshold_hu", "")), s.get("liver", s.get("liver_source", ""))
    if isinstance(phase, Mapping):  # hepcal scan: {"used": ..., "detected": {...}}
        phase = phase.get("used", "")
    if isinstance(threshold, Mapping):  # {"candidate_hu": ..., "definite_hu": ...}
        threshold = "/".join(f"{threshold[k]:.0f}" for k in ("candidate_hu", "definite_hu") if isinstance(threshold.get(k), (int, float)))
    if isinstance(liver, Mapping):
        liver = liver.get("source", "")
    return m["report"]["scan_facts"].format(phase=phase, threshold=threshold, liver=liver)


def _contract(source: ReportSource, r: Mapping[str, Any]) -> str:
    versions = sorted({les.assessment["contract_version"] for les in source.lesions if les.assessment.get("contract_version") is not None})
    return "".join(" " + r["contract_version"].format(n=v) for v in versions)


def report_context(source: ReportSource, kb: KnowledgeBase, *, lang: str = "en", now: datetime | None = None) -> dict[str, Any]:
    """Everything the radiologist report shows."""
    m = messages(lang)
    w = Words(m)
    when = (now or utc_now()).astimezone(timezone.utc)
    date = when.strftime(m["date_format"])
    total = len(source.lesions)
    views = [lesion_view(les, total, kb, w) for les in source.lesions]
    r = m["report"]
    return {
        "m": m,
        "lang": m["language"],
        "kind": source.kind,
        "source_line": (r["source_scan"] if source.kind == "scan" else r["source_case"]).format(name=source.name),
        "generated": r["generated"].format(date=date, version=__version__, kb_name=source.knowledge_base.get("name", ""),
                                           kb_version=source.knowledge_base.get("version", "")) + _contract(source, r),
        "footer": r["footer"].format(version=__version__, kb_version=source.knowledge_base.get("version", ""), date=date),
        "date": date,
        "hepcal_version": __version__,
        "kb_version": source.knowledge_base.get("version", ""),
        "lesions": views,
        "scan_rows": _scan_rows(views, source, w) if source.kind == "scan" else [],
        "scan_facts": _scan_facts(source, m) if source.kind == "scan" else None,
        "scan": scan_view(source, w) if source.kind == "scan" else None,
        "key_images": [v["key_image"] for v in views if v["key_image"]],
        "references": references(source, kb),
    }


# -- patient summary -------------------------------------------------------------------------


# A finding the patient reads as a lump rather than a spot: soft tissue or fluid around the
# calcium, or a size no reader would call small.
LUMP_LESIONS = ("solid", "mixed", "infiltrative", "cystic")
LUMP_SIZE_MM = 20.0


def _shape(finding: Mapping[str, Any]) -> str:
    """"spot", "lump" or "cyst": what the patient summary calls the finding."""
    lesion, size = finding.get("lesion"), finding.get("size_mm")
    if lesion == "cystic" and finding.get("count") in (None, "solitary"):
        return "cyst"
    if lesion in LUMP_LESIONS or (isinstance(size, (int, float)) and size >= LUMP_SIZE_MM):
        return "lump"
    return "spot"


def _size(finding: Mapping[str, Any], p: Mapping[str, Any]) -> str:
    size = finding.get("size_mm")
    if not isinstance(size, (int, float)) or isinstance(size, bool) or size <= 0:
        return ""
    cm = f"{round(size / 10):g}" if size >= 15 else f"{size / 10:.1f}"
    several = finding.get("count") not in (None, "solitary")
    return p["found_size_largest" if several else "found_size_one"].format(cm=cm)


def _found(source: ReportSource, p: Mapping[str, Any]) -> list[str]:
    """What was found, in words a patient reads: how many, spot or lump, and what it is made of."""
    n = len(source.lesions)
    if source.kind == "scan" and n == 0:
        return [p["found_ct_none"], p["found_normal"]]
    if source.kind == "scan" and n > 1:
        lumps = any(_shape(les.case.get("finding", {})) != "spot" for les in source.lesions)
        return [p["found_ct_lumps" if lumps else "found_ct_count"].format(n=n), p["found_what_lumps" if lumps else "found_what"]]
    finding = source.lesions[0].case.get("finding", {})
    count, shape = finding.get("count"), _shape(finding)
    several = {"few": "few", "multiple": "many", "innumerable": "many"}.get(count, "one")
    if shape == "spot":
        first = p[f"found_{several}"]
    else:
        first = (p["found_cyst"] if shape == "cyst" else p[f"found_lump_{several}"]).format(size=_size(finding, p))
    if finding.get("calcified") is False and not finding.get("calcification"):
        return [first, p["found_not_calcium"]]
    return [first, p["found_what" if shape == "spot" else "found_what_lump"]]


def _meanings(source: ReportSource, kb: KnowledgeBase) -> tuple[list[str], bool]:
    """Diagnosis ids explained to the patient, and whether the answer is doubtful."""
    if len(source.lesions) == 1:
        a = source.lesions[0].assessment
        k = settings()["patient_diagnoses_doubtful"] if a["doubtful"] else 1
        return [e["id"] for e in a["differential"][:k]], bool(a["doubtful"])
    ids: list[str] = []
    for lesion in source.lesions:
        lead = lesion.assessment["differential"][0]["id"]
        if lead not in ids:
            ids.append(lead)
    return ids[: settings()["argued_diagnoses"]], any(les.assessment["doubtful"] for les in source.lesions)


def _demanding(source: ReportSource) -> Lesion | None:
    """The lesion whose first step is the most demanding (the patient page names its plan)."""
    order = settings()["action_priority"]
    rank = lambda les: order.index(les.assessment["recommendation"]["action"]) if les.assessment["recommendation"]["action"] in order else len(order)
    return min(source.lesions, key=rank) if source.lesions else None


def patient_plan(source: ReportSource, p: Mapping[str, Any]) -> list[str]:
    """What happens next, step by step, in the catalogue's plain words."""
    lesion = _demanding(source)
    if lesion is None:
        return [p["next_normal"]]
    rec = lesion.assessment["recommendation"]
    actions = [str(s.get("action", "")) for s in sorted(rec.get("plan") or [], key=lambda s: int(s.get("step", 0)))] or [rec["action"]]
    out = []
    for i, action in enumerate(actions):
        words = p["next"].get(action, "")
        out.append(words if i == 0 else p["plan_then"].format(step=words))
    return out


def patient_cautions(source: ReportSource, kb: KnowledgeBase, p: Mapping[str, Any]) -> list[str]:
    """Plain-word cautions: the needle advice of every diagnosis the report's cautions come from."""
    level = kb.policy.caution_probability.value
    out: list[str] = []
    for lesion in source.lesions:
        for e in lesion.assessment["differential"]:
            if float(e["probability"]) < level:
                continue
            try:
                advice = kb.diagnosis(e["id"]).puncture.advice
            except KeyError:
                continue
            text = p["cautions"].get(advice)
            if text and text not in out:
                out.append(text)
    return out


def _diagnosis_words(did: str, kb: KnowledgeBase, m: Mapping[str, Any]) -> dict[str, str] | None:
    """A diagnosis's name and patient summary: the catalogue's translation, else the knowledge base's."""
    own = m.get("diagnoses", {}).get(did)
    if own:
        return {"name": own["name"], "summary": " ".join(own["summary"].split())}
    try:
        d = kb.diagnosis(did)
    except KeyError:
        return None
    return {"name": d.name, "summary": " ".join(d.patient_summary.split())}


def patient_context(source: ReportSource, kb: KnowledgeBase, *, lang: str = "en", now: datetime | None = None) -> dict[str, Any]:
    """Everything the patient summary shows, in the catalogue's plain words."""
    m = messages(lang)
    p = m["patient"]
    when = (now or utc_now()).astimezone(timezone.utc)
    date = when.strftime(m["date_format"])
    ids, doubtful = _meanings(source, kb) if source.lesions else ([], False)
    meaning = [words for did in ids if (words := _diagnosis_words(did, kb, m)) is not None]
    if len(meaning) == 1 and not doubtful:
        meaning_intro = p["meaning_lead"].format(name=meaning[0]["name"])
    elif len(source.lesions) > 1 and len(meaning) > 1:
        meaning_intro = p["meaning_several"]
    else:
        meaning_intro = p["meaning_doubtful"] if meaning else None
    mal = max((float(les.assessment["malignancy_probability"]) for les in source.lesions), default=0.0)
    pol = kb.policy
    cancer = (p["cancer_low"] if mal < pol.malignancy_negligible.value
              else p["cancer_unlikely"] if mal < pol.malignancy_not_excluded.value else p["cancer_possible"])
    normal = not source.lesions
    found = _found(source, p)
    return {
        "m": m,
        "p": p,
        "lang": m["language"],
        "found": found,
        "meaning_intro": meaning_intro,
        "meaning": meaning,
        "single": len(meaning) == 1 and not doubtful,
        "cancer": cancer if source.lesions else None,
        "atypical": p["atypical"] if any(les.assessment.get("atypical") for les in source.lesions) else None,
        "plan": patient_plan(source, p),
        "cautions": patient_cautions(source, kb, p),
        "questions": list(p["questions_normal"] if normal else p["questions"]),
        "generated": p["generated"].format(date=date, version=__version__, kb_version=source.knowledge_base.get("version", "")),
    }
