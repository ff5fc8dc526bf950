"""One person's resources, flags, bases, decisions and requests. The NIR is searched by POST and the
person kept in the session: no personal data in a URL."""
from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from stdnum.fr import nir as stdnum_nir

from console import data
from console.users import audit
from console.web import ACT, VIEW, ConsoleConfig, config, form, french, message, page
from corrections import service
from corrections.errors import InvalidRequestError
from gateway.errors import GatewayError
from corrections.states import LABELS, State
from gateway.pseudonym import Pseudonymiser, mask_nir

NIR13 = re.compile(r"^[12][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])(0[1-9]|[1-9][0-9]|2[AB])[0-9]{6}$")

router = APIRouter()


def checked_nir(values: dict) -> tuple[str, str | None]:
    """The NIR typed in a form (spaces dropped), or the French sentence saying why it cannot be one."""
    nir = re.sub(r"\s", "", str(values.get("nir", ""))).upper()
    if len(nir) == 15 and not stdnum_nir.is_valid(nir):
        return nir, "La clé de ce numéro est incorrecte."
    if not NIR13.match(nir[:13]) or len(nir) not in (13, 15):
        return nir, "Numéro de sécurité sociale invalide (13 caractères, ou 15 avec la clé)."
    return nir, None


@router.post("/person/open")
async def person_open(request: Request, name: str = Depends(VIEW), values: dict = Depends(form),
                      settings: ConsoleConfig = Depends(config)):
    """A claimant's page from a list (the pseudonym is posted, never put in a URL)."""
    key = str(values.get("person_key", ""))
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        return RedirectResponse("/person", status_code=303)
    request.session["person"], request.session["person_nir"] = key, None
    audit(settings.store, name, "person:open", key[:16], "ok")
    return RedirectResponse("/person/view", status_code=303)


@router.get("/person", response_class=HTMLResponse)
async def person_search(request: Request, _: str = Depends(VIEW)):
    return page(request, "person_search.html.j2")


@router.post("/person")
async def person_find(request: Request, name: str = Depends(VIEW), values: dict = Depends(form),
                      settings: ConsoleConfig = Depends(config)):
    nir, error = checked_nir(values)
    if error:
        return page(request, "person_search.html.j2", status=400, error=error)
    request.session["person"] = Pseudonymiser(settings.pseudonym_key).person_key(nir[:13], None, None)
    request.session["person_nir"] = mask_nir(nir)
    audit(settings.store, name, "person:lookup", request.session["person"][:16], "ok")
    return RedirectResponse("/person/view", status_code=303)


@router.get("/person/view", response_class=HTMLResponse)
async def person_view(request: Request, _: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    key = request.session.get("person")
    if not key:
        return RedirectResponse("/person", status_code=303)
    found = data.person(settings.out, settings.register, key)
    return page(request, "person.html.j2", p=found, nir=request.session.get("person_nir"), p_key=key,
                chart=data.timeline_chart(found["versions"]), requests=settings.store.list(person_key=key),
                disputable=data.disputable(found["versions"]), flag_rules=sorted({f["rule_id"] for f in found["flags"]}))


@router.post("/person/request")
async def person_request(request: Request, name: str = Depends(ACT), values: dict = Depends(form),
                         settings: ConsoleConfig = Depends(config)):
    """Open a correction request on one of the person's resource months, as the CLI's ``corrections open``
    does: the month is one the page offered (checked again here), the amount the claimant states."""
    from corrections.cli import _amounts
    from corrections.store import now_iso
    key = request.session.get("person")
    if not key:
        return RedirectResponse("/person", status_code=303)
    found = data.person(settings.out, settings.register, key)
    chosen = data.disputable(found["versions"]).get(str(values.get("line", "")))
    flag_rule = str(values.get("flag_rule", "")) or None
    reason = str(values.get("reason", "")).strip()
    try:
        if chosen is None:
            raise InvalidRequestError("line: expected one of the months offered on the page")
        if flag_rule is not None and flag_rule not in {f["rule_id"] for f in found["flags"]}:
            raise InvalidRequestError("flag rule: expected one of the person's flags")
        declarant, nature, month = chosen
        claimed = _amounts([f"{month}={str(values.get('claimed', '')).strip().replace(' ', '')}"], "montant")
        request_id = service.open_from_register(
            settings.store, settings.register, person_key=key, nir=None, declarant=declarant, nature=nature,
            claimed=claimed, reason=reason, documents=str(values.get("documents", "")).strip()[:500], officer=name,
            at=now_iso(), flag_rule=flag_rule, confirmed=values.get("confirm") == "1")
    except GatewayError as error:
        audit(settings.store, name, "request:open", key[:16], "refused", reason)
        return message(request, "Demande non ouverte", _opening_error(error), status=409)
    audit(settings.store, name, "request:open", request_id, "ok", reason)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _opening_error(error: GatewayError) -> str:
    """Why a request could not be opened, in French (the form's own fields by their French names)."""
    text = str(error)
    if text.startswith("amount @"):
        return "Montant invalide : indiquez des euros, par exemple 2080,00."
    if text.startswith("reason @"):
        return "Indiquez pourquoi l'allocataire conteste ce montant."
    if text.startswith(("line:", "flag rule:", "unknown resource month")):
        return "Ce mois de ressources n'est pas connu pour cette personne : rechargez la page et choisissez-en un."
    return french(error)


@router.get("/person/export")
async def person_export(request: Request, name: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    key = request.session.get("person")
    if not key:
        return RedirectResponse("/person", status_code=303)
    store = settings.store
    requests = [{"demande": r.request_id, "état": LABELS[State(r.state)], "déroulé": service.status(store, r.request_id)}
                for r in store.list(person_key=key)]
    body = data.export(settings.out, settings.register, key, requests, request.session.get("person_nir", ""))
    audit(store, name, "person:export", key[:16], "ok")
    return Response(json.dumps(body, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": "attachment; filename=export-personne.json"})


def _access_page(request: Request, settings: ConsoleConfig, key: str) -> HTMLResponse:
    """The claimant's data as a French document (the right of access), for the page and its PDF."""
    requests = [{"demande": r.request_id, "etat": LABELS[State(r.state)], "deroule": service.status(settings.store, r.request_id)}
                for r in settings.store.list(person_key=key)]
    return page(request, "access.html.j2", doc=data.access_document(settings.out, settings.register, key),
                requests=requests, nir=request.session.get("person_nir"), p_key=key)


@router.get("/person/export.html", response_class=HTMLResponse)
async def person_export_document(request: Request, name: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    """The same export as a French document the claimant can read."""
    key = request.session.get("person")
    if not key:
        return RedirectResponse("/person", status_code=303)
    audit(settings.store, name, "person:export-html", key[:16], "ok")
    return _access_page(request, settings, key)


@router.get("/person/export.pdf")
async def person_export_pdf(request: Request, name: str = Depends(VIEW), settings: ConsoleConfig = Depends(config)):
    """The same French document as PDF, to hand or send to the claimant."""
    from starlette.concurrency import run_in_threadpool

    from gateway.publish.report import as_pdf
    key = request.session.get("person")
    if not key:
        return RedirectResponse("/person", status_code=303)
    html = _access_page(request, settings, key).body.decode("utf-8")
    audit(settings.store, name, "person:export-pdf", key[:16], "ok")
    return Response(await run_in_threadpool(as_pdf, html), media_type="application/pdf",
                    headers={"Content-Disposition": "attachment; filename=vos-donnees.pdf"})
