"""Compiled optical bypass against today's networkx version, and the bound on bypassed nodes."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.network.bypass import add_bypass_links
from qnetemu.network.graph import build_graph
from qnetemu.network.routing_reference import add_bypass_links as reference_add_bypass_links


def _random_fibre(seed: int, n: int = 60) -> nx.Graph:
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(44.0, 46.0, n), rng.uniform(20.0, 23.0, n)
    sites = [{"name": f"S{i}", "lat_deg": float(lat[i]), "lon_deg": float(lon[i])} for i in range(n)]
    base = nx.random_geometric_graph(n, 0.22, seed=seed, pos={i: (lat[i], lon[i]) for i in range(n)})
    links = [{"a": f"S{u}", "b": f"S{v}", "route_factor": 1.3,
              "attenuation_db_per_km": float(rng.choice([0.18, 0.2, 0.22])),
              "extra_loss_db": float(rng.uniform(0.0, 3.0)),
              "qkd_profile": "b" if u % 5 == 0 else None,
              "cable": "submarine" if (u + v) % 11 == 0 else "terrestrial"}
             for u, v in base.edges]
    return build_graph(sites, links)


@pytest.mark.parametrize("seed", range(4))
def test_same_links_as_reference(seed):
    new, old = _random_fibre(seed), _random_fibre(seed)
    assert add_bypass_links(new, 90.0, bypass_loss_db=0.7) == reference_add_bypass_links(old, 90.0, bypass_loss_db=0.7)
    assert {frozenset(e) for e in new.edges} == {frozenset(e) for e in old.edges}
    for u, v, d in old.edges(data=True):
        if "fibre_path" not in d:
            continue
        e = new.edges[u, v]
        assert e["fibre_path"] in (d["fibre_path"], d["fibre_path"][::-1])
        for key in ("length_km", "attenuation_db_per_km", "extra_loss_db", "loss_db", "latency_s"):
            assert_allclose(e[key], d[key], rtol=1e-12, err_msg=key)
        for key in ("qkd_profile", "cable", "segment"):
            assert e[key] == d[key], key


def test_max_bypassed_nodes_bounds_the_links():
    """Chain A-B-C-D-E of 20 km spans, reach 100: unbounded gives every pair two or more hops
    apart (6 links); passing through at most one node keeps A-C, B-D, C-E only."""
    names = "ABCDE"
    sites = [{"name": x, "lat_deg": 45.0, "lon_deg": 10.0 + i} for i, x in enumerate(names)]
    links = [{"a": names[i], "b": names[i + 1], "length_km": 20.0} for i in range(4)]
    assert add_bypass_links(build_graph(sites, links), 100.0) == 6
    g = build_graph(sites, links)
    assert add_bypass_links(g, 100.0, max_bypassed_nodes=1) == 3
    assert {frozenset(e) for e in g.edges if len(g.edges[e].get("fibre_path", ())) == 3} == {
        frozenset("AC"), frozenset("BD"), frozenset("CE")}
    with pytest.raises(ValueError, match="max_bypassed_nodes"):
        add_bypass_links(g, 100.0, max_bypassed_nodes=0)
