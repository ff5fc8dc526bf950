"""The life cycle of a correction request, as data: (state, action) -> next state.

    OPEN --route--> ROUTED --acknowledge--> ACKNOWLEDGED --correct (the flow)--> CORRECTED --close--> CLOSED
    ROUTED / ACKNOWLEDGED --reject (the source confirms its data)--> REJECTED --close--> CLOSED
    ROUTED / ACKNOWLEDGED --escalate (deadline passed)--> ESCALATED --force (officer)--> FORCED
    ESCALATED / FORCED --correct (the source corrects after all)--> CORRECTED
    FORCED --close--> CLOSED
"""
from __future__ import annotations

import enum

from corrections.errors import IllegalTransitionError


class State(str, enum.Enum):
    OPEN = "OPEN"
    ROUTED = "ROUTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CORRECTED = "CORRECTED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"
    ESCALATED = "ESCALATED"
    FORCED = "FORCED"


class Action(str, enum.Enum):
    ROUTE = "route"
    ACKNOWLEDGE = "acknowledge"
    CORRECT = "correct"             # only the flow: a new version of a disputed month from the disputed declarant
    REJECT = "reject"
    ESCALATE = "escalate"           # only the clock: the state's deadline passed
    FORCE = "force"
    CLOSE = "close"


SYSTEM_ACTIONS = frozenset({Action.CORRECT, Action.ESCALATE})     # never by hand

TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.OPEN, Action.ROUTE): State.ROUTED,
    (State.ROUTED, Action.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.ESCALATED, Action.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.ROUTED, Action.CORRECT): State.CORRECTED,
    (State.ACKNOWLEDGED, Action.CORRECT): State.CORRECTED,
    (State.ESCALATED, Action.CORRECT): State.CORRECTED,
    (State.FORCED, Action.CORRECT): State.CORRECTED,
    (State.ROUTED, Action.REJECT): State.REJECTED,
    (State.ACKNOWLEDGED, Action.REJECT): State.REJECTED,
    (State.ESCALATED, Action.REJECT): State.REJECTED,
    (State.ROUTED, Action.ESCALATE): State.ESCALATED,
    (State.ACKNOWLEDGED, Action.ESCALATE): State.ESCALATED,
    (State.ESCALATED, Action.FORCE): State.FORCED,
    (State.CORRECTED, Action.CLOSE): State.CLOSED,
    (State.REJECTED, Action.CLOSE): State.CLOSED,
    (State.FORCED, Action.CLOSE): State.CLOSED,
}

OPEN_STATES = frozenset({State.OPEN, State.ROUTED, State.ACKNOWLEDGED, State.ESCALATED, State.FORCED})
AWAITING_SOURCE = frozenset({State.ROUTED, State.ACKNOWLEDGED, State.ESCALATED, State.FORCED})
HOLDING = frozenset({State.OPEN, State.ROUTED, State.ACKNOWLEDGED, State.ESCALATED})   # the gate waits on these

LABELS = {
    State.OPEN: "ouverte", State.ROUTED: "transmise à la source", State.ACKNOWLEDGED: "prise en compte par la source",
    State.CORRECTED: "corrigée par une nouvelle déclaration", State.CLOSED: "close",
    State.REJECTED: "refusée par la source", State.ESCALATED: "en retard, confiée à un agent",
    State.FORCED: "valeur fixée par un agent",
}


def next_state(state: State, action: Action) -> State:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is state)
        raise IllegalTransitionError(
            f"{action.value} not allowed @ state {state.value}: expected one of {', '.join(allowed) or 'nothing (final)'}"
        ) from None
