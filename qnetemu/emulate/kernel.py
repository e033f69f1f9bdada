"""The emulation on simpy: key stores filling, failures, applications drawing key.

Model
-----
* Every QKD link has a key store at each end. QKD gives both ends the same
  bits, and one-time-pad relay spends the same bits at both ends, so the two
  stores always hold the same amount: one level per link, at most
  ``capacity_bits``; key generated into a full store is discarded (counted).
* A steady link delivers a block of ``block_bits`` every
  ``block_bits / key_rate_bps`` seconds while it and both its end nodes are
  up. A satellite trusted-relay link delivers each pass's key at the pass's
  end, if that night was clear at the station (drawn per station and night,
  local noon to local noon, with the station's clear-night fraction).
* Links and nodes fail and are repaired with exponential up and down times
  (mean time between failures, mean time to repair), or at scheduled times.
  A down link generates nothing, but its stored key stays usable: the
  one-time-pad ciphertext travels over the classical network. A down
  trusted node relays nothing and its links generate nothing.
* Each application's request of ``bits`` is served when every link of its
  route holds ``bits``: the relay spends ``bits`` on every hop (one-time pad,
  hop by hop). Routes are the widest paths of :func:`qnetemu.network.routing.route_all`
  on the network as it is: down nodes removed, down links kept only as a
  last resort (so stored key on them is used when there is no other way).
  They are recomputed at every failure and repair. A request not served
  within its ``max_wait_s`` is missed.
* Scheduling policy ``max_min_fair``: the waiting application that has
  received the least key so far goes first; when its route cannot serve it,
  ``bits`` are reserved for it on the links of its route that are up, and
  later applications use only the key above the reservation. Over time this
  is progressive filling, so constant rates converge to the static max-min
  fair allocation (:func:`qnetemu.network.allocation.allocate_max_min_fair`).
  ``fifo``: the oldest waiting request that its route can serve now.

Determinism and resumption
--------------------------
All state lives in :class:`EmulationState` (plain data and numpy
generators), never in simpy's generators. :meth:`Emulator.run_until`
builds a fresh simpy environment from the state, runs it to the boundary,
and leaves the state there; a run is always cut at the same boundaries, so a
run resumed from a pickled state gives exactly the rows of one that was not
interrupted.
"""

from __future__ import annotations

import bisect
import math
import zlib
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import simpy

from qnetemu.emulate.network import EmuNetwork
from qnetemu.network.routing import route_all

#: Weight of a down link in routing, relative to its rate: used only when no route avoids it.
_DOWN_LINK_WEIGHT = 1e-12
_SEED_FAIL_LINK, _SEED_FAIL_NODE, _SEED_WEATHER = 1, 2, 3


@dataclass
class Request:
    app: int
    seq: int
    arrival_s: float


@dataclass
class EmulationState:
    """Everything that changes during an emulation (picklable)."""

    seed: int
    now_s: float
    level_bits: list[float]
    initial_bits: list[float]
    generated_bits: list[float]
    consumed_bits: list[float]
    discarded_bits: list[float]
    blocks_done: list[int]
    next_pass: list[int]
    link_random_up: list[bool]
    link_next_toggle_s: dict[int, float]
    link_rng: dict[int, np.random.Generator]
    node_random_up: dict[str, bool]
    node_next_toggle_s: dict[str, float]
    node_rng: dict[str, np.random.Generator]
    link_down_s: list[float]
    link_down_since: list[float | None]
    next_request_s: list[float]
    next_seq: list[int]
    pending: list[list[Request]]
    served_bits: list[float]
    next_sample_s: float
    next_outage_edge: int
    wakes: list[float] = field(default_factory=list)
    nights: dict[tuple[str, int], bool] = field(default_factory=dict)


@dataclass
class ChunkRows:
    requests: list[dict] = field(default_factory=list)
    levels: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


def _exp(rng: np.random.Generator, mean_s: float) -> float:
    return float(rng.exponential(mean_s))


