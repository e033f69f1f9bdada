"""Swap-ASAP and instant swap messages for SeQUeNCe 1.3.1 chains.

Part of the SeQUeNCe adapter (with :mod:`qnetemu.engines.sequence_adapter`,
which calls :func:`install_swap_asap` and :func:`make_swap_messages_instant`);
these two modules are the only ones that import :mod:`sequence`.

SeQUeNCe builds each reservation's rules from a per-resource-manager
``ReservationRuleRegistry`` (``resource_management/reservation_rule_registry.py``):
its entanglement-swapping slots (``es_a``, ``es_b``, ``es_b_end``) swap in the
nested order. Here those three slots get builders whose rules swap as soon as
possible: an inner router swaps as soon as it holds an entangled memory whose
partner is on its left and one whose partner is on its right, whatever those
partners are. Everything else is SeQUeNCe's own: the swapping protocols of the
chosen formalism (``EntanglementSwappingA/B.create``), the resource manager's
pairing (REQUEST/RESPONSE, one classical round trip to the farther partner
before the swap), the outcome messages (``SWAP_RES``) and the generation rules.
The registry belongs to each router's resource manager, so nothing here is
process-wide state: a new topology starts with SeQUeNCe's defaults and gets
these builders again.

The protocol (why each step)
----------------------------
* ``es_b`` / ``es_b_end``: every entangled memory that its router does not
  swap now waits, as an ``EntanglementSwappingB``, for a partner's swap (end
  routers: unless it is entangled with the other end, i.e. delivered).
* ``es_a``: when a memory becomes entangled and a memory on the other side is
  entangled too (free, or waiting in an ``EntanglementSwappingB`` that no
  partner has paired yet), the router takes both for an
  ``EntanglementSwappingA`` and asks the two partners to pair it.
* Two neighbours may both want the pair between them (router ``i`` for its
  swap, router ``j`` for its own). SeQUeNCe's default request matching
  would reject both requests and both routers would retry for ever. Here the
  swap that would start first wins (the end of its pairing round trip, which
  each request carries; ties go to the left router), as in the Monte Carlo
  engine, where a pending swap is dropped when a partner swaps first. Both
  routers compare the same two times, so they decide alike: when the
  winner's request reaches the loser while the loser is pairing its own
  swap on that memory, the loser abandons its swap (releasing a partner
  that already paired with it) and pairs the memory with the winner's swap;
  the loser's request reaching the winner is rejected, and by then the loser
  has abandoned (the winner's request left no later than the loser's
  arrived). The loser swaps again once the winner's outcome message names
  its new partner, after a new pairing round trip: the Monte Carlo engine's
  "the node pairs again once it knows the new pair". (With three routers in
  a row all pairing at once this pairwise rule can make a router give way
  to a swap that itself gives way, which the global order would not: once
  in 200 deliveries on 4 x 20 km, 135 yields in all.)
* The loser's other memory goes back to the rules in the same instant, in
  turn with the messages already sent (an event with SeQUeNCe's schedule
  counter as priority, as its channels give messages). At the default
  priority (inf) it waited behind every message of the instant; on equal
  links (simultaneous heralds) under instant messages, a neighbour asking for
  that memory was rejected and asked again at once, and the timeline never
  left that instant (issue 9). Since only instant messages can hold the
  timeline at one instant, :func:`make_swap_messages_instant` also stops a
  run that sends more than :data:`MAX_SWAP_MESSAGES_PER_INSTANT` swap
  messages at one instant, with :class:`~qnetemu.engines.chain.ChainBeyondEngine`.
* A partner's ``EntanglementSwappingB`` left paired with an abandoned swap is
  replaced by a fresh one when the same router asks again (only that router
  can pair that memory, and it has one protocol per memory at a time).
  Protocols carry unique names, so late RESPONSE and RELEASE messages for an
  abandoned protocol match nothing.
"""

from __future__ import annotations

import itertools

from sequence.entanglement_management.swapping import (
    EntanglementSwappingA,
    EntanglementSwappingB,
)
from sequence.entanglement_management.swapping.swapping_base import EntanglementSwappingMessage
from sequence.kernel.event import Event
from sequence.kernel.process import Process
from sequence.resource_management.action_condition_set import es_match_func
from sequence.resource_management.memory_manager import MemoryInfo
from sequence.resource_management.reservation_rule_registry import (
    ES_A,
    ES_B,
    ES_B_END,
    ES_PRIORITY_OFFSET,
    ReservationRuleContext,
)
from sequence.resource_management.rule_manager import Rule

