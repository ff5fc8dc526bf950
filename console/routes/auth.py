"""Signing in and out: throttled per address, a locked account after repeated wrong passwords, every attempt
in the audit trail."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from console.users import audit, authenticate, end_sessions
from console.web import VIEW, ConsoleConfig, config, form, page

TOO_MANY_ATTEMPTS = "Trop de tentatives de connexion depuis cette adresse : réessayez dans une minute."
ACCOUNT_LOCKED = ("Trop de mots de passe erronés : ce compte est bloqué pendant 15 minutes. Un administrateur peut "
                  "le débloquer en le réactivant.")

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request):
    return page(request, "login.html.j2")


@router.post("/login")
async def login(request: Request, values: dict = Depends(form), settings: ConsoleConfig = Depends(config)):
    store = settings.store
    username = str(values.get("username", ""))[:40]
    if not request.app.state.attempts.allow(request.client.host if request.client else "?"):
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


@router.post("/logout")
async def logout(request: Request, name: str = Depends(VIEW), _: dict = Depends(form),
                 settings: ConsoleConfig = Depends(config)):
    end_sessions(settings.store, name)                    # a copy of this cookie saved elsewhere no longer works
    audit(settings.store, name, "logout", "console", "ok")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
