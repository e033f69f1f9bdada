"""Where key may sit in the clear: which nodes may act as trusted nodes.

Every node of the network graph carries two attributes that routing reads:

* ``country``: ISO 3166-1 alpha-2 code of where the node stands
  (:func:`qnetemu.geodata.country_codes`), or None at sea, in orbit, or
  where unknown;
* ``can_relay``: whether key may be relayed there, i.e. decrypted and
  re-encrypted by a trusted node. Routing never makes a node with
  ``can_relay = False`` an intermediate trusted node of a demand's path; it
  may still be a demand's end, and a QKD link's fibre may pass through it
  optically.

:func:`set_relay_permissions` sets ``can_relay`` from :class:`RelayRules`,
made at the boundary from the scenario's ``trust`` section. The rules, in
order:

1. a node that is not a site (``is_site = False``: a sea-cable waypoint or
   branching unit, a splice, a junction the topology marks as such) never
   relays: nobody can guard equipment there;
2. a satellite (``role = "satellite"``) relays when ``satellites`` is true;
3. a node named in ``forbid_nodes`` never relays;
4. a node named in ``allow_nodes`` relays whatever its country;
5. otherwise its country decides: it must be in ``allow_countries`` (when
   that is given; a node of unknown country then fails) and not in
   ``forbid_countries``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx


@dataclass(frozen=True)
class RelayRules:
    """Which nodes may relay key (see the module docstring for the order of the rules).

    Attributes
    ----------
    allow_countries : frozenset of str or None
        ISO 3166-1 alpha-2 codes where trusted nodes may stand; None: anywhere.
    forbid_countries : frozenset of str
        Codes where they may not.
    allow_nodes, forbid_nodes : frozenset of str
        Node names allowed whatever their country, and never allowed.
    satellites : bool
        Whether satellites relay key as trusted nodes in orbit.
    """

    allow_countries: frozenset[str] | None = None
    forbid_countries: frozenset[str] = frozenset()
    allow_nodes: frozenset[str] = frozenset()
    forbid_nodes: frozenset[str] = frozenset()
    satellites: bool = True


def may_relay(name, data: dict, rules: RelayRules) -> bool:
    """Whether the node ``name`` with attributes ``data`` may relay key under ``rules``.

    Examples
    --------
    >>> eu = RelayRules(allow_countries=frozenset({"AT", "DE"}))
    >>> may_relay("Vienna", {"country": "AT"}, eu), may_relay("Bern", {"country": "CH"}, eu)
    (True, False)
    >>> may_relay("Seacable Waypoint 1", {"country": None, "is_site": False}, RelayRules())
    False
    """
    if not data.get("is_site", True):
        return False
    if data.get("role") == "satellite":
        return rules.satellites and name not in rules.forbid_nodes
    if name in rules.forbid_nodes:
        return False
    if name in rules.allow_nodes:
        return True
    country = data.get("country")
    if rules.allow_countries is not None and country not in rules.allow_countries:
        return False
    return country not in rules.forbid_countries


def set_relay_permissions(graph: nx.Graph, rules: RelayRules) -> int:
    """Set ``can_relay`` (and a missing ``country`` to None) on every node, in place.

    Returns
    -------
    int
        How many nodes may not relay.
    """
    barred = 0
    for name, data in graph.nodes(data=True):
        data.setdefault("country", None)
        data["can_relay"] = may_relay(name, data, rules)
        barred += not data["can_relay"]
    return barred
