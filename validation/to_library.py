#!/usr/bin/env python3
"""Write the 71 validation cases into the case library's record format (standard library only).

Input: cases.jsonl next to this script. Output: src/hepcal/evidence/cases/validation.jsonl
(development cases of the library). The mapping is mechanical and documented in README.md:
- source: the citation as written; its URL and DOI are read out of it (four citations without
  either get the address where the article was read, NO_URL);
- diagnosis.ids: [the labelled id]; raw: the contract's name of that id (these cases were
  labelled with ids, not with the article's words); malignant: the contract's "malignant"
  column is "yes" (treated tumour and mucinous neoplasm count as not malignant, as in the
  original scoring);
- proof: "histology" where the note says so (PROOF_RULES), else "not_recorded";
- kind: teaching_file for Eurorad, Radiopaedia, URMC, LITFL, Applied Radiology and book-chapter
  cases, else case_report;
- encoded.at: the date the validation set was committed; a `revised` record (who, when, from what)
  is copied into `encoded.revised`.

Usage: python3 validation/to_library.py          # (re)write the library file
       python3 validation/to_library.py --check  # exit 1 if the file differs from what this gives
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "src" / "hepcal" / "evidence" / "cases" / "validation.jsonl"
CONTRACT = HERE.parent / "src" / "hepcal" / "findings" / "contract.yaml"
ENCODED_AT = "2026-12-05"
ENCODED_BY = "validation-set"

# The validation set did not record how each diagnosis was proven; only a note that says so
# explicitly gives "histology", every other case is "not_recorded" (never guessed).
PROOF_RULES = (
    ("histology", r"at surgery|at resection|resected|biopsy showed|at biopsy|autopsy|histolog|patholog|hooklets|trisectionectomy"),
)
TEACHING = re.compile(r"eurorad|radiopaedia|urmc|litfl|applied radiology|radiologykey|radiology of infectious", re.I)
NO_URL = {  # citations in the validation set without a URL or DOI: where the article can be read
    "teratoma-2013-gupta": "https://www.apspjcaserep.com/ojs/index.php/ajcr/article/view/47/69",
    "surgical-2013-xu-gauze": "https://wjgnet.com/1007-9327/full/v19/i21/3364.htm",
    "hb-2010-iacob": "https://ro.scribd.com/document/259741023/12Iacob",
    "hepatolithiasis-2011-conzo": "https://vdocuments.site/integrated-treatment-of-secondary-hepatolithiasis-case-report.html",
}


def contract_names():
    names, malignant, inside = {}, {}, False
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        if line.startswith("diagnoses:"):
            inside = True
            continue
        if inside and not line.startswith("  "):
            break
        m = re.match(r"\s+(\w+): \{name: \"(.*?)\", malignant: \"(.*?)\"(?:, since: \d+)?\}", line)
        if inside and m:
            names[m.group(1)], malignant[m.group(1)] = m.group(2), m.group(3)
    return names, malignant


def source_of(text, case_id):
    url = re.search(r"https?://\S+", text)
    doi = re.search(r"doi:\s*(10\.\S+?)\.?(?:\s|$)", text)
    src = {"citation": text}
    if url:
        src["url"] = url.group(0).rstrip(".,;")
    if doi:
        src["doi"] = doi.group(1)
    if case_id in NO_URL:
        src["url"] = NO_URL[case_id]
    return src


def proof_of(note):
    for proof, pattern in PROOF_RULES:
        if re.search(pattern, note, re.I):
            return proof
    return "not_recorded"


def convert(rec, names, malignant):
    dx = rec["diagnosis"]
    return {
        "id": rec["id"],
        "source": source_of(rec["source"], rec["id"]),
        "kind": "teaching_file" if TEACHING.search(rec["source"]) else "case_report",
        "case": rec["case"],
        "diagnosis": {"raw": names[dx], "ids": [dx], "malignant": malignant[dx] == "yes", "proof": proof_of(rec.get("note", ""))},
        "encoded": {"by": ENCODED_BY, "at": ENCODED_AT, **({"revised": rec["revised"]} if "revised" in rec else {})},
        "note": rec.get("note", ""),
    }


def build():
    names, malignant = contract_names()
    lines = [l for l in (HERE / "cases.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    return "".join(json.dumps(convert(json.loads(l), names, malignant), ensure_ascii=False) + "\n" for l in lines)


def main(argv):
    text = build()
    if "--check" in argv:
        ok = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("library copy OK" if ok else f"{OUT.name} differs from cases.jsonl; run python3 validation/to_library.py")
        return 0 if ok else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"{text.count(chr(10))} cases written to {OUT.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
