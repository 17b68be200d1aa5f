"""YAML parsing through libyaml when it is available.

The knowledge base, the contract and the thresholds are a few hundred kilobytes of YAML read at
every start; PyYAML's C loader parses them about ten times faster than the pure-Python one, and
both build the same safe subset (plain data, no Python objects).

YAML (like JSON) lets a later key silently replace an earlier one in the same mapping. In a
case, a knowledge-base entry or a threshold file that would drop a finding or a number without
anyone noticing, so ``safe_load`` refuses a repeated key instead.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["DocumentLimits", "DuplicateKeyError", "UntrustedYamlError", "load_packaged", "load_untrusted", "safe_load"]

_Model = TypeVar("_Model", bound=BaseModel)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key appears twice in one mapping (``key``: the key; ``problem_mark``: where)."""

    def __init__(self, key: Any, mark: Any):
        self.key = key
        super().__init__(None, None, f"key {key!r} appears twice in the same mapping", mark)


class _UniqueKeys:
    """Loader mixin: a key repeated in one mapping raises :class:`DuplicateKeyError`."""

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
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _UniqueKeyLoader(_UniqueKeys, _Loader):  # type: ignore[misc, valid-type]
    pass


def safe_load(text: str) -> Any:
    """Parse one YAML document into plain data (raises ``yaml.YAMLError`` on bad YAML).

    A key repeated in one mapping raises :class:`DuplicateKeyError` (a ``yaml.YAMLError``).
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader


# -- untrusted documents (case files) ------------------------------------------------------------
#
# A case file comes from a user, so its YAML is read under stricter rules than the shipped data:
#
# - YAML 1.2 core-schema scalars instead of PyYAML's YAML 1.1 ones, and a plain scalar that the
#   two versions read differently (``010``, ``1:30``, ``0x1F``, ``1_000``, ``.inf``, ``yes``,
#   ``on``, ``y`` ...) is refused with a message asking for the unambiguous spelling: a quiet
#   octal or base-60 reading would change a measurement without anyone noticing;
# - no tags (``!!int``, ``!!timestamp``, ``!python/...``): a case is plain data;
# - anchors and aliases are allowed, but the document's size after expanding every alias is
#   bounded, so an alias bomb is refused before anything walks (or prints) the expanded value;
# - nesting depth and the length of a number are bounded.
#
# The limits are checked on libyaml's event stream before any object is built.

import re  # noqa: E402
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class DocumentLimits:
    """Bounds on one untrusted document (a case); generous for any real case."""

    max_depth: int = 20
    max_nodes: int = 10_000  # after expanding aliases
    max_number_chars: int = 50


class UntrustedYamlError(ValueError):
    """An untrusted YAML document broke a rule; ``line`` is 1-based (or None)."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|(0|[1-9][0-9]*)(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