from qnetemu.engines.chain import ChainBeyondEngine

__all__ = ["SwapAsapRules", "install_swap_asap", "make_swap_messages_instant"]

_ENTANGLED = (MemoryInfo.ENTANGLED, MemoryInfo.PURIFIED)


def install_swap_asap(routers) -> SwapAsapRules:
    """Give every router's reservation-rule registry the swap-ASAP builders.

    Call after the topology is built and before any reservation is made.
    Returns the rule set (it numbers the protocols it creates).
    """
    rules = SwapAsapRules()
    for router in routers:
        registry = router.resource_manager.get_reservation_rule_registry()
        registry.replace(ES_A, rules.build_es_a)
        registry.replace(ES_B, rules.build_es_b)
        registry.replace(ES_B_END, rules.build_es_b_end)
    return rules


def make_swap_messages_instant(routers) -> None:
    """Deliver the swapping protocols' classical messages in the instant they are sent.

    ``swap_messaging: instant``: a swap needs no pairing round trip and its
    outcome is known at once. The messages of the swap (the resource
    manager's REQUEST/RESPONSE pairing a swapping protocol, the swap outcome
    ``SWAP_RES`` and the release of a partner's protocol) leave each router
    with a sender delay of minus the channel's delay, so SeQUeNCe's own
    channel schedules them at the current time, after the event that sent
    them. Entanglement-generation messages (heralds, negotiation, their
    pairing) keep the fibre's delay. Set on each router object of one
    topology, so nothing outlives the chain.
    """
    guard = _InstantGuard(MAX_SWAP_MESSAGES_PER_INSTANT)
    for router in routers:
        router.send_message = _instant_for_swaps(router, router.send_message, guard)


#: Swap messages one simulated instant may carry before the run is stopped as a
#: livelock. A legitimate instant carries a few per memory (pairing, outcome,
#: release); issue 9's livelock sent about 2 per event without end.
MAX_SWAP_MESSAGES_PER_INSTANT = 50_000


