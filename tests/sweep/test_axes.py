"""Sweep axes: parameter paths, value expansion, point ids and seeds."""

from __future__ import annotations

import copy
import hashlib
import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pydantic import ValidationError

from qnetemu.scenario.sweep_spec import SweepSpec
from qnetemu.sweep.axes import (
    PathError,
    axis_values,
    check_axis_paths,
    expand_points,
    get_path,
    latin_hypercube_samples,
    parameter_combinations,
    parse_path,
    point_id_of,
    resolve_path,
    set_path,
)
from qnetemu.sweep.seeds import point_seed, point_seeds

SCENARIO = {
    "repeater": {"memory": {"coherence_time_s": 0.1, "efficiency": 0.5}, "spacing_km": 50.0},
    "links": [
        {"a": "Bucharest", "b": "Iasi", "length_km": 390.0, "attenuation_db_per_km": 0.2},
        {"a": "Iasi", "b": "Cluj-Napoca", "length_km": 310.0, "attenuation_db_per_km": 0.2},
        {"a": "Cluj-Napoca", "b": "Timisoara", "length_km": 320.0, "attenuation_db_per_km": 0.18},
        {"a": "Timisoara", "b": "Craiova", "length_km": 300.0, "attenuation_db_per_km": 0.2},
    ],
    "qkd": {"detector_efficiency": 0.2},
}


def spec(**kw):
    return SweepSpec.model_validate({"seed": 12345, **kw})


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("qkd.detector_efficiency", ("qkd", "detector_efficiency")),
        ("links[*].attenuation_db_per_km", ("links", "*", "attenuation_db_per_km")),
        ("links[3].length_km", ("links", 3, "length_km")),
        ("a[0][*].b-c", ("a", 0, "*", "b-c")),
    ],
)
def test_parse_path(path, tokens):
    assert parse_path(path) == tokens


@pytest.mark.parametrize(
    "path", ["", "links[", "links[-1].x", ".qkd", "qkd..x", "links[a]", "1abc", "qkd.[0]"]
)
def test_parse_path_rejects_malformed(path):
    with pytest.raises(PathError, match="malformed"):
        parse_path(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("repeater.memory.coherence_time_s", 0.1),
        ("qkd.detector_efficiency", 0.2),
        ("links[3].length_km", 300.0),
        ("links[*].attenuation_db_per_km", [0.2, 0.2, 0.18, 0.2]),
    ],
)
def test_get_path(path, expected):
    assert get_path(SCENARIO, path) == expected


def test_resolve_path_names_each_concrete_parameter():
    found = resolve_path(SCENARIO, "links[*].length_km")
    assert [p for p, _ in found] == [f"links[{i}].length_km" for i in range(4)]


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        (
            "repeater.memory.coherence_time_s",
            2.5,
            lambda d: d["repeater"]["memory"]["coherence_time_s"],
        ),
        ("links[1].length_km", 12.0, lambda d: [link["length_km"] for link in d["links"]]),
        (
            "links[*].attenuation_db_per_km",
            0.16,
            lambda d: [link["attenuation_db_per_km"] for link in d["links"]],
        ),
    ],
)
def test_set_path_returns_changed_copy(path, value, check):
    before = copy.deepcopy(SCENARIO)
    out = set_path(SCENARIO, path, value)
    assert SCENARIO == before  # the base scenario is shared by every point: never mutated
    got = check(out)
    if path == "links[1].length_km":
        assert got == [390.0, 12.0, 320.0, 300.0]
    elif "[*]" in path:
        assert got == [value] * 4
    else:
        assert got == value


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("qkd.detector_eficiency", "qkd has no key 'detector_eficiency'"),
        ("repeater.memory.coherence_time_s.x", "is a float, not a mapping"),
        ("links[7].length_km", "has 4 elements, index [7] is out of range"),
        ("qkd[*].x", "qkd is a dict, not a list"),
        ("links.length_km", "links is a list, not a mapping"),
        ("satellite.passes", "the scenario has no key 'satellite'"),
    ],
)
def test_bad_paths_say_what_is_wrong(path, message):
    with pytest.raises(PathError) as err:
        set_path(SCENARIO, path, 1.0)
    assert message in str(err.value)


def test_wildcard_on_empty_list_is_an_error():
    with pytest.raises(PathError, match="empty list"):
        get_path({"links": []}, "links[*].length_km")


def test_check_axis_paths_names_the_axis():
    s = spec(
        axes=[
            {"path": "qkd.detector_efficiency", "values": [0.1]},
            {"path": "links[*].length_km", "values": [1.0]},
            {"path": "repeater.memry.coherence_time_s", "values": [1.0]},
        ]
    )
    with pytest.raises(
        PathError, match=r"sweep\.axes\[2\]\.path: 'repeater\.memry\.coherence_time_s'"
    ):
        check_axis_paths(s, SCENARIO)
    lhs = spec(latin_hypercube={"count": 2, "axes": [{"path": "qkd.nope", "low": 0, "high": 1}]})
    with pytest.raises(PathError, match=r"sweep\.latin_hypercube\.axes\[0\]\.path"):
        check_axis_paths(lhs, SCENARIO)


