"""The console application: every page needs a login; every action checks the role on the server, a CSRF
token, and is written to the audit trail. NIR searches go by POST and the person is kept in the session,
so no personal data travels in a URL. The routes live in ``console.routes`` (one router per area), what
they share in ``console.web``."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from console.routes import auth, declarants, person, requests, review, users
from console.web import SECURITY_HEADERS, Attempts, ConsoleConfig, Denied, message

__all__ = ["ConsoleConfig", "SECURITY_HEADERS", "create_app"]


def create_app(config: ConsoleConfig) -> FastAPI:
    app = FastAPI(title="drm-gateway console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=config.secret, session_cookie="drm_console", same_site="strict",
                       https_only=False, max_age=8 * 3600)
    app.state.config = config
    app.state.attempts = Attempts()

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(Denied)
    async def denied(request: Request, error: Denied):
        if error.status == 401:
            return RedirectResponse("/login", status_code=303)
        return message(request, "Action impossible", str(error), status=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException):
        return message(request, "Introuvable", "Cette page ou cet élément n'existe pas.", status=error.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception):
        return message(request, "Erreur", f"Erreur interne ({type(error).__name__}) : rien n'a été modifié.", status=500)

    for area in (auth, review, requests, person, users, declarants):
        app.include_router(area.router)

    @app.get("/health")
    async def health():
        return JSONResponse({"ok": True})

    return app
