"""The dashboard, the quarantine by declarant and the queue of gate decisions waiting for an officer."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import data
from console.users import audit
from console.web import DECIDE, VIEW, ConsoleConfig, config, form, french, message, page
from corrections import service
from corrections.store import now_iso
from gateway.errors import GatewayError

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    from gateway.publish.charts import bar_chart
    summary = data.run_summary(settings.out)
    gate = summary["manifest"].get("gate", {}).get("decisions", {})
    report = service.sla(settings.store, at=now_iso())
    charts = [bar_chart(list(gate), list(gate.values()), title="Décisions par type", color="#ce5c00"),
              bar_chart(list(report["by_state"]), list(report["by_state"].values()), title="Demandes par état")]
    return page(request, "dashboard.html.j2", s=summary, gate=gate, sla=report, charts=charts,
                queue=len(data.review_queue(settings.register)))


@router.get("/quarantine", response_class=HTMLResponse)
async def quarantine(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    return page(request, "quarantine.html.j2", rows=data.quarantine_by_declarant(settings.out))


@router.get("/review", response_class=HTMLResponse)
async def review(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    return page(request, "review.html.j2", queue=data.review_queue(settings.register))


@router.post("/review/{decision_id}")
async def decide(request: Request, decision_id: str, name: str = Depends(DECIDE), values: dict = Depends(form),
                 settings: ConsoleConfig = Depends(config)):
    if data.decision(settings.register, decision_id) is None:
        raise StarletteHTTPException(404)
    from gateway.gate.officer import decide as record
    action = str(values.get("action", ""))
    reason = str(values.get("reason", ""))
    spread = int(values["spread"]) if str(values.get("spread", "")).isdigit() else None
    try:
        record(settings.register, decision_id, action, reason=reason, officer=name, spread_months=spread)
    except GatewayError as error:
        audit(settings.store, name, f"decide:{action}", decision_id, "refused", reason)
        return message(request, "Décision impossible", french(error), status=409)
    audit(settings.store, name, f"decide:{action}", decision_id, "ok", reason)
    return message(request, "Décision enregistrée",
                   "La décision est enregistrée ; elle sera appliquée au prochain traitement.")