# --- axis values ---------------------------------------------------------------------------------


def test_log_range_values():
    """9 log-spaced values from 1 ms to 10 s are 10**(-3 + k/2), k = 0..8 (closed form)."""
    s = spec(axes=[{"path": "x", "log_range": {"start": 1.0e-3, "stop": 10.0, "num": 9}}])
    vals = axis_values(s.axes[0], s.seed, 0)
    assert_allclose(vals, 10.0 ** (-3 + np.arange(9) / 2), rtol=1e-13)
    assert vals[0] == 1.0e-3 and vals[-1] == 10.0  # end points exact, not 10**log10(x)
    assert all(type(v) is float for v in vals)


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        ({"start": 25, "stop": 100, "num": 4}, [25.0, 50.0, 75.0, 100.0]),
        ({"start": 0.16, "stop": 0.2, "num": 3}, [0.16, 0.18, 0.2]),
        ({"start": 5, "stop": 5, "num": 1}, [5.0]),
    ],
)
def test_linear_range_values(rng, expected):
    s = spec(axes=[{"path": "x", "linear_range": rng}])
    vals = axis_values(s.axes[0], s.seed, 0)
    assert_allclose(vals, expected, rtol=1e-15)
    assert vals[0] == expected[0] and vals[-1] == expected[-1]


def test_random_axis_reproducible_and_uniform():
    """Uniform samples: mean (a+b)/2 and variance (b-a)^2/12; tolerance 4 standard errors."""
    axis = {"path": "x", "random": {"low": 0.1, "high": 0.3, "count": 20000}}
    a = axis_values(spec(axes=[axis]).axes[0], 12345, 0)
    b = axis_values(spec(axes=[axis]).axes[0], 12345, 0)
    c = axis_values(spec(axes=[axis]).axes[0], 12346, 0)
    d = axis_values(spec(axes=[axis]).axes[0], 12345, 1)
    assert a == b
    assert a != c and a != d  # other master seed, other axis: other stream
    x = np.asarray(a)
    assert x.min() >= 0.1 and x.max() < 0.3
    sd = 0.2 / math.sqrt(12)
    assert abs(x.mean() - 0.2) < 4 * sd / math.sqrt(x.size)
    # SE of the sample variance of a uniform: sqrt((mu4 - sigma^4)/n), mu4 = (b-a)^4/80
    se_var = math.sqrt((0.2**4 / 80 - sd**4) / x.size)
    assert abs(x.var() - sd**2) < 4 * se_var


def test_random_axis_log_scale_is_uniform_in_log():
    axis = {"path": "x", "random": {"low": 1e-3, "high": 10.0, "count": 20000, "log": True}}
    x = np.log10(axis_values(spec(axes=[axis]).axes[0], 7, 0))
    assert x.min() >= -3 and x.max() < 1
    assert abs(x.mean() - (-1.0)) < 4 * (4 / math.sqrt(12)) / math.sqrt(x.size)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("count", [1, 7, 50])
def test_latin_hypercube_is_stratified_and_reproducible(count, log):
    """Each column has exactly one sample per stratum (McKay, Beckman, Conover 1979)."""
    s = spec(
        latin_hypercube={
            "count": count,
            "axes": [
                {"path": "a", "low": 25.0, "high": 100.0},
                {"path": "b", "low": 1e-3, "high": 10.0, "log": log},
            ],
        }
    )
    x = latin_hypercube_samples(s.latin_hypercube, s.seed)
    assert x.shape == (count, 2)
    assert_array_equal(x, latin_hypercube_samples(s.latin_hypercube, s.seed))
    u0 = (x[:, 0] - 25.0) / 75.0
    u1 = (np.log(x[:, 1]) - np.log(1e-3)) / np.log(1e4) if log else (x[:, 1] - 1e-3) / (10.0 - 1e-3)
    for u in (u0, u1):
        assert_array_equal(np.sort(np.floor(u * count).astype(int)), np.arange(count))
    if count > 1:
        assert not np.array_equal(x, latin_hypercube_samples(s.latin_hypercube, s.seed + 1))


# --- combinations and points ---------------------------------------------------------------------


def test_grid_is_cartesian_product_last_axis_fastest():
    s = spec(
        axes=[
            {"path": "a", "values": [1, 2]},
            {"path": "b", "linear_range": {"start": 0, "stop": 1, "num": 3}},
        ]
    )
    assert parameter_combinations(s) == [{"a": a, "b": b} for a in (1, 2) for b in (0.0, 0.5, 1.0)]


def test_zip_pairs_axes_and_rejects_unequal_lengths():
    s = spec(
        mode="zip", axes=[{"path": "a", "values": [1, 2, 3]}, {"path": "b", "values": [4, 5, 6]}]
    )
    assert parameter_combinations(s) == [{"a": 1, "b": 4}, {"a": 2, "b": 5}, {"a": 3, "b": 6}]
    # Refused when the sweep section is read, before anything is expanded.
    with pytest.raises(ValidationError, match=r"sweep\.axes\[0\] has 2, sweep\.axes\[1\] has 3"):
        spec(mode="zip", axes=[{"path": "a", "values": [1, 2]}, {"path": "b", "values": [4, 5, 6]}])


