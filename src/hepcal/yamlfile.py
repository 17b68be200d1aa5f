"""YAML parsing through libyaml when it is available.

The knowledge base, the contract and the thresholds are a few hundred kilobytes of YAML read at
every start; PyYAML's C loader parses them about ten times faster than the pure-Python one, and
both build the same safe subset (plain data, no Python objects).

YAML (like JSON) lets a later key silently replace an earlier one in the same mapping. In a
case, a knowledge-base entry or a threshold file that would drop a finding or a number without
anyone noticing, so ``safe_load`` refuses a repeated key instead.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["DuplicateKeyError", "safe_load"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key appears twice in one mapping (``key``: the key; ``problem_mark``: where)."""

    def __init__(self, key: Any, mark: Any):
        self.key = key
        super().__init__(None, None, f"key {key!r} appears twice in the same mapping", mark)


class _UniqueKeyLoader(_Loader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise DuplicateKeyError(key, key_node.start_mark)
                    seen.add(key)
                except TypeError:  # an unhashable key: the base constructor reports it
                    pass
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str) -> Any:
    """Parse one YAML document into plain data (raises ``yaml.YAMLError`` on bad YAML).

    A key repeated in one mapping raises :class:`DuplicateKeyError` (a ``yaml.YAMLError``).
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
