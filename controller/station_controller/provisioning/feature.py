"""Provisioning: bootstrap jobs (ansible-runner, netmiko), router configs, the artifacts devices fetch."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from .artifacts import router as artifacts_router
from .configs.console_pages import router as configs_pages
from .configs.routes import router as configs_router
from .jobs.console_pages import router as jobs_pages
from .jobs.routes import router as jobs_router
from .routes import router

FEATURE = Feature(
    name="provisioning",
    order=90,
    api_routers=(jobs_router, router, configs_router),
    routers=(
        Mount(configs_pages, priority=40),
        Mount(jobs_pages, priority=40),
        Mount(artifacts_router, priority=60),
    ),
    nav=(
        NavLink("/console/jobs/", "开通任务", "Jobs", order=70),
        NavLink("/console/configs/", "路由配置", "Router configs", order=80),
    ),
    template_dirs=(Path(__file__).parent / "templates",),
)
