"""Reading scenario files: YAML (safe only) into validated :class:`Scenario` models.

Every failure becomes a :class:`~qnetemu.errors.UserError` naming the file and
the field path (``links[3].length_km``), so the CLI prints one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qnetemu.errors import UserError
from qnetemu.scenario.schema import Scenario

#: Scenario files larger than this are refused before they are read. A scenario
#: describes a network; large topologies belong in a GraphML file
#: (``topology: {source: graphml, path: ...}``), which is not limited by this.
MAX_SCENARIO_FILE_BYTES = 16 * 2**20

#: Deepest nesting of lists and mappings a scenario may use (the schema needs 6).
MAX_NESTING = 64

#: Most values (scalars, lists, mappings) one file may expand to, aliases counted
#: each time they are used: bounds what validation and hashing have to walk.
MAX_VALUES = 2_000_000

#: Longest chain of ``extends:`` files.
MAX_EXTENDS = 16

#: YAML 1.2 floats that PyYAML's YAML 1.1 rules read as strings: ``1e9``,
#: ``1.0e18``, ``2E-3`` (1.1 wants a dot and a signed exponent).
_FLOAT_12 = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate and unhashable keys, deep nesting and values Python cannot build.

    PyYAML keeps the last of duplicate keys silently, composes nested nodes
    recursively (a 1,500-deep list is a RecursionError) and lets a bad
    timestamp or a 5,000-digit integer escape as a bare ValueError; here each
    is a YAML error with its line and column.
    """

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, f"lists and mappings nested deeper than {MAX_NESTING} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            value = node.value if isinstance(node.value, str) else ""
            shown = repr(value[:40] + "…") if len(value) > 40 else repr(value)
            reason = str(exc).split(";")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid {kind} {shown}: {reason}", node.start_mark
            ) from None


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # ``<<: *defaults``: merged (and overridable) by construct_mapping
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+.0123456789"))


def field_path(loc: tuple) -> str:
    """``('links', 3, 'length_km')`` -> ``links[3].length_km``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml_error(exc: yaml.YAMLError, file: str, text: str = "") -> UserError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow, e.g. a raw control code
        before = text[: exc.position]
        where = f"line {before.count(chr(10)) + 1}, column {exc.position - before.rfind(chr(10))}"
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        problem = f"character {ascii(char)} is not allowed (write it as an escape in a double-quoted string)"
    if "could not determine a constructor" in str(exc):
        tag = str(exc).split("tag")[-1].strip().split()[0].strip("'")
        problem = f"YAML tag {tag} is not allowed (scenario files are plain data)"
    return UserError(f"YAML syntax error: {problem}", file=file, field=where)


def read_text_file(path: str | Path, *, max_bytes: int = MAX_SCENARIO_FILE_BYTES, what: str = "scenario files") -> str:
    """The UTF-8 text of a regular file no larger than ``max_bytes``.

    Opened without blocking and checked with ``fstat`` before anything is
    read, so a FIFO, a device (``/dev/zero``) or a directory is refused
    instead of hanging or filling memory.
    """
    file = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UserError("file not found", file=file) from None
    except OSError as exc:
        raise UserError(f"cannot open file ({exc.strerror or exc})", file=file) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UserError(f"is {kind}; give a scenario file", file=file)
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > max_bytes:
            raise UserError(
                f"is {info.st_size / 2**20:,.1f} MiB; {what} are limited to {max_bytes / 2**20:g} MiB "
                "(put large topologies in a GraphML file: topology: {source: graphml, path: ...})",
                file=file,
            )
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise UserError(f"cannot read file ({exc.strerror or exc})", file=file) from None
    if len(data) > max_bytes:  # grew while we read it
        raise UserError(f"{what} are limited to {max_bytes / 2**20:g} MiB", file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"is not UTF-8 text (byte {exc.start})", file=file) from None


def _check_shape(data: Any, file: str) -> None:
    """Refuse aliases that expand without bound or refer to themselves (walked without recursion)."""
    stack = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise UserError(f"expands to more than {MAX_VALUES:,} values (YAML aliases count each time they are "
                            "used)", file=file)
        if depth > MAX_NESTING:
            raise UserError(f"nested deeper than {MAX_NESTING} levels (or a YAML alias contains itself)", file=file)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def read_yaml(path: str | Path) -> dict:
    """Parse a YAML file with the safe, duplicate-refusing loader."""
    path = Path(path)
    file = str(path)
    text = read_text_file(path)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    if not isinstance(data, dict):
        raise UserError("the top level must be a mapping of fields (name, sites, links, ...)", file=file)
    _check_shape(data, file)
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_scenario_mapping(path: str | Path) -> dict:
    """Read a scenario file, resolving ``extends: other.yaml`` (relative to the file).

    A study file can say ``extends: euroqci.yaml`` and add only its ``sweep:``
    section or the fields it changes; mappings merge, lists are replaced.
    Chains are followed without recursion, at most :data:`MAX_EXTENDS` deep.
    """
    path = Path(path)
    chain: list[tuple[Path, dict]] = []
    seen: set[Path] = set()
    while True:
        data = read_yaml(path)
        parent = data.pop("extends", None)
        chain.append((path, data))
        seen.add(path.resolve())
        if parent is None:
            break
        if not isinstance(parent, str) or not parent:
            raise UserError("must be the path of another scenario file", file=str(path), field="extends")
        parent_path = (path.parent / parent).resolve()
        if parent_path in seen:
            raise UserError(f"circular extends through {parent}", file=str(path), field="extends")
        if len(chain) >= MAX_EXTENDS:
            raise UserError(f"more than {MAX_EXTENDS} files chained by extends", file=str(path), field="extends")
        if not parent_path.exists():
            raise UserError(f"file not found: {parent}", file=str(path), field="extends")
        path = parent_path
    merged: dict = {}
    for _, data in reversed(chain):
        merged = deep_merge(merged, data)
    return merged


def validation_error_to_user_error(exc: ValidationError, file: str) -> UserError:
    """The first (most specific) pydantic error as one line with its YAML path."""
    err = exc.errors(include_url=False)[0]
    # Tagged unions put the tag in the location (topology.topohub.key): drop it.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in {"topohub", "graphml"}))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and err["type"] not in {"model_type", "dict_type"} \
            and not isinstance(err["input"], dict | list):  # a model validator's input is the whole mapping
        got = repr(err["input"])
        msg = f"{msg} (got {got if len(got) <= 80 else got[:80] + '…'})"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return UserError(msg, file=file, field=field_path(loc) or None)


def validate_scenario_dict(data: dict, file: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario mapping; raise UserError naming file and field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_user_error(exc, file) from None


def content_hash(data: dict) -> str:
    """SHA-256 of the scenario's canonical JSON (key order and formatting do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_scenario(path: str | Path) -> tuple[Scenario, dict]:
    """Read (resolving ``extends``) and validate a scenario file; return the model and the mapping."""
    data = read_scenario_mapping(path)
    return validate_scenario_dict(data, str(path)), data
