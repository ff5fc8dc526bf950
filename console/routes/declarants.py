"""A declarant's anomaly report ("bilan d'anomalies"), as the latest run that wrote one has it, and as PDF. The
URL names the report's file (the SIRET or SIREN, ``inconnu``, or ``autre-<digest>``), never a path."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import data
from console.users import audit
from console.web import VIEW, ConsoleConfig, config

STEM = re.compile(r"[0-9]{9}|[0-9]{14}|inconnu|autre-[0-9a-f]{16}")

router = APIRouter()


def _report(settings: ConsoleConfig, stem: str) -> str:
    """The report's page from the latest run folder (batch or watch mode) holding one for this declarant."""
    if not STEM.fullmatch(stem):
        raise StarletteHTTPException(404)
    for folder in reversed(data.run_folders(settings.out)):
        path = folder / "report" / "declarants" / f"{stem}.html"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise StarletteHTTPException(404)


@router.get("/declarants/{stem}.pdf")
async def declarant_report_pdf(request: Request, stem: str, name: str = Depends(VIEW),
                               settings: ConsoleConfig = Depends(config)):
    from gateway.publish.report import as_pdf
    page = _report(settings, stem)
    audit(settings.store, name, "declarant:pdf", stem, "ok")
    return Response(await run_in_threadpool(as_pdf, page), media_type="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=bilan-{stem}.pdf"})


@router.get("/declarants/{stem}", response_class=HTMLResponse)
async def declarant_report(request: Request, stem: str, _: str = Depends(VIEW),
                           settings: ConsoleConfig = Depends(config)):
    return HTMLResponse(_report(settings, stem))
