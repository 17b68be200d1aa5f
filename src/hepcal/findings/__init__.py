"""The case contract: vocabulary, validated model, file reading and overrides."""

from hepcal.findings.contract import Contract, FieldSpec, contract
from hepcal.findings.io import iter_cases, load_case
from hepcal.findings.model import CaseError, Problem, case_model, case_to_dict, json_schema, parse_case, without_conflicts
from hepcal.findings.overrides import apply_override, apply_overrides

__all__ = [
    "CaseError",
    "Contract",
    "FieldSpec",
    "Problem",
    "apply_override",
    "apply_overrides",
    "case_model",
    "case_to_dict",
    "contract",
    "iter_cases",
    "json_schema",
    "load_case",
    "parse_case",
    "without_conflicts",
]
