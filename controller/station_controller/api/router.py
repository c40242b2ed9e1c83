"""The ``/api/v1`` router: every feature package's routes under one prefix."""

from __future__ import annotations

from fastapi import APIRouter

from ..auth.routes import router as auth_router
from ..commands.routes import router as commands_router
from ..enrollment.routes import router as enrollment_router
from ..registry.routes import router as registry_router
from ..tsdb.routes import router as history_router

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for feature in (auth_router, registry_router, enrollment_router, commands_router, history_router):
        router.include_router(feature)
    return router
