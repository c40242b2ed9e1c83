"""Liveness (``/healthz``) and readiness (``/readyz``: DB reachable, ingest working, no thread down)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from .. import supervisor
from .deps import AppEngine, service

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, engine: AppEngine) -> JSONResponse:
    """200 when every check passes, else 503; ``reasons`` says, per failing check, what is wrong.

    Checks: ``database`` (the registry answers), ``ingest`` (if attached: broker connected, worker
    threads alive, TSDB writer not stuck; ``reasons`` names the part, e.g. ``tsdb_writer``), ``threads``
    (no supervised background thread crashed and waiting to restart).
    """
    reasons: dict[str, str] = {}
    checks: dict[str, bool] = {"database": _database_ok(engine)}
    if not checks["database"]:
        reasons["database"] = "the registry database does not answer"
    ingest = service(request, "ingest")
    if ingest is not None:
        problems = _ingest_problems(ingest)
        checks["ingest"] = not problems
        reasons.update(problems)
    down = supervisor.down_threads()
    checks["threads"] = not down
    reasons.update({f"thread {name}": why for name, why in down.items()})
    ready = all(checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not_ready", "checks": checks}
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=200 if ready else 503)


def _ingest_problems(ingest: object) -> dict[str, str]:
    problems = getattr(ingest, "problems", None)
    if problems is not None:
        return dict(problems())
    return {} if ingest.ready() else {"ingest": "not ready"}  # type: ignore[attr-defined]


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", exc)
        return False
    return True
