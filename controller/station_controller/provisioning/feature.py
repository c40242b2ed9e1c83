"""Provisioning: bootstrap jobs (ansible-runner, netmiko), router configs, the artifacts devices fetch."""

from ..plugins import Feature, Mount
from .artifacts import router as artifacts_router
from .configs.routes import router as configs_router
from .jobs.routes import router as jobs_router
from .routes import router

FEATURE = Feature(
    name="provisioning",
    order=90,
    api_routers=(jobs_router, router, configs_router),
    routers=(Mount(artifacts_router, priority=60),),
)
