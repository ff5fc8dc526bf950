"""The console's routes. Every page needs a login; every action checks the role on the server, a CSRF
token, and is written to the audit trail. NIR searches go by POST and the person is kept in the session,
so no personal data travels in a URL."""
from __future__ import annotations

import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from stdnum.fr import nir as stdnum_nir

from console import data
from console.users import (add_user, audit, audit_trail, authenticate, current, end_sessions, set_active,
                           users)
from corrections import service
from corrections.errors import ConcurrentUpdateError
from corrections.states import LABELS, TRANSITIONS, Action, State
from corrections.store import CorrectionStore, now_iso
from gateway.errors import GatewayError
from gateway.pseudonym import Pseudonymiser
from gateway.values import euros

# Autoescape for every template whatever its name (the default selection misses "*.html.j2").
TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                            autoescape=True))
# Sent with every response: no script at all, nothing loaded from elsewhere, never framed. Inline styles only
# (the page's own and the charts' SVG attributes).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TEMPLATES.env.filters["euros"] = euros
NIR13 = re.compile(r"^[12][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])(0[1-9]|[1-9][0-9]|2[AB])[0-9]{6}$")
PERMISSIONS = {"view": {"officer", "supervisor", "admin"}, "act": {"officer", "supervisor"},
               "decide": {"supervisor"}, "users": {"admin"}}
LABELS_PERMISSION = {"view": "consulter", "act": "traiter les demandes", "decide": "décider ou forcer une valeur",
                     "users": "gérer les utilisateurs"}
HAND_ACTIONS = {"route": Action.ROUTE, "ack": Action.ACKNOWLEDGE, "reject": Action.REJECT, "close": Action.CLOSE,
                "force": Action.FORCE}


@dataclass(frozen=True)
class ConsoleConfig:
    out: Path
    store: CorrectionStore
    pseudonym_key: bytes
    secret: str

    @property
    def register(self) -> Path:
        return self.out / "history" / "register"


TOO_MANY_ATTEMPTS = "Trop de tentatives de connexion depuis cette adresse : réessayez dans une minute."
ACCOUNT_LOCKED = ("Trop de mots de passe erronés : ce compte est bloqué pendant 15 minutes. Un administrateur peut "
                  "le débloquer en le réactivant.")


class Attempts:
    """Login attempts per client address over a sliding minute (held by the console process, bounded)."""

    def __init__(self, limit: int = 10, window: float = 60.0, addresses: int = 10_000) -> None:
        self.limit, self.window, self.addresses = limit, window, addresses
        self._seen: dict[str, list[float]] = {}

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._seen.get(address, ()) if now - t < self.window]
        if len(self._seen) >= self.addresses and address not in self._seen:
            self._seen = {a: ts for a, ts in self._seen.items() if ts and now - ts[-1] < self.window}
        self._seen[address] = recent + [now]
        return len(recent) < self.limit


class Denied(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def mask(nir: str | None) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} ** *** ***" if nir else "—"