class _InstantGuard:
    """Counts instant swap messages per simulated instant; raises past ``limit``.

    Only instant messages can keep SeQUeNCe's timeline at one instant (every
    other message and photon takes the fibre's delay), so counting them is
    enough to turn a silent livelock into a clear error, at one comparison
    per swap message.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.now_ps = -1
        self.count = 0

    def tick(self, now_ps: int) -> None:
        if now_ps != self.now_ps:
            self.now_ps, self.count = now_ps, 0
        self.count += 1
        if self.count > self.limit:
            raise ChainBeyondEngine(
                "sequence", "repeater.protocol.swap_messaging", "instant",
                f"more than {self.limit} swap messages at simulated time {now_ps * 1e-12:.9f} s "
                "without time advancing: the swap rules livelock (an engine bug, see "
                "qnetemu/engines/sequence_rules.py)")


def _is_swap_message(msg) -> bool:
    if isinstance(msg, EntanglementSwappingMessage):
        return True
    if msg.receiver != "resource_manager":
        return False
    kind = msg.msg_type.name
    if kind == "REQUEST":
        func = msg.req_condition_func
        return func is es_match_func or isinstance(getattr(func, "__self__", None), SwapAsapRules)
    if kind == "RESPONSE":
        return str(msg.ini_protocol_name).startswith("ESA.")
    if kind == "RELEASE_PROTOCOL":
        return str(msg.protocol).startswith(("ESA.", "ESB."))
    return False


def _instant_for_swaps(router, send, guard: _InstantGuard):
    def send_message(dst, msg, priority=float("inf"), sender_delay: int = 0):
        if _is_swap_message(msg):
            guard.tick(router.timeline.now())
            sender_delay = sender_delay - router.cchannels[dst].delay
        return send(dst, msg, priority, sender_delay)

    return send_message


class SwapAsapRules:
    """Builders, conditions, actions and the request matching of swap-ASAP (module docstring)."""

    def __init__(self) -> None:
        self._names = itertools.count()
        self._fire_ps: dict[str, int] = {}  # when each swap protocol starts, if both partners agree
        self.yields = 0
        """Swaps abandoned to a neighbour's earlier swap on the pair between them."""

    # ----------------------------------------------------------- builders
    def build_es_a(self, context: ReservationRuleContext) -> Rule:
        """Inner router: swap a left-partner memory with a right-partner memory."""
        position = {name: i for i, name in enumerate(context.path)}
        owner = context.owner
        condition_args = {
            "memory_indices": context.memory_indices,
            "position": position,
            "own": context.index,
            "fidelity": context.reservation.fidelity,
            "resource_manager": owner.resource_manager,
        }
        action_args = {
            "swapping_success_prob": owner.swapping_success_prob,
            "swapping_degradation": owner.swapping_degradation,
            "resource_manager": owner.resource_manager,
        }
        # checked before es_b (lower value first): a memory that can be swapped is not parked
        return Rule(context.priority + ES_PRIORITY_OFFSET - 1, self.action_a, self.condition_a,
                    action_args, condition_args)

    def build_es_b(self, context: ReservationRuleContext) -> Rule:
        """Inner router: park any other entangled memory for a partner's swap."""
        condition_args = {"memory_indices": context.memory_indices,
                          "fidelity": context.reservation.fidelity, "target_remote": None}
        return Rule(context.priority + ES_PRIORITY_OFFSET, self.action_b, self.condition_b,
                    {}, condition_args)

    def build_es_b_end(self, context: ReservationRuleContext) -> Rule:
        """End router: park a memory not yet entangled with the other end."""
        target = context.path[-1] if context.index == 0 else context.path[0]
        condition_args = {"memory_indices": context.memory_indices,
                          "fidelity": context.reservation.fidelity, "target_remote": target}
        return Rule(context.priority + ES_PRIORITY_OFFSET, self.action_b, self.condition_b,
                    {}, condition_args)

    # --------------------------------------------------------- conditions
    @staticmethod
    def condition_b(info: MemoryInfo, _manager, args) -> list[MemoryInfo]:
        if (info.state in _ENTANGLED and info.index in args["memory_indices"]
                and info.remote_node != args["target_remote"]
                and info.fidelity >= args["fidelity"]):
            return [info]
        return []

    @staticmethod
    def condition_a(info: MemoryInfo, manager, args) -> list[MemoryInfo]:
        indices, position, own = args["memory_indices"], args["position"], args["own"]
        fidelity = args["fidelity"]
        if not (info.state in _ENTANGLED and info.index in indices and info.fidelity >= fidelity):
            return []
        side = position.get(info.remote_node, own) - own
        if side == 0:
            return []
        rm = args["resource_manager"]
        for other in manager:
            if other is info or other.index not in indices or other.fidelity < fidelity:
                continue
            if other.remote_node is None or (position.get(other.remote_node, own) - own) * side >= 0:
                continue
            if other.state in _ENTANGLED or _unpaired_b(rm, other.memory) is not None:
                return [info, other] if side < 0 else [other, info]
        return []

    # ------------------------------------------------------------ actions
    def action_b(self, infos: list[MemoryInfo], _args):
        memory = infos[0].memory
        protocol = EntanglementSwappingB.create(None, f"ESB.{memory.name}.{next(self._names)}", memory)
        return protocol, [None], [None], [None]

    def action_a(self, infos: list[MemoryInfo], args):
        rm = args["resource_manager"]
        for info in infos:
            waiting = _unpaired_b(rm, info.memory)
            if waiting is not None:  # take the memory back from its waiting B protocol
                _drop(rm, waiting)
                info.state = MemoryInfo.ENTANGLED  # so that Rule.do may occupy it again
        kwargs = {}
        if args["swapping_degradation"] is not None:
            kwargs["degradation"] = args["swapping_degradation"]
        left, right = infos[0].memory, infos[1].memory
        protocol = EntanglementSwappingA.create(
            None, f"ESA.{left.name}.{right.name}.{next(self._names)}", left, right,
            args["swapping_success_prob"], **kwargs)
        owner, tl = rm.owner.name, rm.owner.timeline
        dsts = [infos[0].remote_node, infos[1].remote_node]
        # the swap starts once both partners have answered: one round trip to the farther
        fire_ps = tl.now() + 2 * max(rm.owner.cchannels[dst].delay for dst in dsts)
        self._fire_ps[protocol.name] = fire_ps
        req_args = [{"target_memo": info.remote_memo, "requester": owner, "timeline": tl,
                     "fire_ps": fire_ps} for info in infos]
        return protocol, dsts, [self.match, self.match], req_args

    # ----------------------------------------------------------- matching
    def match(self, waiting_protocols, args):
        """At the requested router: the B protocol to pair with the requester's swap, or None."""
        requester = args["requester"]
        # the requested router, found from its own memory
        memory = args["timeline"].get_entity_by_name(args["target_memo"])
        if memory is None:
            return None
        node = memory.owner
        rm = node.resource_manager
        info = rm.memory_manager.get_info_by_memory(memory)
        if info.remote_node != requester or info.remote_memo is None:
            return None
        holder = _holder(rm, memory)
        if isinstance(holder, EntanglementSwappingB):
            if holder in rm.waiting_protocols:
                return holder
            # paired with a swap the requester has abandoned: pair afresh
            rule = holder.rule
            _drop(rm, holder)
            return self._fresh_b(rm, memory, rule)
        if isinstance(holder, EntanglementSwappingA) and holder in rm.pending_protocols:
            position = holder.rule.condition_args["position"]
            mine = (self._fire_ps[holder.name], position[node.name])
            if mine < (args["fire_ps"], position[requester]):
                return None  # this swap goes first; the requester abandons its own
            self.yields += 1
            other = holder.right_memo if memory is holder.left_memo else holder.left_memo
            rule_b = self._rule_b_of(rm, holder.rule.reservation)
            for side_node, side_protocol in ((holder.left_node, holder.left_protocol_name),
                                            (holder.right_node, holder.right_protocol_name)):
                if side_protocol is not None:
                    rm.release_remote_protocol(side_node, side_protocol)
            _drop(rm, holder)
            fresh = self._fresh_b(rm, memory, rule_b)
            # The other memory goes back to the rules once this pairing is done (same
            # instant), in turn with the messages already sent: SeQUeNCe gives a message
            # the schedule counter as priority, and an event left at the default (inf)
            # would wait behind every message of this instant. Under instant messages a
            # neighbour whose request for this memory is rejected meanwhile asks again at
            # once, for ever (issue 9: 4 x 20 km hung at one instant).
            tl = node.timeline
            tl.schedule(Event(tl.now(), Process(rm, "update", [None, other, MemoryInfo.ENTANGLED]),
                              tl.schedule_counter))
            return fresh
        return None

    def _rule_b_of(self, rm, reservation) -> Rule:
        """The parking rule (es_b) of ``reservation`` at ``rm``'s router."""
        for rule in rm.rule_manager:
            if rule.action == self.action_b and rule.reservation == reservation:
                return rule
        raise RuntimeError(f"{rm.owner.name}: no es_b rule for reservation {reservation}")

    def _fresh_b(self, rm, memory, rule: Rule):
        protocol = EntanglementSwappingB.create(None, f"ESB.{memory.name}.{next(self._names)}", memory)
        protocol.owner = rm.owner
        protocol.rule = rule
        rule.protocols.append(protocol)
        memory.detach(memory.memory_array)
        memory.attach(protocol)
        rm.waiting_protocols.append(protocol)
        return protocol


def _holder(rm, memory):
    """The protocol of ``rm``'s router that holds ``memory``, or None."""
    for protocols in (rm.waiting_protocols, rm.pending_protocols, rm.owner.protocols):
        for protocol in protocols:
            if memory in protocol.memories:
                return protocol
    return None


def _unpaired_b(rm, memory):
    """The waiting, not yet paired B protocol holding ``memory``, or None."""
    for protocol in rm.waiting_protocols:
        if isinstance(protocol, EntanglementSwappingB) and protocol.memory is memory:
            return protocol
    return None


def _drop(rm, protocol) -> None:
    """Remove a protocol from every list of its router; its memories go back to the array."""
    for protocols in (rm.waiting_protocols, rm.pending_protocols, rm.owner.protocols):
        if protocol in protocols:
            protocols.remove(protocol)
    if protocol.rule is not None and protocol in protocol.rule.protocols:
        protocol.rule.protocols.remove(protocol)
    for memory in protocol.memories:
        memory.detach(protocol)
        memory.attach(memory.memory_array)