# Plain scalars that YAML 1.1, YAML 1.2 or a reader would take for something else.
_AMBIGUOUS = (
    (re.compile(r"^[-+]?0[0-9_]+(\.[0-9_]*)?([eE][-+]?[0-9]+)?$"), "a number with a leading zero (YAML 1.1 reads 010 as octal 8)"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$"), "a base-60 number (YAML 1.1 reads 1:30 as 90)"),
    (re.compile(r"^[-+]?0[xXoObB][0-9a-fA-F_]+$"), "a hexadecimal, octal or binary number"),
    (re.compile(r"^[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?$"), "a number with underscores (YAML 1.1 reads 1_000 as 1000)"),
    (re.compile(r"^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"), "an infinite or not-a-number value"),
    (re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$"), "a YAML 1.1 boolean word (write true or false)"),
)


def _scalar_rule(value: str) -> str | None:
    """Why a plain scalar is refused, or None when its reading is unambiguous."""
    if _INT.match(value) or _FLOAT.match(value) or _NULL.match(value) or _BOOL.match(value):
        return None
    for pattern, why in _AMBIGUOUS:
        if pattern.match(value):
            return why
    return None


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: null, true/false, decimal int and float; everything else a string."""

    yaml_implicit_resolvers: dict = {}


_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, list("~nN"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))

if hasattr(yaml, "CParser"):
    class _UntrustedLoader(yaml.CParser, yaml.constructor.SafeConstructor, _CoreResolver):  # type: ignore[misc]
        def __init__(self, stream: Any):
            yaml.CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _CoreResolver.__init__(self)
else:  # pragma: no cover - PyYAML without libyaml
    class _UntrustedLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                           yaml.composer.Composer, yaml.constructor.SafeConstructor, _CoreResolver):
        def __init__(self, stream: Any):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _CoreResolver.__init__(self)


class _UntrustedUniqueLoader(_UniqueKeys, _UntrustedLoader):  # type: ignore[misc, valid-type]
    pass


def _line(event: Any) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def check_events(text: str, limits: DocumentLimits) -> None:
    """Walk libyaml's events once and refuse tags, ambiguous scalars, deep nesting, long numbers
    and alias bombs before any object is built (raises :class:`UntrustedYamlError`)."""
    anchors: dict[str, int] = {}  # anchor -> expanded node count of its node
    # one frame per open collection: [anchor, node count so far]
    stack: list[list[Any]] = [[None, 0]]
    for event in yaml.parse(text, Loader=_UntrustedLoader):
        kind = type(event)
        if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.ScalarEvent) and event.tag is not None:
            raise UntrustedYamlError("tags such as !!int or !!timestamp are not allowed in a case; write plain values", _line(event))
        if kind is yaml.ScalarEvent:
            size = 1
            if event.implicit[0] and event.style is None:
                why = _scalar_rule(event.value)
                if why is not None:
                    raise UntrustedYamlError(f"the value {event.value[:40]!r} is {why}; write it unambiguously or in quotes", _line(event))
                if (_INT.match(event.value) or _FLOAT.match(event.value)) and len(event.value) > limits.max_number_chars:
                    raise UntrustedYamlError(f"a number of {len(event.value)} characters is too long; at most {limits.max_number_chars} are allowed", _line(event))
        elif kind is yaml.AliasEvent:
            size = anchors.get(event.anchor, 1)
        elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) - 1 > limits.max_depth:
                raise UntrustedYamlError(f"nested more than {limits.max_depth} levels deep; a case has three (section, key, list)", _line(event))
            continue
        elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                anchors[anchor] = size
            stack[-1][1] += size
            if stack[-1][1] > limits.max_nodes:
                raise UntrustedYamlError(f"the document expands to more than {limits.max_nodes} values (anchors and aliases count each time they are used)", _line(event))
            continue
        else:
            continue
        if kind is yaml.ScalarEvent and event.anchor is not None:
            anchors[event.anchor] = 1
        stack[-1][1] += size
        if stack[-1][1] > limits.max_nodes:
            raise UntrustedYamlError(f"the document expands to more than {limits.max_nodes} values (anchors and aliases count each time they are used)", _line(event))


def load_untrusted(text: str, limits: DocumentLimits = DocumentLimits()) -> Any:
    """Parse a user's YAML document under the rules above.

    Raises :class:`UntrustedYamlError` for a broken rule, :class:`DuplicateKeyError` for a
    repeated key and ``yaml.YAMLError`` for malformed YAML.
    """
    check_events(text, limits)
    return yaml.load(text, Loader=_UntrustedUniqueLoader)  # noqa: S506 - a safe loader


def load_packaged(package: str, name: str, model: type[_Model], error: type[Exception]) -> _Model:
    """A YAML data file shipped in ``package`` (thresholds, limits), validated by ``model``.

    A broken file is a packaging or editing error, not user input: it raises ``error`` naming
    the file and what is wrong with it.
    """
    where = f"{package.replace('.', '/')}/{name}"
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    try:
        return model.model_validate(safe_load(text))
    except yaml.YAMLError as exc:
        raise error(f"{where} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        raise error(f"{where} is invalid:\n{exc}") from None