def create_app(config: ConsoleConfig) -> FastAPI:
    app = FastAPI(title="drm-gateway console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=config.secret, session_cookie="drm_console", same_site="strict",
                       https_only=False, max_age=8 * 3600)
    store = config.store
    attempts = Attempts()

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def page(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
        session = request.session
        session.setdefault("csrf", secrets.token_urlsafe(32))
        response = TEMPLATES.TemplateResponse(request, name, {"user": session.get("user"), "role": session.get("role"),
                                                              "csrf": session["csrf"], **values}, status_code=status)
        response.headers.update(SECURITY_HEADERS)      # error pages too (they bypass the middleware)
        return response

    def user(request: Request, permission: str = "view") -> str:
        """The session's user as the store says now (a logout or a deactivation ends every session at once;
        the role is the store's, not the cookie's)."""
        session = request.session
        found = current(store, session.get("user"), session.get("version"))
        if found is None:
            session.clear()
            raise Denied("Connexion requise.", 401)
        session["role"] = found.role
        if found.role not in PERMISSIONS[permission]:
            raise Denied(f"Accès refusé : votre rôle ne permet pas cette action ({LABELS_PERMISSION[permission]}).")
        return found.username

    async def form(request: Request) -> dict:
        values = dict(await request.form())
        expected = request.session.get("csrf", "")
        if not expected or not hmac.compare_digest(str(values.get("csrf", "")), expected):
            raise Denied("Formulaire expiré ou invalide (jeton de sécurité) : rechargez la page et recommencez.")
        return values

    @app.exception_handler(Denied)
    async def denied(request: Request, error: Denied):
        if error.status == 401:
            return RedirectResponse("/login", status_code=303)
        return page(request, "message.html.j2", status=error.status, title="Action impossible", message=str(error))

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException):
        return page(request, "message.html.j2", status=error.status_code, title="Introuvable",
                    message="Cette page ou cet élément n'existe pas.")

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception):
        return page(request, "message.html.j2", status=500, title="Erreur",
                    message=f"Erreur interne ({type(error).__name__}) : rien n'a été modifié.")

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request):
        return page(request, "login.html.j2")

    @app.post("/login")
    async def login(request: Request):
        values = await form(request)
        username = str(values.get("username", ""))[:40]
        if not attempts.allow(request.client.host if request.client else "?"):
            audit(store, username or "?", "login", "console", "throttled")
            return page(request, "login.html.j2", status=429, error=TOO_MANY_ATTEMPTS)
        # Password hashing takes ~50 ms of CPU: off the event loop, so that other requests are not held up.
        found, locked = await run_in_threadpool(authenticate, store, username, str(values.get("password", "")))
        if found is None:
            audit(store, username or "?", "login", "console", "locked" if locked else "refused")
            return page(request, "login.html.j2", status=429 if locked else 401,
                        error=ACCOUNT_LOCKED if locked else "Identifiant ou mot de passe incorrect.")
        request.session.clear()
        request.session.update(user=found.username, role=found.role, version=found.session_version,
                               csrf=secrets.token_urlsafe(32))
        audit(store, found.username, "login", "console", "ok")
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request):
        name = user(request)
        await form(request)
        end_sessions(store, name)                    # a copy of this cookie saved elsewhere no longer works
        audit(store, name, "logout", "console", "ok")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    async def dashboard(request: Request):
        user(request)
        from gateway.publish.charts import bar_chart
        summary = data.run_summary(config.out)
        gate = summary["manifest"].get("gate", {}).get("decisions", {})
        report = service.sla(store, at=now_iso())
        charts = [bar_chart(list(gate), list(gate.values()), title="Décisions par type", color="#ce5c00"),
                  bar_chart(list(report["by_state"]), list(report["by_state"].values()), title="Demandes par état")]
        return page(request, "dashboard.html.j2", s=summary, gate=gate, sla=report, charts=charts,
                    queue=len(data.review_queue(config.register)))

    @app.get("/quarantine", response_class=HTMLResponse)
    async def quarantine(request: Request):
        user(request)
        return page(request, "quarantine.html.j2", rows=data.quarantine_by_declarant(config.out))

    @app.get("/review", response_class=HTMLResponse)
    async def review(request: Request):
        user(request)
        return page(request, "review.html.j2", queue=data.review_queue(config.register))

    @app.post("/review/{decision_id}")
    async def decide(request: Request, decision_id: str):
        name = user(request, "decide")
        values = await form(request)
        if data.decision(config.register, decision_id) is None:
            raise StarletteHTTPException(404)
        from gateway.gate.officer import decide as record
        action = str(values.get("action", ""))
        spread = int(values["spread"]) if str(values.get("spread", "")).isdigit() else None
        try:
            record(config.register, decision_id, action, reason=str(values.get("reason", "")), officer=name,
                   spread_months=spread)
        except GatewayError as error:
            audit(store, name, f"decide:{action}", decision_id, "refused", str(values.get("reason", "")))
            return page(request, "message.html.j2", status=409, title="Décision impossible", message=_french(error))
        audit(store, name, f"decide:{action}", decision_id, "ok", str(values.get("reason", "")))
        return page(request, "message.html.j2", title="Décision enregistrée",
                    message="La décision est enregistrée ; elle sera appliquée au prochain traitement.")

    @app.get("/requests", response_class=HTMLResponse)
    async def requests_list(request: Request, state: str = "", declarant: str = "", overdue: str = ""):
        user(request)
        rows = store.list(state=state or None, declarant=declarant or None, overdue_at=now_iso() if overdue else None)
        return page(request, "requests.html.j2", rows=rows, states=list(State), labels=LABELS,
                    filters={"state": state, "declarant": declarant, "overdue": overdue})

    @app.get("/requests/{request_id}", response_class=HTMLResponse)
    async def request_detail(request: Request, request_id: str):
        user(request)
        try:
            item = store.get(request_id)
        except GatewayError:
            raise StarletteHTTPException(404) from None
        allowed = [name for name, action in HAND_ACTIONS.items() if (State(item.state), action) in TRANSITIONS]
        return page(request, "request.html.j2", r=item, labels=LABELS, allowed=allowed, nir=mask(item.nir),
                    timeline=service.status(store, request_id))

    @app.post("/requests/{request_id}/{action}")
    async def request_action(request: Request, request_id: str, action: str):
        if action not in HAND_ACTIONS:
            raise StarletteHTTPException(404)
        name = user(request, "decide" if action == "force" else "act")
        values = await form(request)
        reason = str(values.get("reason", "")).strip()
        try:
            current = store.get(request_id)
        except GatewayError:
            raise StarletteHTTPException(404) from None
        if str(current.revision) != str(values.get("revision", "")):
            return page(request, "message.html.j2", status=409, title="Demande modifiée entre-temps",
                        message="Quelqu'un a modifié cette demande depuis l'affichage du formulaire : rechargez-la.")
        try:
            _apply(config, request_id, action, name, reason, values)
        except (GatewayError, ConcurrentUpdateError) as error:
            audit(store, name, f"request:{action}", request_id, "refused", reason)
            return page(request, "message.html.j2", status=409, title="Action impossible", message=_french(error))
        audit(store, name, f"request:{action}", request_id, "ok", reason)
        return RedirectResponse(f"/requests/{request_id}", status_code=303)

    @app.get("/person", response_class=HTMLResponse)
    async def person_search(request: Request):
        user(request)
        return page(request, "person_search.html.j2")

    @app.post("/person")
    async def person_find(request: Request):
        name = user(request)
        values = await form(request)
        nir = re.sub(r"\s", "", str(values.get("nir", ""))).upper()
        if len(nir) == 15 and not stdnum_nir.is_valid(nir):
            return page(request, "person_search.html.j2", status=400, error="La clé de ce numéro est incorrecte.")
        if not NIR13.match(nir[:13]) or len(nir) not in (13, 15):
            return page(request, "person_search.html.j2", status=400,
                        error="Numéro de sécurité sociale invalide (13 caractères, ou 15 avec la clé).")
        request.session["person"] = Pseudonymiser(config.pseudonym_key).person_key(nir[:13], None, None)
        request.session["person_nir"] = mask(nir)
        audit(store, name, "person:lookup", request.session["person"][:16], "ok")
        return RedirectResponse("/person/view", status_code=303)

    @app.get("/person/view", response_class=HTMLResponse)
    async def person_view(request: Request):
        user(request)
        key = request.session.get("person")
        if not key:
            return RedirectResponse("/person", status_code=303)
        found = data.person(config.out, config.register, key)
        return page(request, "person.html.j2", p=found, nir=request.session.get("person_nir"),
                    chart=data.timeline_chart(found["versions"]), requests=store.list(person_key=key))

    @app.get("/person/export")
    async def person_export(request: Request):
        name = user(request)
        key = request.session.get("person")
        if not key:
            return RedirectResponse("/person", status_code=303)
        requests = [{"demande": r.request_id, "état": LABELS[State(r.state)], "déroulé": service.status(store, r.request_id)}
                    for r in store.list(person_key=key)]
        body = data.export(config.out, config.register, key, requests, request.session.get("person_nir", ""))
        audit(store, name, "person:export", key[:16], "ok")
        return Response(json.dumps(body, ensure_ascii=False, indent=1), media_type="application/json",
                        headers={"Content-Disposition": "attachment; filename=export-personne.json"})

    @app.get("/users", response_class=HTMLResponse)
    async def users_page(request: Request):
        user(request, "users")
        return page(request, "users.html.j2", users=users(store), trail=audit_trail(store, 50))

    @app.post("/users")
    async def users_add(request: Request):
        name = user(request, "users")
        values = await form(request)
        try:
            add_user(store, str(values.get("username", "")), str(values.get("password", "")), str(values.get("role", "")))
        except GatewayError as error:
            return page(request, "message.html.j2", status=400, title="Utilisateur non créé", message=_french(error))
        audit(store, name, "user:add", str(values.get("username", "")), "ok")
        return RedirectResponse("/users", status_code=303)

    @app.post("/users/{username}/{change}")
    async def users_activation(request: Request, username: str, change: str):
        name = user(request, "users")
        await form(request)
        if change not in ("activate", "deactivate"):
            raise StarletteHTTPException(404)
        if username not in {u.username for u in users(store)}:
            raise StarletteHTTPException(404)
        try:
            set_active(store, username, change == "activate", by=name)
        except GatewayError as error:
            audit(store, name, f"user:{change}", username, "refused", str(error))
            return page(request, "message.html.j2", status=400, title="Action impossible", message=_french(error))
        audit(store, name, f"user:{change}", username, "ok")
        return RedirectResponse("/users", status_code=303)

    @app.get("/health")
    async def health():
        return JSONResponse({"ok": True})

    return app


