"""Officers' accounts (admins only): create, activate, deactivate, and the audit trail."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.users import add_user, audit, audit_trail, set_active, users
from console.web import USERS, ConsoleConfig, config, form, french, message, page
from gateway.errors import GatewayError

router = APIRouter()


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, _: str = Depends(USERS), settings: ConsoleConfig = Depends(config)):
    return page(request, "users.html.j2", users=users(settings.store), trail=audit_trail(settings.store, 50))


@router.post("/users")
async def users_add(request: Request, name: str = Depends(USERS), values: dict = Depends(form),
                    settings: ConsoleConfig = Depends(config)):
    try:
        add_user(settings.store, str(values.get("username", "")), str(values.get("password", "")),
                 str(values.get("role", "")))
    except GatewayError as error:
        return message(request, "Utilisateur non créé", french(error), status=400)
    audit(settings.store, name, "user:add", str(values.get("username", "")), "ok")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/{change}")
async def users_activation(request: Request, username: str, change: str, name: str = Depends(USERS),
                           _: dict = Depends(form), settings: ConsoleConfig = Depends(config)):
    store = settings.store
    if change not in ("activate", "deactivate") or username not in {u.username for u in users(store)}:
        raise StarletteHTTPException(404)
    try:
        set_active(store, username, change == "activate", by=name)
    except GatewayError as error:
        audit(store, name, f"user:{change}", username, "refused", str(error))
        return message(request, "Action impossible", french(error), status=400)
    audit(store, name, f"user:{change}", username, "ok")
    return RedirectResponse("/users", status_code=303)