class Emulator:
    """Runs an :class:`EmuNetwork` in time; see the module docstring for the model."""

    def __init__(self, net: EmuNetwork, state: EmulationState):
        self.net = net
        self.state = state
        self._routes: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
        self._outage_edges = sorted(
            [(o.start_s, 0, i) for i, o in enumerate(net.outages)] + [(o.end_s, 1, i) for i, o in enumerate(net.outages)]
        )
        self._link_outages: dict[int, list[tuple[float, float]]] = {}
        self._node_outages: dict[str, list[tuple[float, float]]] = {}
        for o in net.outages:
            if o.link is not None:
                self._link_outages.setdefault(o.link, []).append((o.start_s, o.end_s))
            else:
                self._node_outages.setdefault(o.node, []).append((o.start_s, o.end_s))
        self._start_epoch_s = net.start_utc.timestamp() if net.start_utc is not None else 0.0
        #: Seconds between two blocks of a steady link (None: pass link or no key).
        self._interval_s = [link.block_bits / link.key_rate_bps if link.passes is None and link.key_rate_bps > 0
                            else None for link in net.links]
        self._env: simpy.Environment | None = None
        self._routing_graph: nx.Graph | None = None
        self.rows = ChunkRows()

    # ------------------------------------------------------------------ construction

    @classmethod
    def start(cls, net: EmuNetwork, seed: int) -> Emulator:
        n = len(net.links)
        spec = net.spec
        initial = [spec.initial_fill * link.capacity_bits for link in net.links]
        link_rng = {k: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SEED_FAIL_LINK, k)))
                    for k in sorted(net.link_reliability)}
        nodes = sorted(net.node_reliability)
        node_rng = {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SEED_FAIL_NODE, i)))
                    for i, name in enumerate(nodes)}
        state = EmulationState(
            seed=seed, now_s=0.0, level_bits=list(initial), initial_bits=list(initial),
            generated_bits=[0.0] * n, consumed_bits=[0.0] * n, discarded_bits=[0.0] * n,
            blocks_done=[0] * n,
            next_pass=[0] * n, link_random_up=[True] * n,
            link_next_toggle_s={k: _exp(link_rng[k], net.link_reliability[k].mtbf_s) for k in link_rng},
            link_rng=link_rng, node_random_up=dict.fromkeys(nodes, True),
            node_next_toggle_s={m: _exp(node_rng[m], net.node_reliability[m].mtbf_s) for m in nodes},
            node_rng=node_rng, link_down_s=[0.0] * n, link_down_since=[None] * n,
            next_request_s=[app.start_s for app in net.applications], next_seq=[0] * len(net.applications),
            pending=[[] for _ in net.applications], served_bits=[0.0] * len(net.applications),
            next_sample_s=0.0, next_outage_edge=0,
        )
        return cls(net, state)

    # ------------------------------------------------------------------ network state

    def _scheduled_down(self, link: int | None = None, node: str | None = None) -> bool:
        now = self.state.now_s
        spans = self._link_outages.get(link, ()) if link is not None else self._node_outages.get(node, ())
        return any(start <= now < end for start, end in spans)

    def node_up(self, name: str) -> bool:
        return self.state.node_random_up.get(name, True) and not self._scheduled_down(node=name)

    def link_up(self, k: int) -> bool:
        """The link itself works (its fibre or free-space channel and terminals)."""
        return self.state.link_random_up[k] and not self._scheduled_down(link=k)

    def link_generating(self, k: int) -> bool:
        link = self.net.links[k]
        return self.link_up(k) and self.node_up(link.a) and self.node_up(link.b)

    def _network_changed(self) -> None:
        """After a failure or repair: stores brought up to now under the old state, then the state cached."""
        self._catch_up_all()
        self._routes.clear()
        now = self.state.now_s
        for k in range(len(self.net.links)):
            down = not self.link_generating(k)
            since = self.state.link_down_since[k]
            if down and since is None:
                self.state.link_down_since[k] = now
            elif not down and since is not None:
                self.state.link_down_s[k] += now - since
                self.state.link_down_since[k] = None

    def _routing_view(self) -> nx.Graph:
        """The built graph as it is now: down nodes left out, down links kept at a vanishing rate.

        A copy of the built graph keeps every attribute routing reads (relay
        rules, lengths); only ``key_rate_bps`` changes.
        """
        if self._routing_graph is None:
            self._routing_graph = self.net.graph.copy()
        graph = self._routing_graph
        for link in self.net.links:
            weight = 1.0 if self.link_up(link.index) else _DOWN_LINK_WEIGHT
            graph.edges[link.a, link.b]["key_rate_bps"] = link.key_rate_bps * weight
        down = {n for n in graph.nodes if not self.node_up(n)}
        return nx.subgraph_view(graph, filter_node=lambda n: n not in down) if down else graph

    def routes(self, pairs: list[tuple[str, str]]) -> list[tuple[list[str], list[int]]]:
        """Current route of each pair: its nodes and its link indices (empty when none)."""
        missing = [p for p in dict.fromkeys(pairs) if p not in self._routes]
        if missing:
            view = self._routing_view()
            ask = [p for p in missing if p[0] in view and p[1] in view]
            found = dict(zip(ask, route_all(view, ask, rate_tolerance=self.net.route_rate_tolerance), strict=True))
            for p in missing:
                nodes = found.get(p, [])
                hops = [self.net.link_index[frozenset(e)] for e in zip(nodes[:-1], nodes[1:], strict=False)]
                self._routes[p] = (nodes, hops)
        return [self._routes[p] for p in pairs]

    # ------------------------------------------------------------------ key

    def _catch_up(self, k: int) -> None:
        """Deliver the steady blocks due by now (block m comes at m x interval).

        Blocks are accounted lazily, when a store is read or the network
        changes: between two such moments nothing else touches the store, so
        one capped deposit of n blocks equals n deposits. Whether the link was
        generating is the cached state (``link_down_since``), which changes
        only after a catch-up.
        """
        interval = self._interval_s[k]
        if interval is None:
            return
        s = self.state
        now = s.now_s
        m = math.floor(now / interval)
        if (m + 1) * interval <= now:
            m += 1
        elif m * interval > now:
            m -= 1
        n = m - s.blocks_done[k]
        if n > 0:
            if s.link_down_since[k] is None:
                self._deposit(k, n * self.net.links[k].block_bits)
            s.blocks_done[k] = m

    def _catch_up_all(self) -> None:
        for k in range(len(self.net.links)):
            self._catch_up(k)

    def level(self, k: int) -> float:
        """Key in link k's store now [bit]."""
        self._catch_up(k)
        return self.state.level_bits[k]

    def _deposit(self, k: int, bits: float) -> None:
        s = self.state
        room = self.net.links[k].capacity_bits - s.level_bits[k]
        kept = min(bits, max(room, 0.0))
        s.level_bits[k] += kept
        s.generated_bits[k] += bits
        s.discarded_bits[k] += bits - kept

    def _spend(self, hops: list[int], bits: float) -> None:
        s = self.state
        for k in hops:
            s.level_bits[k] -= bits
            s.consumed_bits[k] += bits

    def draw(self, a: str, b: str, bits: float) -> list[str] | None:
        """Take ``bits`` of key from a to b now, hop by hop (for ``qnetemu serve``); the route, or None."""
        nodes, hops = self.routes([(a, b)])[0]
        if not hops or any(self.level(k) < bits for k in hops):
            return None
        self._spend(hops, bits)
        return nodes

    def available_bits(self, a: str, b: str) -> float:
        """Key the route from a to b could deliver now [bit] (its emptiest store)."""
        _, hops = self.routes([(a, b)])[0]
        return min((self.level(k) for k in hops), default=0.0)

    def clear_night(self, link_index: int, time_s: float) -> bool:
        link = self.net.links[link_index]
        local_s = self._start_epoch_s + time_s + link.station_lon_deg / 360.0 * 86400.0
        night = math.floor((local_s - 43200.0) / 86400.0)
        key = (link.station, night)
        if key not in self.state.nights:
            word = zlib.crc32(link.station.encode())
            rng = np.random.default_rng(np.random.SeedSequence(self.state.seed, spawn_key=(_SEED_WEATHER, word, night + 2**31)))
            self.state.nights[key] = bool(rng.random() < link.clear_fraction)
        return self.state.nights[key]

    # ------------------------------------------------------------------ scheduling

    def _record(self, app: int, req: Request, outcome: str, decided_s: float, nodes: list[str], hops: list[int]):
        spec = self.net.applications[app]
        latency = float("nan")
        if outcome == "served":
            latency = decided_s - req.arrival_s + sum(self.net.links[k].latency_s for k in hops)
        self.rows.requests.append({
            "application": spec.name, "app_index": app, "request": req.seq, "arrival_s": req.arrival_s,
            "bits": spec.bits, "outcome": outcome, "decided_s": decided_s, "wait_s": decided_s - req.arrival_s,
            "latency_s": latency, "hops": len(hops), "route": " > ".join(nodes) if outcome == "served" else "",
        })

    def _expire(self) -> None:
        now = self.state.now_s
        for i, queue in enumerate(self.state.pending):
            wait = self.net.applications[i].max_wait_s
            while queue and queue[0].arrival_s + wait < now:
                req = queue.pop(0)
                self._record(i, req, "missed", req.arrival_s + wait, [], [])

    def schedule(self) -> None:
        """Serve what can be served now under the scheduling policy; set wake-ups for what waits."""
        s = self.state
        apps = self.net.applications
        self._expire()
        waiting = [i for i in range(len(apps)) if s.pending[i]]
        if not waiting:
            return
        routes = dict(zip(waiting, self.routes([(apps[i].a, apps[i].b) for i in waiting]), strict=True))
        fair = self.net.spec.scheduling == "max_min_fair"
        while True:
            if fair:
                order = sorted((i for i in waiting if s.pending[i]),
                               key=lambda i: (s.served_bits[i], s.pending[i][0].arrival_s, i))
            else:
                order = sorted((i for i in waiting if s.pending[i]), key=lambda i: (s.pending[i][0].arrival_s, i))
            reserved: dict[int, float] = {}
            blocked: list[tuple[int, dict[int, float]]] = []
            served = False
            for i in order:
                nodes, hops = routes[i]
                if not hops:
                    continue
                bits = apps[i].bits
                if all(self.level(k) - reserved.get(k, 0.0) >= bits for k in hops):
                    self._spend(hops, bits)
                    s.served_bits[i] += bits
                    self._record(i, s.pending[i].pop(0), "served", s.now_s, nodes, hops)
                    served = True
                    break  # priorities changed: re-sort
                blocked.append((i, {k: bits + reserved.get(k, 0.0) for k in hops}))
                if fair:
                    for k in hops:
                        if self.link_up(k):
                            reserved[k] = reserved.get(k, 0.0) + bits
            if not served:
                break
        for i, need in blocked:
            self._wake_when_enough(need, s.pending[i][0].arrival_s + apps[i].max_wait_s, reserve=fair)

    def _wake_when_enough(self, need: dict[int, float], deadline_s: float, *, reserve: bool) -> None:
        """Wake the scheduler when steady blocks will have brought every hop to its need (before the
        deadline), and just after the deadline when a reservation must be released."""
        s = self.state
        t = s.now_s
        for k, bits in need.items():
            short = bits - self.level(k)
            if short <= 0:
                continue
            interval = self._interval_s[k]
            if interval is None or s.link_down_since[k] is not None:
                t = None  # key comes with a pass or a repair, which wake the scheduler themselves
                break
            t = max(t, (s.blocks_done[k] + math.ceil(short / self.net.links[k].block_bits)) * interval)
        if t is not None and t <= deadline_s:
            self._wake_at(t)
        if reserve:
            self._wake_at(math.nextafter(deadline_s, math.inf))

    def _wake_at(self, t: float) -> None:
        wakes = self.state.wakes
        i = bisect.bisect_left(wakes, t)
        if i < len(wakes) and wakes[i] == t:
            return
        wakes.insert(i, t)
        if self._env is not None:
            self._env.process(self._wake(self._env, t))

    def _wake(self, env, t: float):
        yield self._wait(env, t)
        self.state.now_s = env.now
        self.state.wakes.remove(t)
        self.schedule()

    # ------------------------------------------------------------------ processes

    def _wait(self, env: simpy.Environment, until_s: float):
        return env.timeout(max(until_s - env.now, 0.0))

    def _pass_link(self, env, k: int):
        s, link = self.state, self.net.links[k]
        n = len(link.passes)
        while True:
            cycle, j = divmod(s.next_pass[k], n)
            t = cycle * self.net.window_s + link.passes[j].time_s
            yield self._wait(env, t)
            s.now_s = env.now
            if self.link_generating(k) and self.clear_night(k, t):
                self._deposit(k, link.passes[j].key_bits)
                self.schedule()
            s.next_pass[k] += 1

    def _event(self, what: str, name: str, event: str, cause: str) -> None:
        self.rows.events.append({"time_s": self.state.now_s, "element": what, "name": name, "event": event,
                                 "cause": cause})

    def _link_failures(self, env, k: int):
        s, rel = self.state, self.net.link_reliability[k]
        while True:
            yield self._wait(env, s.link_next_toggle_s[k])
            s.now_s = env.now
            up = not s.link_random_up[k]
            s.link_random_up[k] = up
            s.link_next_toggle_s[k] = env.now + _exp(s.link_rng[k], rel.mtbf_s if up else rel.mttr_s)
            self._event("link", self.net.links[k].link_id, "up" if up else "down", "random")
            self._network_changed()
            self.schedule()

    def _node_failures(self, env, name: str):
        s, rel = self.state, self.net.node_reliability[name]
        while True:
            yield self._wait(env, s.node_next_toggle_s[name])
            s.now_s = env.now
            up = not s.node_random_up[name]
            s.node_random_up[name] = up
            s.node_next_toggle_s[name] = env.now + _exp(s.node_rng[name], rel.mtbf_s if up else rel.mttr_s)
            self._event("node", name, "up" if up else "down", "random")
            self._network_changed()
            self.schedule()

    def _scheduled_outages(self, env):
        s = self.state
        while s.next_outage_edge < len(self._outage_edges):
            t, end, i = self._outage_edges[s.next_outage_edge]
            yield self._wait(env, t)
            s.now_s = env.now
            o = self.net.outages[i]
            name = o.node if o.node is not None else self.net.links[o.link].link_id
            self._event("node" if o.node is not None else "link", name, "up" if end else "down", "scheduled")
            s.next_outage_edge += 1
            self._network_changed()
            self.schedule()

    def _application(self, env, i: int):
        s, app = self.state, self.net.applications[i]
        while True:
            yield self._wait(env, s.next_request_s[i])
            s.now_s = env.now
            s.pending[i].append(Request(i, s.next_seq[i], env.now))
            s.next_seq[i] += 1
            s.next_request_s[i] += app.period_s
            self.schedule()

    def _sampler(self, env):
        s = self.state
        period = self.net.spec.sample_period_s
        while True:
            yield self._wait(env, s.next_sample_s)
            s.now_s = env.now
            self.rows.levels += [
                {"time_s": env.now, "link_id": link.link_id, "level_bits": self.level(link.index),
                 "up": self.link_generating(link.index)}
                for link in self.net.links
            ]
            s.next_sample_s += period

    # ------------------------------------------------------------------ running

    def run_until(self, until_s: float, *, with_applications: bool = True, with_samples: bool = True) -> ChunkRows:
        """Advance the emulation to ``until_s`` [s]; return the rows produced on the way."""
        s = self.state
        if until_s < s.now_s:
            raise ValueError(f"cannot run back in time ({until_s} < {s.now_s})")
        self.rows = ChunkRows()
        env = simpy.Environment(initial_time=s.now_s)
        self._env = env
        self._network_changed()
        for k, link in enumerate(self.net.links):
            if link.passes:
                env.process(self._pass_link(env, k))
        for t in list(s.wakes):
            env.process(self._wake(env, t))
        for k in sorted(s.link_next_toggle_s):
            env.process(self._link_failures(env, k))
        for name in sorted(s.node_next_toggle_s):
            env.process(self._node_failures(env, name))
        if self._outage_edges:
            env.process(self._scheduled_outages(env))
        if with_applications:
            for i in range(len(self.net.applications)):
                env.process(self._application(env, i))
        if with_samples:
            env.process(self._sampler(env))
        env.run(until=until_s)
        self._env = None
        s.now_s = until_s
        self._network_changed()
        return self.rows

    def finish(self) -> ChunkRows:
        """At the end: requests still waiting are recorded (missed if past their deadline, else unfinished)."""
        self.rows = ChunkRows()
        self._expire()
        for i, queue in enumerate(self.state.pending):
            for req in queue:
                self._record(i, req, "unfinished", self.state.now_s, [], [])
            queue.clear()
        return self.rows
