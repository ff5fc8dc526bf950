"""The corrections store: transactions, concurrent updates, outages, values that cannot be backed."""
import multiprocessing

import pytest

from corrections.errors import ConcurrentUpdateError, CorrectionError, IllegalTransitionError, InvalidRequestError
from corrections.model import Request
from corrections.service import force, route, sla, tick
from corrections.states import Action, State
from corrections.store import CorrectionStore
from tests.corrections.conftest import an_open_request


def _route_from_another_process(url: str, request_id: str, officer: str, queue) -> None:
    try:
        CorrectionStore(url).transition(request_id, Action.ROUTE, actor=officer, at="2025-05-04T09:00:00Z")
        queue.put("ok")
    except CorrectionError as error:
        queue.put(type(error).__name__)


def test_two_processes_routing_the_same_request_one_wins_the_other_is_refused(store, store_url):
    request_id = an_open_request(store)
    store.add_officer("agent-2")
    queue = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=_route_from_another_process,
                                                            args=(store_url, request_id, officer, queue))
               for officer in ("agent-1", "agent-2")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    outcomes = sorted(queue.get(timeout=5) for _ in workers)
    assert outcomes[0] in ("ConcurrentUpdateError", "IllegalTransitionError") and outcomes[1] == "ok"
    request = store.get(request_id)
    assert request.state == State.ROUTED.value and [e.action for e in request.events] == ["open", "route"]


def test_a_stale_copy_cannot_overwrite_a_newer_one(store):
    """A request read, then changed by another writer, then saved: refused, the other writer's change kept."""
    request_id = an_open_request(store)
    with pytest.raises(ConcurrentUpdateError, match="changed by another process"):
        with store.transaction() as first:
            mine = first.get(Request, request_id)
            store.transition(request_id, Action.ROUTE, actor="agent-1", at="2025-05-04T09:00:00Z")
            mine.reason = "changed from a stale copy"
    request = store.get(request_id)
    assert request.reason != "changed from a stale copy" and request.state == State.ROUTED.value


def test_a_forced_value_needs_a_justification_and_evidence_and_changes_nothing_without(store, tmp_path):
    request_id = an_open_request(store)
    route(store, request_id, officer="agent-1", at="2025-05-03T10:00:00Z", outbox=tmp_path)
    assert tick(store, at="2025-06-01T00:00:00Z", outbox=tmp_path) == {"escalated": 1, "reminded": 0}
    recorded = []
    for justification, evidence in (("", "bulletin"), ("Employeur sans réponse depuis un mois.", "")):
        with pytest.raises(InvalidRequestError):
            force(store, request_id, officer="agent-1", at="2025-06-02T09:00:00Z", values={"2025-03": 208000},
                  justification=justification, evidence=evidence, record=lambda *a: recorded.append(a) or "v")
    assert recorded == [] and store.get(request_id).state == State.ESCALATED.value
    force(store, request_id, officer="agent-1", at="2025-06-02T09:00:00Z", values={"2025-03": 208000},
          justification="Employeur sans réponse depuis un mois.", evidence="bulletin de mars",
          record=lambda request, month, cents: recorded.append((month, cents)) or "v1")
    assert recorded == [("2025-03", 208000)] and store.get(request_id).months[0].forced_cents == 208000


def test_forcing_a_month_the_request_does_not_hold_is_refused_with_nothing_recorded(store, tmp_path):
    request_id = an_open_request(store)
    route(store, request_id, officer="agent-1", at="2025-05-03T10:00:00Z", outbox=tmp_path)
    tick(store, at="2025-06-01T00:00:00Z", outbox=tmp_path)
    with pytest.raises(InvalidRequestError, match="2025-04"):
        force(store, request_id, officer="agent-1", at="2025-06-02T09:00:00Z", values={"2025-04": 1},
              justification="Employeur sans réponse depuis un mois.", evidence="bulletin", record=lambda *a: "v")
    assert store.get(request_id).state == State.ESCALATED.value


