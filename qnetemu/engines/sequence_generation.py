"""Continuous entanglement-generation attempts for SeQUeNCe 1.3.1 chains.

Part of the SeQUeNCe adapter (with :mod:`qnetemu.engines.sequence_adapter`,
which calls :func:`install_continuous_generation`, and
:mod:`qnetemu.engines.sequence_rules`); these modules are the only ones that
import :mod:`sequence`.

``repeater.protocol.link_generation: continuous``: the two memories of a link
attempt once per period ``T = max(1 / attempt_rate_hz, L / c)`` (the longest
link's, as in the Monte Carlo engine), with no negotiation per attempt. By
default SeQUeNCe pairs the two routers' generation protocols
(REQUEST/RESPONSE, ``resource_manager.py``) and agrees an emission time
(NEGOTIATE/ACK, ``generation/single_heralded.py``) before *every* attempt.
Here the two generation slots of each router's ``ReservationRuleRegistry``
(``eg_request``, ``eg_await``) get builders whose rules create
:class:`ContinuousSingleHeraldedA`, a subclass of SeQUeNCe's own
single-heralded protocol. Everything physical is SeQUeNCe's: the memory's
``excite`` (emission, its efficiency, the ``1 / attempt_rate_hz`` bound, the
storage clock started at emission), the quantum channels (fibre loss, delay,
12.5 ns emission slots), the ``SingleHeraldedBSM`` (both photons in one
instant, linear-optics 1/2, detector efficiency), the heralding messages
(``MEAS_RES`` from the BSM node at the fibre's speed), the Bell-diagonal pair
it sets and the memories' decoherence.

The protocol (why each step)
----------------------------
* **One clock.** Attempts happen at the ticks ``k T + o s`` of one clock
  shared by every router of the chain (simulated time, ``k`` an integer),
  with ``s`` the quantum channel's 12.5 ns slot and ``o`` the lane's slot
  offset (below). ``T`` is ``max(1 / attempt_rate_hz, L / c)`` rounded up to
  a whole number of slots, and at least the herald's return plus SeQUeNCe's
  10 ps evaluation gap plus 1 ns, so that the outcome of an attempt is known
  before the next tick (at most 13.5 ns above the nominal period: 1.4e-4 of
  it on 20 km links). A memory that is free (RAW) at a tick emits; it needs
  no message to know when, so there is no negotiation.
* **First pairing.** The first time a memory is used, its protocol is paired
  with one on the neighbouring router by SeQUeNCe's own REQUEST/RESPONSE
  (``eg_match_func``); the REQUEST also carries the lane's slot offset. The
  two memories then form a lane for the rest of the run: each router records
  which remote memory its memory attempts with, and when its memory is free
  again (after a swap, a delivery, a failed swap or an expiry) a new
  protocol starts at once with the same partner, without messages.
* **Slot offsets.** Several lanes of one link share its quantum channel and
  BSM; each uses its own slot in the period, ``o = identity * memory_size +
  position`` of the left memory among its reservation's memories for that
  link (independent lanes: the lane's number, the same on every link of the
  lane; shared pool: the memory's position), so no two lanes of a link ever
  emit in the same slot and the two ends of a lane always emit together.
* **An attempt.** At a tick the protocol re-initialises its memory (the
  Bell-diagonal pair's storage counts from this emission, SeQUeNCe's
  ``excite``) and emits. The BSM reports detections to both routers; each
  evaluates at SeQUeNCe's own time (photon arrival + BSM-to-router delay +
  10 ps). Both photons in one instant at the BSM (both memories free at the
  tick), both detected: the pair is heralded, SeQUeNCe's code sets its state
  (link fidelity, decoherence from emission to herald) and hands the memory
  to the resource manager (ENTANGLED), whose swapping rules take over.
  Otherwise the protocol keeps the memory and attempts again at its next
  tick. A memory whose partner is still busy emits alone and fails; that is
  how a free memory waits for its partner without being told.

The Monte Carlo engine follows the same clock (``restart = "clock"`` in
:mod:`qnetemu.engines.repeater_montecarlo`): a freed link emits at the next
tick, each attempt heralding ``L / c`` after its emission. Its textbook
cycle (``pipelining=False``, the analytic engine's model) instead restarts
every link at a delivery with its first herald one period later; the two
coincide where each delivery comes ``L / c`` after a tick (instant swap
messages, one segment, or a period of ``L / c``), not with classical
messages and ``1 / attempt_rate_hz > L / c``: on 2 x 5 km, nested, 5 kHz,
the ends know a pair ``4 L / c`` after its last emission, before the next
tick, and SeQUeNCe delivers 1,457 +- 27 Hz against 1,444 +- 7 Hz from the
clocked Monte Carlo engine and 1,307 +- 5 Hz from the textbook cycle (seed
5, ``tests/engines/test_sequence_continuous.py``). As with negotiated
attempts, SeQUeNCe and the Monte Carlo engine also restart a link once both
of its memories are free, before the previous end-to-end pair is delivered
(pipelining).

Nothing here is process-wide: the protocol class is not registered in
``EntanglementGenerationA``'s registry (the rules create it directly), the
builders go into each router's own registry, and the clock and the lanes
belong to one :class:`ContinuousGeneration` per topology.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sequence.entanglement_management.generation import SingleHeraldedA
from sequence.entanglement_management.generation.generation_message import GenerationMsgType
from sequence.kernel.event import Event
from sequence.kernel.process import Process
from sequence.resource_management.action_condition_set import eg_match_func, eg_rule_condition
from sequence.resource_management.reservation_rule_registry import (
    EG_AWAIT,
    EG_PRIORITY_OFFSET,
    EG_REQUEST,
    ReservationRuleContext,
)
from sequence.resource_management.rule_manager import Rule

__all__ = ["ContinuousGeneration", "ContinuousSingleHeraldedA", "install_continuous_generation"]

#: SeQUeNCe's gap between the herald's arrival and the evaluation of an attempt
#: (``single_heralded.py``: ``expected_time + delay + 10``). [ps]
EVALUATION_GAP_PS = 10
#: Margin of the period over the herald's return: the outcome is known before the next tick. [ps]
PERIOD_MARGIN_PS = 1_000


@dataclass(frozen=True)
class _Lane:
    remote_node: str
    remote_memory: str
    offset: int


def install_continuous_generation(routers, nominal_period_ps: int) -> ContinuousGeneration:
    """Give every router's reservation-rule registry the continuous-generation builders.

    Parameters
    ----------
    routers
        The chain's SeQUeNCe ``QuantumRouter`` objects, after the topology is
        built and before any reservation is made.
    nominal_period_ps
        ``max(1 / attempt_rate_hz, L / c)`` of the longest link, rounded up. [ps]

    Returns
    -------
    ContinuousGeneration
        The chain's clock and lanes (it counts the emissions).
    """
    routers = list(routers)
    slot_ps, herald_ps = None, 0
    for router in routers:
        for bsm in set(router.map_to_middle_node.values()):
            qc = router.qchannels[bsm]
            slot = 10**12 / qc.frequency
            if slot != int(slot) or (slot_ps is not None and slot != slot_ps):
                raise ValueError(f"quantum channel slots must be equal whole picoseconds, got {slot}")
            slot_ps = int(slot)
            herald_ps = max(herald_ps, round(qc.distance / qc.light_speed) + router.cchannels[bsm].delay)
    if slot_ps is None:
        raise ValueError("no quantum channel to a BSM node: not a chain")
    period_ps = max(nominal_period_ps, herald_ps + EVALUATION_GAP_PS + PERIOD_MARGIN_PS)
    period_ps = slot_ps * math.ceil(period_ps / slot_ps)
    generation = ContinuousGeneration(period_ps, slot_ps)
    for router in routers:
        registry = router.resource_manager.get_reservation_rule_registry()
        registry.replace(EG_REQUEST, generation.build_request)
        registry.replace(EG_AWAIT, generation.build_await)
    return generation


class ContinuousGeneration:
    """The clock, the lanes and the generation rules of one chain (module docstring)."""

    def __init__(self, period_ps: int, slot_ps: int) -> None:
        if period_ps <= 0 or slot_ps <= 0 or period_ps % slot_ps:
            raise ValueError(f"period {period_ps} ps must be a positive multiple of the slot {slot_ps} ps")
        self.period_ps = period_ps
        self.slot_ps = slot_ps
        self._lanes: dict[str, _Lane] = {}  # memory name -> its lane (each router's own record)
        self.attempts = 0
        """Emissions (one per memory and tick at which it was free)."""

    # ------------------------------------------------------------- clock
    def next_tick_ps(self, now_ps: int, offset: int) -> int:
        """First tick of slot ``offset`` at or after ``now_ps``. [ps]"""
        phase = offset * self.slot_ps
        if phase >= self.period_ps:
            raise ValueError(f"lane offset {offset} does not fit in the period of {self.period_ps} ps")
        k = -(-(now_ps - phase) // self.period_ps)  # ceil
        return k * self.period_ps + phase

    def record_lane(self, memory_name: str, remote_node: str, remote_memory: str, offset: int) -> None:
        self._lanes[memory_name] = _Lane(remote_node, remote_memory, offset)

    # ----------------------------------------------------------- builders
    def build_request(self, context: ReservationRuleContext) -> Rule:
        """Towards the next router (SeQUeNCe's ``eg_request`` slot, same memories)."""
        size = context.reservation.memory_size
        indices = (context.memory_indices[:size] if context.index == 0
                   else context.memory_indices[size:])
        action_args = {
            "mid": context.owner.map_to_middle_node[context.path[context.index + 1]],
            "other": context.path[context.index + 1],
            "owner": context.owner,
            "indices": list(indices),
            "identity": context.reservation.identity,
            "size": size,
            "match_args": {"name": context.owner.name, "reservation": context.reservation},
        }
        return Rule(context.priority + EG_PRIORITY_OFFSET, self.action_request, eg_rule_condition,
                    action_args, {"memory_indices": indices})

    def build_await(self, context: ReservationRuleContext) -> Rule:
        """Towards the previous router (SeQUeNCe's ``eg_await`` slot, same memories)."""
        indices = context.memory_indices[:context.reservation.memory_size]
        action_args = {
            "mid": context.owner.map_to_middle_node[context.path[context.index - 1]],
            "other": context.path[context.index - 1],
            "owner": context.owner,
        }
        return Rule(context.priority + EG_PRIORITY_OFFSET, self.action_await, eg_rule_condition,
                    action_args, {"memory_indices": indices})

    # ------------------------------------------------------------ actions
    def _protocol(self, memory, args) -> ContinuousSingleHeraldedA:
        return ContinuousSingleHeraldedA(None, f"EGA.{memory.name}", args["mid"], args["other"],
                                         memory, generation=self)

    def _resume(self, protocol, lane: _Lane, owner):
        """A memory with a lane starts again at once: no request; it leaves the waiting list now."""
        protocol.owner = owner
        protocol.lane_offset = lane.offset
        protocol.set_others(f"lane.{lane.remote_memory}", lane.remote_node, [lane.remote_memory])
        tl = owner.timeline
        tl.schedule(Event(tl.now(), Process(self, "_launch", [protocol, owner]), tl.schedule_counter))
        return protocol, [None], [None], [None]

    @staticmethod
    def _launch(protocol, owner) -> None:
        rm = owner.resource_manager
        if protocol not in rm.waiting_protocols:  # its rule expired meanwhile
            return
        rm.waiting_protocols.remove(protocol)
        owner.protocols.append(protocol)
        protocol.start()

    def action_request(self, infos, args):
        memory = infos[0].memory
        protocol = self._protocol(memory, args)
        lane = self._lanes.get(memory.name)
        if lane is not None:
            return self._resume(protocol, lane, args["owner"])
        # first pairing: SeQUeNCe's request, carrying the lane's slot offset
        protocol.lane_offset = args["identity"] * args["size"] + args["indices"].index(infos[0].index)
        match_args = dict(args["match_args"], offset=protocol.lane_offset)
        return protocol, [args["other"]], [self.match], [match_args]

    def action_await(self, infos, args):
        memory = infos[0].memory
        protocol = self._protocol(memory, args)
        lane = self._lanes.get(memory.name)
        if lane is not None:
            return self._resume(protocol, lane, args["owner"])
        return protocol, [None], [None], [None]  # waits for the neighbour's first request

    def match(self, waiting_protocols, args):
        """At the requested router: SeQUeNCe's ``eg_match_func`` among memories without a lane."""
        fresh = [p for p in waiting_protocols
                 if isinstance(p, ContinuousSingleHeraldedA) and p.memory.name not in self._lanes]
        protocol = eg_match_func(fresh, args)
        if protocol is not None:
            protocol.lane_offset = args["offset"]
        return protocol


class ContinuousSingleHeraldedA(SingleHeraldedA):
    """SeQUeNCe's single-heralded protocol, attempting on the chain's clock until it succeeds.

    Started once paired (by the resource manager on the first pairing, by
    :class:`ContinuousGeneration` afterwards); each attempt is SeQUeNCe's
    first round (``|+>``, ``excite``), evaluated by SeQUeNCe's second round
    (``update_memory``); a failure schedules the next attempt instead of
    releasing the memory.
    """

    def __init__(self, owner, name, middle, other, memory, *, generation: ContinuousGeneration):
        super().__init__(owner, name, middle, other, memory)
        self.generation = generation
        self.lane_offset: int | None = None

    def set_others(self, protocol: str, node: str, memories: list[str]) -> None:
        super().set_others(protocol, node, memories)
        self.generation.record_lane(self.memory.name, node, memories[0], self.lane_offset)

    def start(self) -> None:
        if self not in self.owner.protocols:
            return
        self.qc_delay = self.owner.qchannels[self.middle].delay
        self._schedule_attempt()

    def _schedule_attempt(self) -> None:
        tl = self.owner.timeline
        t_ps = self.generation.next_tick_ps(tl.now(), self.lane_offset)
        event = Event(t_ps, Process(self, "attempt", []))
        tl.schedule(event)
        self.scheduled_events = [event]

    def attempt(self) -> None:
        """Emit at this tick (SeQUeNCe's round 1) and schedule the evaluation (round 2)."""
        if self not in self.owner.protocols:
            return
        tl = self.owner.timeline
        now = tl.now()
        slot = self.owner.schedule_qubit(self.middle, now)
        if slot != now:
            raise RuntimeError(f"{self.name}: emission slot at {now} ps taken (lanes share a slot)")
        self.ent_round = 1
        self.bsm_res = [0, 0]
        self.expected_time = now + self.qc_delay
        self.generation.attempts += 1
        self.emit_event()  # |+> and excite: SeQUeNCe's emission
        evaluate = self.expected_time + self.owner.cchannels[self.middle].delay + EVALUATION_GAP_PS
        event = Event(evaluate, Process(self, "update_memory", []), tl.schedule_counter)
        tl.schedule(event)
        self.scheduled_events = [event]

    def received_message(self, src: str, msg) -> None:
        # only heralds arrive: nobody negotiates with a continuous protocol
        if msg.msg_type is GenerationMsgType.MEAS_RES:
            super().received_message(src, msg)

    def _entanglement_fail(self):
        """No herald: keep the memory and attempt at the next tick."""
        self._schedule_attempt()
