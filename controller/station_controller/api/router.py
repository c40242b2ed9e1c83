"""The ``/api/v1`` router: every feature package's routes under one prefix."""

from __future__ import annotations

from fastapi import APIRouter

from ..auth.routes import router as auth_router
from ..campaigns.routes import router as campaigns_router
from ..commands.routes import router as commands_router
from ..content.routes import router as content_router
from ..enrollment.routes import router as enrollment_router
from ..portal.routes import router as portal_router
from ..provisioning.configs.routes import router as provisioning_configs_router
from ..provisioning.jobs.routes import router as provisioning_jobs_router
from ..provisioning.routes import router as provisioning_router
from ..registry.routes import router as registry_router
from ..tsdb.routes import router as history_router

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for feature in (
        auth_router,
        registry_router,
        enrollment_router,
        commands_router,
        history_router,
        portal_router,
        content_router,
        campaigns_router,
        provisioning_jobs_router,
        provisioning_router,
        provisioning_configs_router,
    ):
        router.include_router(feature)
    return router