def test_lhs_block_is_one_axis_of_the_grid():
    s = spec(
        axes=[{"path": "a", "values": [1, 2]}],
        latin_hypercube={
            "count": 3,
            "axes": [{"path": "b", "low": 0, "high": 1}, {"path": "c", "low": 0, "high": 1}],
        },
    )
    combos = parameter_combinations(s)
    assert len(combos) == 6
    assert [c["a"] for c in combos] == [1, 1, 1, 2, 2, 2]
    assert [c["b"] for c in combos[:3]] == [c["b"] for c in combos[3:]]


def test_duplicate_axis_value_is_rejected():
    with pytest.raises(PathError, match=r"sweep\.axes\[0\]: .* same value twice"):
        parameter_combinations(spec(axes=[{"path": "a", "values": [0.1, 0.1]}]))


def test_expand_points_counts_order_ids_and_seeds():
    s = spec(
        repetitions=3,
        engines=["analytic", "montecarlo"],
        architectures=["trusted_node", "repeater"],
        axes=[
            {
                "path": "repeater.memory.coherence_time_s",
                "log_range": {"start": 1e-3, "stop": 10.0, "num": 9},
            },
            {"path": "links[*].attenuation_db_per_km", "values": [0.16, 0.18, 0.2]},
        ],
    )
    pts = expand_points(s)
    assert len(pts) == 9 * 3 * 3 * 2 * 2
    assert [p.index for p in pts] == list(range(len(pts)))
    assert len({p.point_id for p in pts}) == len(pts)
    assert (pts[0].engine, pts[0].architecture, pts[0].rep) == ("analytic", "trusted_node", 0)
    assert (pts[1].rep, pts[3].architecture, pts[6].engine) == (1, "repeater", "montecarlo")
    # Seeds are the spawned children of the master seed, by index.
    children = np.random.SeedSequence(12345).spawn(len(pts))
    assert [p.seed for p in pts] == [int(c.generate_state(1, np.uint64)[0]) for c in children]
    assert len({p.seed for p in pts}) == len(pts)


def test_point_id_is_hash_of_canonical_overrides():
    """point_id = first 16 hex digits of SHA-256 of the canonical JSON (documented scheme)."""
    blob = json.dumps(
        {
            "overrides": [["a", 1.5], ["b", "x"]],
            "rep": 2,
            "engine": "analytic",
            "architecture": "repeater",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert point_id_of({"b": "x", "a": 1.5}, 2, "analytic", "repeater") == expected


def test_point_ids_do_not_depend_on_axis_order():
    a = {"path": "a", "values": [1, 2]}
    b = {"path": "b", "values": [3, 4, 5]}
    ids1 = {p.point_id for p in expand_points(spec(axes=[a, b]))}
    ids2 = {p.point_id for p in expand_points(spec(axes=[b, a]))}
    assert ids1 == ids2


@pytest.mark.parametrize("master", [0, 12345, 2**40 + 3])
def test_point_seed_matches_spawn_and_is_prefix_stable(master):
    seeds = point_seeds(master, 50)
    assert seeds[:10] == point_seeds(master, 10)  # adding points never changes earlier seeds
    assert [point_seed(master, i) for i in (49, 3, 0)] == [seeds[49], seeds[3], seeds[0]]


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_point_seed_rejects_bad_master(bad):
    with pytest.raises(ValueError, match="master seed"):
        point_seed(bad, 0)


# --- spec validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "axes": [
                    {"path": "a", "values": [1], "linear_range": {"start": 0, "stop": 1, "num": 2}}
                ]
            },
            "exactly one",
        ),
        ({"axes": [{"path": "a"}]}, "exactly one"),
        ({"axes": [{"path": "a", "values": [1]}], "colour": "red"}, "Extra inputs"),
        (
            {"axes": [{"path": "a", "log_range": {"start": 0, "stop": 1, "num": 2}}]},
            "greater than 0",
        ),
        (
            {"axes": [{"path": "a", "random": {"low": 1, "high": 1, "count": 2}}]},
            "must be greater than low",
        ),
        (
            {"axes": [{"path": "a", "values": [1]}, {"path": "a", "values": [2]}]},
            "swept by two axes",
        ),
        ({"engines": ["analytic", "analytic"]}, "twice"),
        ({"engines": ["netsquid"]}, "Input should be"),
        (
            {
                "latin_hypercube": {
                    "count": 3,
                    "axes": [{"path": "a", "low": 0, "high": 1, "log": True}],
                }
            },
            "log scale needs low > 0",
        ),
    ],
)
def test_spec_rejects(data, message):
    with pytest.raises(ValidationError, match=message):
        spec(**data)


def test_spec_memory_default_for_sequence():
    assert spec(engines=["analytic"]).memory_bytes_per_task() is None
    assert spec(engines=["sequence"]).memory_bytes_per_task() == 2 * 2**30
    assert spec(engines=["analytic"], task_memory_gib=0.5).memory_bytes_per_task() == 2**29
