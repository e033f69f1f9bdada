"""Reading scenario files: YAML (safe only) into validated :class:`Scenario` models.

Every failure becomes a :class:`~qnetemu.errors.UserError` naming the file and
the field path (``links[3].length_km``), so the CLI prints one line.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qnetemu.errors import UserError
from qnetemu.scenario.schema import Scenario


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that also refuses duplicate mapping keys (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def field_path(loc: tuple) -> str:
    """``('links', 3, 'length_km')`` -> ``links[3].length_km``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml_error(exc: yaml.YAMLError, file: str) -> UserError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    problem = getattr(exc, "problem", None) or str(exc)
    if "could not determine a constructor" in str(exc):
        tag = str(exc).split("tag")[-1].strip().split()[0].strip("'")
        problem = f"YAML tag {tag} is not allowed (scenario files are plain data)"
    return UserError(f"YAML syntax error: {problem}", file=file, field=where)


def read_yaml(path: str | Path) -> dict:
    """Parse a YAML file with the safe, duplicate-refusing loader."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read file ({exc.__class__.__name__}: {exc})", file=file) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file) from None
    if not isinstance(data, dict):
        raise UserError("the top level must be a mapping of fields (name, sites, links, ...)", file=file)
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


def read_scenario_mapping(path: str | Path, _seen: tuple = ()) -> dict:
    """Read a scenario file, resolving ``extends: other.yaml`` (relative to the file).

    A study file can say ``extends: euroqci.yaml`` and add only its ``sweep:``
    section or the fields it changes; mappings merge, lists are replaced.
    """
    path = Path(path)
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise UserError("must be the path of another scenario file", file=str(path), field="extends")
    parent_path = (path.parent / parent).resolve()
    if parent_path in _seen or parent_path == path.resolve():
        raise UserError(f"circular extends through {parent}", file=str(path), field="extends")
    if not parent_path.is_file():
        raise UserError(f"file not found: {parent}", file=str(path), field="extends")
    return deep_merge(read_scenario_mapping(parent_path, (*_seen, path.resolve())), data)


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
    elif "input" in err and err["type"] not in {"model_type", "dict_type"}:
        msg = f"{msg} (got {err['input']!r})"
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
