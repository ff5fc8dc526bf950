"""Correction requests: the list with its filters, one request with its timeline, and the actions an officer
takes by hand (route, acknowledge, reject, close, force a value)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.users import audit
from console.web import ACT, DECIDE, VIEW, ConsoleConfig, config, form, french, message, page
from corrections import service
from corrections.errors import ConcurrentUpdateError
from corrections.notices import sent
from corrections.states import LABELS, TRANSITIONS, Action, State
from corrections.store import now_iso
from gateway.errors import ErrorCode, GatewayError
from gateway.layout import RunLayout
from gateway.pseudonym import mask_nir

HAND_ACTIONS = {"route": Action.ROUTE, "ack": Action.ACKNOWLEDGE, "reject": Action.REJECT, "close": Action.CLOSE,
                "force": Action.FORCE}

router = APIRouter()


@router.get("/requests", response_class=HTMLResponse)
async def requests_list(request: Request, state: str = "", declarant: str = "", overdue: str = "",
                        _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    rows = settings.store.list(state=state or None, declarant=declarant or None,
                               overdue_at=now_iso() if overdue else None)
    return page(request, "requests.html.j2", rows=rows, states=list(State), labels=LABELS,
                filters={"state": state, "declarant": declarant, "overdue": overdue})


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_detail(request: Request, request_id: str, _: str = Depends(VIEW),
                         settings: ConsoleConfig = Depends(config)):
    try:
        item = settings.store.get(request_id)
    except GatewayError:
        raise StarletteHTTPException(404) from None
    allowed = [name for name, action in HAND_ACTIONS.items() if (State(item.state), action) in TRANSITIONS]
    return page(request, "request.html.j2", r=item, labels=LABELS, allowed=allowed, nir=mask_nir(item.nir),
                timeline=service.status(settings.store, request_id),
                letters=sent(RunLayout.of(settings.out).outbox, item.request_id))


def _actor(request: Request, action: str) -> str:
    """Forcing a value needs the right to decide; the other actions the right to act."""
    return (DECIDE if action == "force" else ACT)(request)


@router.post("/requests/{request_id}/{action}")
async def request_action(request: Request, request_id: str, action: str, settings: ConsoleConfig = Depends(config)):
    if action not in HAND_ACTIONS:
        raise StarletteHTTPException(404)
    name = _actor(request, action)
    values = await form(request)
    reason = str(values.get("reason", "")).strip()
    store = settings.store
    try:
        found = store.get(request_id)
    except GatewayError:
        raise StarletteHTTPException(404) from None
    if str(found.revision) != str(values.get("revision", "")):
        return message(request, "Demande modifiée entre-temps",
                       "Quelqu'un a modifié cette demande depuis l'affichage du formulaire : rechargez-la.", status=409)
    try:
        _apply(settings, request_id, action, name, reason, values)
    except (GatewayError, ConcurrentUpdateError) as error:
        audit(store, name, f"request:{action}", request_id, "refused", reason)
        return message(request, "Action impossible", french(error), status=409)
    audit(store, name, f"request:{action}", request_id, "ok", reason)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _apply(settings: ConsoleConfig, request_id: str, action: str, name: str, reason: str, values: dict) -> None:
    store = settings.store
    at = now_iso()
    if action == "route":
        service.route(store, request_id, officer=name, at=at, outbox=RunLayout.of(settings.out).outbox)
    elif action == "force":
        from corrections.cli import _amounts
        from gateway.versioning.forced import append_forced

        def record(request, month, cents):
            return append_forced(settings.register, person_key=request.person_key, declarant_id=request.declarant_id,
                                 nature=request.nature, month=month, cents=cents, amount="net_social_cents",
                                 officer=name, request_id=request.request_id, at=at).version_id
        service.force(store, request_id, officer=name, at=at, values=_amounts([str(values.get("value", ""))], "valeur"),
                      justification=reason, evidence=str(values.get("evidence", "")), record=record)
    elif action == "reject":
        if not reason:
            raise GatewayError("justification: the source's answer is required", code=ErrorCode.JUSTIFICATION_REQUIRED)
        store.transition(request_id, Action.REJECT, actor=name, at=at, note=reason, source_answer=reason)
    else:
        store.transition(request_id, HAND_ACTIONS[action], actor=name, at=at, note=reason)