def test_a_source_is_reminded_before_its_deadline_then_the_request_escalates(store, tmp_path):
    request_id = an_open_request(store)
    route(store, request_id, officer="agent-1", at="2025-05-03T10:00:00Z", outbox=tmp_path)
    assert tick(store, at="2025-05-15T00:00:00Z", outbox=tmp_path) == {"escalated": 0, "reminded": 1}
    assert tick(store, at="2025-05-16T00:00:00Z", outbox=tmp_path) == {"escalated": 0, "reminded": 0}
    assert sorted(p.suffix for p in tmp_path.glob("*reminder*")) == [".html", ".json", ".txt"]
    assert tick(store, at="2025-05-19T00:00:00Z", outbox=tmp_path) == {"escalated": 1, "reminded": 0}
    assert sla(store, at="2025-05-20T00:00:00Z")["overdue"] == []              # the officer has 15 days
    report = sla(store, at="2025-06-05T00:00:00Z")
    assert report["by_state"] == {"ESCALATED": 1} and report["overdue"] == [request_id]


def test_a_closed_request_cannot_be_reopened_by_any_action(store, tmp_path):
    request_id = an_open_request(store)
    store.transition(request_id, Action.ROUTE, actor="agent-1", at="2025-05-04T09:00:00Z")
    store.transition(request_id, Action.REJECT, actor="agent-1", at="2025-05-05T09:00:00Z", source_answer="exact")
    store.transition(request_id, Action.CLOSE, actor="agent-1", at="2025-05-06T09:00:00Z")
    for action in (Action.ROUTE, Action.ACKNOWLEDGE, Action.REJECT, Action.CLOSE, Action.FORCE):
        with pytest.raises(IllegalTransitionError, match="nothing \\(final\\)"):
            store.transition(request_id, action, actor="agent-1", at="2025-05-07T09:00:00Z")


def test_an_unreachable_database_is_a_one_line_error():
    with pytest.raises(CorrectionError, match="corrections store unavailable @ postgresql"):
        CorrectionStore("postgresql://nobody:secret@127.0.0.1:1/none")


def _corrected_to(store: CorrectionStore, cents: int, run_id: str, when: str) -> None:
    """The flow brings a new version of the disputed month with ``cents`` of net social, known at ``when``."""
    from corrections.service import apply_versions
    apply_versions(store, run_id, [{"person_key": "p" * 32, "declarant_id": "12345678900011", "month": "2025-03",
                                    "transaction_time": when, "version": 2, "cause": "NET_SOCIAL_CORRECTION",
                                    "net_social_cents": cents, "version_id": f"v-{run_id}"}], at=when)


def test_a_correction_not_as_the_claimant_stated_keeps_the_gate_holding_until_an_officer_closes(store, tmp_path):
    """Issue 25: the employer corrects March to 2,500.00 € where the claimant stated 2,080.00 €: the request is
    CORRECTED with outcome NOT_AS_CLAIMED and the gate still holds the month; once an officer closes the
    dispute it does not. A correction as stated releases the hold at once."""
    disputed = an_open_request(store)
    route(store, disputed, officer="agent-1", at="2025-05-03T10:00:00Z", outbox=tmp_path)
    _corrected_to(store, 250000, "r1", "2025-06-01T08:00:00Z")
    request = store.get(disputed)
    assert (request.state, request.outcome) == ("CORRECTED", "NOT_AS_CLAIMED")
    assert store.open_months() == [("p" * 32, "12345678900011", "2025-03")]
    store.transition(disputed, Action.CLOSE, actor="agent-1", at="2025-06-02T09:00:00Z", note="Écart expliqué.")
    assert store.open_months() == []
    settled = an_open_request(store, at="2025-06-03T09:00:00Z")
    route(store, settled, officer="agent-1", at="2025-06-03T10:00:00Z", outbox=tmp_path)
    _corrected_to(store, 208000, "r2", "2025-06-10T08:00:00Z")
    assert store.get(settled).outcome == "IN_FAVOUR" and store.open_months() == []


def test_a_request_stating_the_declared_amount_is_refused_unless_the_officer_confirms(store):
    """Nothing to correct where the claimant states what is declared: a clear refusal (nothing recorded), unless
    the officer confirms the dispute is about something else."""
    from gateway.errors import ErrorCode
    with pytest.raises(InvalidRequestError, match="stated amount equals the declared one @ 2025-03") as refused:
        an_open_request(store, months={"2025-03": (208000, 208000)})
    assert refused.value.code is ErrorCode.SAME_AS_DECLARED and store.list() == []
    request_id = store.open(person_key="p" * 32, nir=None, declarant_id="12345678900011", flow="DSN", nature="SALARY",
                            months={"2025-03": (208000, 208000)}, reason="Versement rattaché au mauvais mois.",
                            documents="bulletin", officer="agent-1", at="2025-05-03T09:00:00Z", confirmed=True)
    assert store.get(request_id).state == "OPEN"
