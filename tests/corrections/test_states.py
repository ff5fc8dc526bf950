"""The request life cycle: every (state, action) pair, legal or not, through the store."""
import pytest

from corrections.errors import IllegalTransitionError, NotAnOfficerError, UnknownRequestError
from corrections.states import SYSTEM_ACTIONS, TRANSITIONS, Action, State
from corrections.store import SYSTEM
from tests.corrections.conftest import an_open_request

PATHS = {State.OPEN: [], State.ROUTED: [Action.ROUTE], State.ACKNOWLEDGED: [Action.ROUTE, Action.ACKNOWLEDGE],
         State.CORRECTED: [Action.ROUTE, Action.CORRECT], State.CLOSED: [Action.ROUTE, Action.CORRECT, Action.CLOSE],
         State.REJECTED: [Action.ROUTE, Action.REJECT], State.ESCALATED: [Action.ROUTE, Action.ESCALATE],
         State.FORCED: [Action.ROUTE, Action.ESCALATE, Action.FORCE]}


def _actor(action: Action) -> str:
    return SYSTEM if action in SYSTEM_ACTIONS else "agent-1"


def _in_state(store, state: State) -> str:
    request_id = an_open_request(store)
    for step, action in enumerate(PATHS[state]):
        store.transition(request_id, action, actor=_actor(action), at=f"2025-05-{4 + step:02d}T09:00:00Z")
    assert store.get(request_id).state == state.value
    return request_id


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_action_pair_moves_as_the_table_says_or_is_refused_changing_nothing(store, state, action):
    request_id = _in_state(store, state)
    before = store.get(request_id)
    expected = TRANSITIONS.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransitionError, match=f"{action.value} not allowed @ state {state.value}"):
            store.transition(request_id, action, actor=_actor(action), at="2025-06-01T09:00:00Z")
        after = store.get(request_id)
        assert (after.state, after.revision, len(after.events)) == (before.state, before.revision, len(before.events))
    else:
        store.transition(request_id, action, actor=_actor(action), at="2025-06-01T09:00:00Z", note="test")
        after = store.get(request_id)
        assert after.state == expected.value and after.events[-1].action == action.value
        assert (after.events[-1].from_state, after.events[-1].to_state) == (state.value, expected.value)


def test_the_flow_and_the_clock_actions_cannot_be_done_by_hand(store):
    request_id = _in_state(store, State.ROUTED)
    for action in SYSTEM_ACTIONS:
        with pytest.raises(IllegalTransitionError, match="by hand"):
            store.transition(request_id, action, actor="agent-1", at="2025-06-01T09:00:00Z")
    assert store.get(request_id).state == State.ROUTED.value


def test_someone_without_the_officer_role_changes_nothing(store):
    request_id = an_open_request(store)
    with pytest.raises(NotAnOfficerError, match="not an officer @ intruder"):
        store.transition(request_id, Action.ROUTE, actor="intruder", at="2025-06-01T09:00:00Z")
    with pytest.raises(NotAnOfficerError):
        store.open(
            person_key="q" * 32, nir=None, declarant_id="12345678900011", flow="DSN", nature="SALARY",
            months={"2025-03": (1, 2)}, reason="x", documents="", officer="intruder", at="2025-06-01T09:00:00Z")
    assert store.get(request_id).state == State.OPEN.value and len(store.list()) == 1


def test_an_unknown_request_is_a_clear_error(store):
    with pytest.raises(UnknownRequestError, match="no request @ REQ-0000"):
        store.transition("REQ-0000", Action.ROUTE, actor="agent-1", at="2025-06-01T09:00:00Z")
