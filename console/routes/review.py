"""The dashboard, the quarantine by declarant and the queue of gate decisions waiting for an officer."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import data
from console.routes.person import checked_nir
from console.users import PERMISSIONS, assign, assignments, audit, supervisors
from console.web import DECIDE, VIEW, ConsoleConfig, config, form, french, message, page
from corrections import service
from corrections.store import now_iso
from gateway.errors import GatewayError
from gateway.pseudonym import Pseudonymiser, mask_nir

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


@router.get("/runs", response_class=HTMLResponse)
async def runs(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    """Every run of the output folder, batch or watch mode, with its trends."""
    from gateway.publish.charts import bar_chart
    index = data.runs_index(settings.out)
    shown = index[-24:]
    labels = [f"n° {run['sequence']}" for run in shown]
    charts = [bar_chart(labels, [100 * (run["quarantine_rate"] or 0) for run in shown], horizontal=False,
                        title="Lignes en quarantaine (%) par traitement", color="#a40000"),
              bar_chart(labels, [100 * (run["floating_rate"] or 0) for run in shown], horizontal=False,
                        title="Ressources flottantes (%) par traitement")] if shown else []
    return page(request, "runs.html.j2", runs=list(reversed(index)), charts=charts)


@router.get("/quarantine", response_class=HTMLResponse)
async def quarantine(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    return page(request, "quarantine.html.j2", rows=data.quarantine_by_declarant(settings.out))


@router.get("/review", response_class=HTMLResponse)
async def review(request: Request, name: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    """The REVIEW_CAP decisions waiting for an officer: filtered, sorted and paged on the server. The decision
    and assignment controls are on the page only for the roles that may use them."""
    query = data.ReviewQuery.parse(request.query_params)
    claimant = request.session.get("review_person") if query.claimant else None
    found = data.review_page(settings.register, query, assigned=assignments(settings.store), username=name,
                             today=date.fromisoformat(now_iso()[:10]), claimant=claimant)
    return page(request, "review.html.j2", q=query, found=found, bands=data.BANDS, sorts=data.SORTS,
                benefits=data.BENEFIT_LABELS, assigned_choices=data.ASSIGNED, supervisors=supervisors(settings.store),
                can_decide=request.session.get("role") in PERMISSIONS["decide"],
                claimant_nir=request.session.get("review_person_nir") if query.claimant else None)


@router.post("/review/claimant")
async def review_claimant(request: Request, _: str = Depends(VIEW), values: dict = Depends(form),
                          settings: ConsoleConfig = Depends(config)):
    """Only one claimant's decisions: the NIR is posted and the claimant kept in the session, not in the URL."""
    nir, error = checked_nir(values)
    if error:
        return message(request, "Recherche impossible", error, status=400)
    request.session["review_person"] = Pseudonymiser(settings.pseudonym_key).person_key(nir[:13], None, None)
    request.session["review_person_nir"] = mask_nir(nir)
    return RedirectResponse("/review?claimant=1", status_code=303)


@router.post("/review/bulk")
async def decide_many(request: Request, name: str = Depends(DECIDE), values: dict = Depends(form),
                      settings: ConsoleConfig = Depends(config)):
    """One decision and one reason for every ticked item; one audit event per item."""
    ids = values["ids"]
    if not ids:
        return message(request, "Aucune décision cochée", "Cochez au moins une ligne de la liste.", status=400)
    known = data.decision_ids(settings.register)
    refused = [error for decision_id in ids
               if (error := _decided(settings, name, decision_id, values, known=decision_id in known)) is not None]
    done = len(ids) - len(refused)
    text = f"{done} décision(s) enregistrée(s) ; elles seront appliquées au prochain traitement."
    if refused:
        text += f" {len(refused)} refusée(s) : " + " ; ".join(sorted(set(refused)))
    return message(request, "Décisions enregistrées" if done else "Décisions refusées", text,
                   status=200 if done else 409)


@router.post("/review/assign")
async def assign_many(request: Request, name: str = Depends(DECIDE), values: dict = Depends(form),
                      settings: ConsoleConfig = Depends(config)):
    ids = values["ids"]
    assignee = str(values.get("assignee", name))
    if not ids:
        return message(request, "Aucune décision cochée", "Cochez au moins une ligne de la liste.", status=400)
    try:
        assign(settings.store, ids, assignee, by=name)
    except GatewayError as error:
        audit(settings.store, name, "assign", assignee[:40], "refused")
        return message(request, "Attribution impossible", french(error), status=409)
    for decision_id in ids:
        audit(settings.store, name, "assign", decision_id, "ok", assignee or "libérée")
    return RedirectResponse("/review?assignee=me" if assignee == name else "/review", status_code=303)


@router.post("/review/{decision_id}")
async def decide(request: Request, decision_id: str, name: str = Depends(DECIDE), values: dict = Depends(form),
                 settings: ConsoleConfig = Depends(config)):
    if data.decision(settings.register, decision_id) is None:
        raise StarletteHTTPException(404)
    refused = _decided(settings, name, decision_id, values)
    if refused is not None:
        return message(request, "Décision impossible", refused, status=409)
    return message(request, "Décision enregistrée",
                   "La décision est enregistrée ; elle sera appliquée au prochain traitement.")


def _decided(settings: ConsoleConfig, name: str, decision_id: str, values: dict, *, known: bool = True) -> str | None:
    """Record one officer's answer from a posted form and audit it; the French reason when it is refused."""
    from gateway.gate.officer import decide as record
    action, reason = str(values.get("action", "")), str(values.get("reason", ""))
    spread = int(values["spread"]) if str(values.get("spread", "")).isdigit() else None
    try:
        if not known:
            raise GatewayError(f"decision not found @ {decision_id[:24]}")
        record(settings.register, decision_id, action, reason=reason, officer=name, spread_months=spread)
    except GatewayError as error:
        audit(settings.store, name, f"decide:{action}"[:40], decision_id, "refused", reason)
        return french(error)
    audit(settings.store, name, f"decide:{action}"[:40], decision_id, "ok", reason)
    return None
