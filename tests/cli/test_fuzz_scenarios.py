"""Property test: whatever a mutated shipped scenario says, the CLI answers with one line or a valid result.

Every scenario in ``scenarios/`` is mutated (keys dropped or duplicated,
values replaced by wrong types, extremes, NaN/infinity, deep nesting, random
unicode with control characters and rich markup, garbage text) and given to
``qnetemu validate``. The command must either accept it (exit 0) or refuse
it with exit status 2 and exactly one line on stderr, never a traceback. For
the small scenarios, a mutant that validates must also ``run``: validate and
run share one check pipeline and may not disagree.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qnetemu.cli import main
from qnetemu.scenario.load import read_scenario_mapping

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
SMALL = {"two_sites.yaml", "repeater_chain.yaml", "space_demo.yaml"}  # quick enough to run as well

MARKUP_AND_CONTROLS = ["x[/bold]", "[red]", "[link=file:///etc/passwd]x[/link]", ":cat:", "\x1b[31m", "\x1b]0;t\x07",
                       "\u202e", "\u2028", "\x00", "\r", "\x9b2J", "nan", ".inf", "-.inf", "1e309", "yes", "50",
                       "2026-13-45T00:00:00Z", "9999-01-01T00:00:00Z", "2026-03-20T00:00:00", "~", "{", "&a [*a]"]


def _deep(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: n * 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e308, -1e308, 1e-6, 1e9, 2.0**64, -1.0]),
    st.text(max_size=30),
    st.sampled_from(MARKUP_AND_CONTROLS),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12).map(lambda t: t + "[/bold]\x1b[2J"),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    st.integers(min_value=1, max_value=200).map(_deep),
)


def _paths(node, prefix=()):
    """Every (container path, key) in the mapping: where a mutation can act."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _at(node, path):
    for key in path:
        node = node[key]
    return node


@st.composite
def mutants(draw, base: dict) -> str:
    """The YAML text of ``base`` after one to three mutations."""
    data = yaml.safe_load(yaml.safe_dump(base))  # a private deep copy
    text_tail = ""
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _at(data, path[:-1]), path[-1]
        kind = draw(st.sampled_from(["drop", "drop", "duplicate", "top_dup", "garbage", *["replace"] * 7]))
        if kind == "drop":
            del parent[key]
        elif kind == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, yaml.safe_load(yaml.safe_dump(parent[key])))
            else:  # a mapping cannot hold a key twice: write it twice in the text
                text_tail += yaml.safe_dump({path[0]: data[path[0]]}, allow_unicode=True)
        elif kind == "replace":
            parent[key] = draw(values)
        elif kind == "top_dup":
            text_tail += yaml.safe_dump({draw(st.sampled_from(list(data) or ["name"])): draw(scalars)},
                                        allow_unicode=True)
        else:
            text_tail += draw(st.text(max_size=40))
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        text = ""
    return text + text_tail


def _cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _assert_one_line_or_ok(code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    if code != 0:
        assert code == 2, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert stderr.startswith("error: ")


def _property(name: str, examples: int):
    base = read_scenario_mapping(Path(SCENARIOS[0].parent / name))

    @settings(max_examples=examples, deadline=None, derandomize=os.environ.get("QNETEMU_FUZZ_RANDOM") is None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=mutants(base))
    def check(text: str) -> None:
        with tempfile.TemporaryDirectory(prefix="qnetemu-fuzz-") as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            code, stdout, stderr = _cli("validate", path)
            _assert_one_line_or_ok(code, stdout, stderr)
            if code == 0 and name in SMALL:
                run = _cli("run", path, "--out", Path(tmp) / "out", "--no-plots", "--quiet")
                assert run[0] == 0, f"validate accepted what run refused: {run[2]}"

    check()


def test_every_shipped_scenario_is_fuzzed():
    assert SMALL <= {p.name for p in SCENARIOS}, "a small scenario was renamed: update SMALL"


@pytest.mark.parametrize("name", [p.name for p in SCENARIOS if p.name in SMALL])
def test_mutated_small_scenarios_give_one_line_or_a_valid_run(name):
    _property(name, examples=int(os.environ.get("QNETEMU_FUZZ_EXAMPLES", 30)))


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in SCENARIOS if p.name not in SMALL])
def test_mutated_large_scenarios_give_one_line_or_ok(name):
    _property(name, examples=int(os.environ.get("QNETEMU_FUZZ_EXAMPLES", 15)))

