"""What every console route shares: the configuration, the page renderer with its security headers, the
signed-in officer and the CSRF-checked form as FastAPI dependencies (a test overrides them with
``app.dependency_overrides``), and the French sentences of the errors an officer may meet."""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from console.data import BENEFIT_LABELS, DECISIONS_FR
from console.users import LABELS_PERMISSION, PERMISSIONS, current
from corrections.states import LABELS as STATE_LABELS
from gateway.gate.notices import CAUSES_FR
from corrections.store import CorrectionStore
from gateway.errors import ErrorCode
from gateway.layout import RunLayout
from gateway.months import month_fr
from gateway.values import NATURES_FR, euros, percent, thousands

# Autoescape for every template whatever its name (the default selection misses "*.html.j2").
TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                            autoescape=True))
TEMPLATES.env.filters["euros"] = euros
TEMPLATES.env.filters["month_fr"] = month_fr
TEMPLATES.env.filters["fr"] = lambda code, table: _LABELS[table].get(code, code)
TEMPLATES.env.filters["thousands"] = thousands
TEMPLATES.env.filters["percent"] = percent
TEMPLATES.env.filters["stem"] = lambda declarant_id: _report_stem(declarant_id)


def _report_stem(declarant_id: str | None) -> str:
    """The file name of a declarant's report (a link names it, never the raw value read from a file)."""
    from gateway.publish.report import UNKNOWN_DECLARANT, report_stem
    return report_stem(declarant_id or UNKNOWN_DECLARANT)


# The French labels of codes shown on pages, by kind of code (the ``fr`` filter).
_LABELS = {"benefit": {**BENEFIT_LABELS, "RSA_M3_M1": "RSA, ancienne période M-3..M-1 (pour comparaison)"},
           "decision": DECISIONS_FR, "nature": NATURES_FR, "cause": CAUSES_FR,
           "state": {state.value: label for state, label in STATE_LABELS.items()}}
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
# What an officer reads when an action is refused, by the error's code (gateway.errors.ErrorCode).
FRENCH = {
    ErrorCode.UNKNOWN_ACTION: "Action inconnue : choisissez régulariser, garder la base figée ou étaler le trop-perçu.",
    ErrorCode.ALREADY_ANSWERED: "Cette décision a déjà été prise par quelqu'un d'autre.",
    ErrorCode.SUPERSEDED: "Une décision plus récente existe pour cette base.",
    ErrorCode.JUSTIFICATION_REQUIRED: "Une justification d'au moins 10 caractères est obligatoire.",
    ErrorCode.CONCURRENT_UPDATE: "La demande a été modifiée entre-temps : rechargez-la.",
    ErrorCode.TRANSITION_NOT_ALLOWED: "Cette action n'est pas possible dans l'état actuel de la demande.",
    ErrorCode.EVIDENCE_REQUIRED: "La pièce justificative est obligatoire.",
    ErrorCode.SPREAD_OUT_OF_RANGE: "L'étalement doit être compris entre 2 et 12 mois.",
    ErrorCode.SELF_DEACTIVATION: "Vous ne pouvez pas désactiver votre propre compte : demandez-le à un autre "
                                 "administrateur.",
    ErrorCode.LAST_ADMIN: "C'est le dernier administrateur actif : créez ou réactivez d'abord un autre administrateur.",
    ErrorCode.NOT_A_SUPERVISOR: "Une décision ne peut être confiée qu'à un superviseur actif.",
    ErrorCode.ROLE_NOT_ALLOWED: "Votre rôle ne permet pas cette action.",
    ErrorCode.SAME_AS_DECLARED: "Le montant indiqué est celui déjà déclaré : il n'y a rien à corriger. Confirmez si la "
                                "contestation porte sur autre chose (le mois de rattachement, par exemple).",
}


@dataclass(frozen=True)
class ConsoleConfig:
    out: Path
    store: CorrectionStore
    pseudonym_key: bytes
    secret: str

    @property
    def register(self) -> Path:
        return RunLayout.of(self.out).register


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


def french(error: Exception) -> str:
    """An error's sentence for an officer: by its code; the message itself only when it has none."""
    known = FRENCH.get(getattr(error, "code", None))
    return known or f"Action refusée : {error}"


def config(request: Request) -> ConsoleConfig:
    """The console's configuration (a dependency)."""
    return request.app.state.config


def page(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    session = request.session
    session.setdefault("csrf", secrets.token_urlsafe(32))
    response = TEMPLATES.TemplateResponse(request, name, {"user": session.get("user"), "role": session.get("role"),
                                                          "csrf": session["csrf"], **values}, status_code=status)
    response.headers.update(SECURITY_HEADERS)      # error pages too (they bypass the middleware)
    return response


def message(request: Request, title: str, text: str, status: int = 200) -> HTMLResponse:
    return page(request, "message.html.j2", status=status, title=title, message=text)


class Officer:
    """The signed-in user allowed ``permission``, as the store says now (a logout or a deactivation ends every
    session at once; the role is the store's, not the cookie's). A dependency: one instance per permission."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> str:
        session = request.session
        found = current(config(request).store, session.get("user"), session.get("version"))
        if found is None:
            session.clear()
            raise Denied("Connexion requise.", 401)
        session["role"] = found.role
        if found.role not in PERMISSIONS[self.permission]:
            raise Denied(f"Accès refusé : votre rôle ne permet pas cette action ({LABELS_PERMISSION[self.permission]}).")
        return found.username


VIEW, ACT, DECIDE, USERS = Officer("view"), Officer("act"), Officer("decide"), Officer("users")


async def form(request: Request) -> dict:
    """The posted form, once its CSRF token matches the session's (a dependency)."""
    posted = await request.form()
    values = dict(posted)
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(values.get("csrf", "")), expected):
        raise Denied("Formulaire expiré ou invalide (jeton de sécurité) : rechargez la page et recommencez.")
    values["ids"] = [str(item) for item in posted.getlist("ids")]        # the items ticked in a list
    return values
