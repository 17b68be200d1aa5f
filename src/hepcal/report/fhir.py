"""FHIR R4 output: a Bundle with one DiagnosticReport and the Observations it rests on.

* ``DiagnosticReport``: category RAD, code LOINC 18748-4, status *preliminary* (decision support,
  not a signed report), ``conclusion`` in words and ``conclusionCode`` for the leading diagnoses.
* Per lesion, an ``Observation`` of the calcification (SNOMED CT 18115005 / RadLex RID5196, body
  site liver SNOMED CT 10200004 / RadLex RID58) with one component per finding; the clinical
  context (patient, history, labs) as a second Observation; P(malignant); and one Observation
  per leading diagnosis whose value is its probability and whose component names the diagnosis.

Codes come from ``codes.yaml``; where no checked code exists hepcal's own code system is used,
never a guessed code. No patient identifier is written (the case format has none).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from hepcal import __version__
from hepcal.findings import contract
from hepcal.report.codes import codes, fhir_coding, system
from hepcal.report.context import Words, atypical_notice, plan_steps, settings, utc_now
from hepcal.report.messages import messages
from hepcal.report.source import ReportSource

_UNITS = {"finding.size_mm": ("mm", "mm"), "finding.max_hu": ("HU", "[hnsf'U]"), "patient.age_years": ("years", "a")}
_CONTEXT_SECTIONS = ("patient", "history", "labs")


def _cc(codings: list[dict[str, str]], text: str) -> dict[str, Any]:
    return {"coding": codings, "text": text}


def _hepcal(kind: str, code: str, display: str) -> dict[str, str]:
    key = {"finding": "HEPCAL_FINDING", "diagnosis": "HEPCAL_DIAGNOSIS"}.get(kind, "HEPCAL")
    return {"system": system(key), "code": code, "display": display}


def _probability(p: float) -> dict[str, Any]:
    return {"value": round(float(p), 6), "unit": "probability", "system": system("UCUM"), "code": "1"}


def _diagnosis_concept(did: str, name: str) -> dict[str, Any]:
    coded = codes()["diagnoses"].get(did)
    codings = ([fhir_coding(coded)] if coded else []) + [_hepcal("diagnosis", did, name)]
    return _cc(codings, name)


def _components(case: dict[str, Any], sections: tuple[str, ...], w: Words) -> list[dict[str, Any]]:
    """One component per entered key (one per member for lists), typed as the contract says."""
    out: list[dict[str, Any]] = []
    c = contract()
    patterns = codes()["patterns"]
    for section in sections:
        for name, raw in case.get(section, {}).items():
            key = f"{section}.{name}"
            spec = c.fields.get(key)
            if spec is None:
                continue
            code = _cc([_hepcal("finding", key, w.label(key))], w.label(key))
            values = raw if isinstance(raw, list) else [raw]
            for v in values:
                comp: dict[str, Any] = {"code": code}
                if isinstance(v, bool):
                    comp["valueBoolean"] = v
                elif isinstance(v, (int, float)):
                    unit, ucum = _UNITS.get(key, ("", "1"))
                    comp["valueQuantity"] = {"value": v, "unit": unit or "1", "system": system("UCUM"), "code": ucum}
                else:
                    codings = [fhir_coding(patterns[v])] if key == "finding.calcification" and v in patterns else []
                    codings.append(_hepcal("finding", f"{key}={v}", w.word(v)))
                    comp["valueCodeableConcept"] = _cc(codings, w.word(v))
                out.append(comp)
    return out


def _seed(source: ReportSource, when: datetime) -> str:
    """Stable ids: the same source at the same date gives the same Bundle."""
    payload = json.dumps([les.assessment for les in source.lesions], sort_keys=True, default=str)
    return hashlib.sha256(f"{payload}|{when.isoformat()}|{source.knowledge_base}".encode()).hexdigest()


def bundle(source: ReportSource, *, lang: str = "en", now: datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle (type *collection*) as a JSON-ready dict."""
    m = messages(lang)
    f = m["fhir"]
    w = Words(m)
    when = (now or utc_now()).astimezone(timezone.utc).replace(microsecond=0)
    stamp = when.isoformat().replace("+00:00", "Z")
    seed = _seed(source, when)
    counter = iter(range(10_000))

    def new_id() -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hepcal:{seed}:{next(counter)}"))

    cfg = codes()
    category_imaging = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "imaging", "display": "Imaging"}]}]
    body_site = _cc([fhir_coding(x) for x in cfg["body_site"]], cfg["body_site"][0]["display"])
    entries: list[dict[str, Any]] = []
    results: list[dict[str, str]] = []
    conclusions: list[str] = []
    conclusion_codes: list[dict[str, Any]] = []
    seen_codes: set[str] = set()

    def add(resource: dict[str, Any]) -> str:
        rid = new_id()
        resource["id"] = rid
        full = f"urn:uuid:{rid}"
        entries.append({"fullUrl": full, "resource": resource})
        return full

    def observation(code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {"resourceType": "Observation", "status": "preliminary", "category": category_imaging,
                "code": code, "issued": stamp, **fields}

    many = len(source.lesions) > 1
    for les in source.lesions:
        a = les.assessment
        case = les.case
        title = f["lesion_title_n"].format(n=les.number) if many else f["lesion_title"]
        comps = _components(case, ("finding",), w)
        if les.volume_mm3 is not None:
            comps.append({"code": _cc([fhir_coding(cfg["sr"]["volume"])], f["volume_title"]),
                          "valueQuantity": {"value": round(les.volume_mm3, 1), "unit": "mm3", "system": system("UCUM"), "code": "mm3"}})
        lesion_obs = observation(_cc([fhir_coding(x) for x in cfg["calcification"]], title), bodySite=body_site)
        if comps:
            lesion_obs["component"] = comps
        lesion_ref = add(lesion_obs)
        results.append({"reference": lesion_ref, "display": title})
        derived = [{"reference": lesion_ref}]
        ctx = _components(case, _CONTEXT_SECTIONS, w)
        if ctx:
            ref = add(observation(_cc([_hepcal("code", "clinical_context", f["context_title"])], f["context_title"]), component=ctx))
            results.append({"reference": ref, "display": f["context_title"]})
            derived.append({"reference": ref})
        ref = add(observation(_cc([_hepcal("code", "malignancy_probability", f["malignancy_title"])], f["malignancy_title"]),
                              valueQuantity=_probability(a["malignancy_probability"]), derivedFrom=derived))
        results.append({"reference": ref, "display": f["malignancy_title"]})
        for e in a["differential"][: settings()["argued_diagnoses"]]:
            dx = _diagnosis_concept(e["id"], e["name"])
            ref = add(observation(
                _cc([_hepcal("code", "diagnosis_probability", f["probability_title"])], f"{f['probability_title']}: {e['name']}"),
                valueQuantity=_probability(e["probability"]),
                component=[{"code": _cc([_hepcal("code", "diagnosis", f["diagnosis_title"])], f["diagnosis_title"]), "valueCodeableConcept": dx}],
                derivedFrom=derived,
            ))
            results.append({"reference": ref, "display": f"{f['probability_title']}: {e['name']}"})
        lead = a["differential"][0]
        plan = w.m["report"]["plan_arrow"].join(step["action"] for step in plan_steps(a["recommendation"], w))
        text = f["conclusion"].format(name=lead["name"], probability=w.percent(float(lead["probability"])),
                                      malignancy=w.percent(float(a["malignancy_probability"])), action=plan)
        notice = atypical_notice(a, w)
        text += f" {notice}" if notice else ""
        conclusions.append(f["conclusion_lesion"].format(n=les.number, text=text) if many else text)
        if lead["id"] not in seen_codes:
            seen_codes.add(lead["id"])
            conclusion_codes.append(_diagnosis_concept(lead["id"], lead["name"]))

    kb = source.knowledge_base
    conclusions.append(f["provenance"].format(version=__version__, kb_version=kb.get("version", ""), date=stamp))
    report = {
        "resourceType": "DiagnosticReport",
        "status": "preliminary",
        "category": [_cc([{"system": system("V2_0074"), **cfg["report"]["category"]}], cfg["report"]["category"]["display"])],
        "code": _cc([{"system": system("LOINC"), **cfg["report"]["loinc"]}], m["report"]["title"]),
        "effectiveDateTime": stamp,
        "issued": stamp,
        "result": results,
        "conclusion": " ".join(conclusions),
        "conclusionCode": conclusion_codes,
    }
    add(report)
    entries.insert(0, entries.pop())  # the report first: readers look for it there
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"tag": [{"system": system("HEPCAL"), "code": f"kb-{kb.get('version', '')}", "display": f"knowledge base {kb.get('version', '')}"}]},
        "type": "collection",
        "timestamp": stamp,
        "entry": entries,
    }


def validate(data: dict[str, Any]) -> Any:
    """Parse the Bundle with fhir.resources' R4B models (R4-compatible for these resources).

    Raises pydantic's ValidationError when a resource breaks the specification.
    """
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(data)