def _french(error: Exception) -> str:
    text = str(error)
    known = {"unknown action": "Action inconnue : choisissez régulariser, garder la base figée ou étaler le "
                               "trop-perçu.",
             "already answered": "Cette décision a déjà été prise par quelqu'un d'autre.",
             "superseded": "Une décision plus récente existe pour cette base.",
             "justification": "Une justification d'au moins 10 caractères est obligatoire.",
             "changed by another process": "La demande a été modifiée entre-temps : rechargez-la.",
             "not allowed": "Cette action n'est pas possible dans l'état actuel de la demande.",
             "evidence": "La pièce justificative est obligatoire.",
             "spread": "L'étalement doit être compris entre 2 et 12 mois.",
             "self-deactivation": "Vous ne pouvez pas désactiver votre propre compte : demandez-le à un autre "
                                  "administrateur.",
             "last admin": "C'est le dernier administrateur actif : créez ou réactivez d'abord un autre "
                           "administrateur."}
    return next((message for key, message in known.items() if key in text), f"Action refusée : {text}")


def _apply(config: ConsoleConfig, request_id: str, action: str, name: str, reason: str, values: dict) -> None:
    store = config.store
    at = now_iso()
    if action == "route":
        service.route(store, request_id, officer=name, at=at, outbox=config.out / "outbox")
    elif action == "force":
        from corrections.cli import _amounts
        from gateway.versioning.forced import append_forced

        def record(request, month, cents):
            return append_forced(config.register, person_key=request.person_key, declarant_id=request.declarant_id,
                                 nature=request.nature, month=month, cents=cents, amount="net_social_cents",
                                 officer=name, request_id=request.request_id, at=at).version_id
        service.force(store, request_id, officer=name, at=at, values=_amounts([str(values.get("value", ""))], "valeur"),
                      justification=reason, evidence=str(values.get("evidence", "")), record=record)
    elif action == "reject":
        if not reason:
            raise GatewayError("justification: the source's answer is required")
        store.transition(request_id, Action.REJECT, actor=name, at=at, note=reason, source_answer=reason)
    else:
        store.transition(request_id, HAND_ACTIONS[action], actor=name, at=at, note=reason)
