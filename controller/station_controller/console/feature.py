"""The staff console's pages and its menu entries."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from ..web.static import router as static_router
from .campaign_routes import router as campaigns_router
from .config_routes import router as configs_router
from .content_routes import router as content_router
from .jobs_routes import router as jobs_router
from .portal_routes import router as portal_router
from .routes import root_router
from .routes import router as console_router

FEATURE = Feature(
    name="console",
    order=900,
    template_dirs=(Path(__file__).parent / "templates",),
    routers=(
        Mount(static_router, priority=40),
        Mount(configs_router, priority=40),
        Mount(campaigns_router, priority=40),
        Mount(portal_router, priority=40),
        Mount(jobs_router, priority=40),
        Mount(content_router, priority=40),
        Mount(console_router, priority=45),
        Mount(root_router, priority=50),
    ),
    nav=(
        NavLink("/console/", "站点列表", "Stations", order=10),
        NavLink("/console/content/", "课件内容", "Content", order=30),
        NavLink("/console/campaigns/", "内容下发", "Campaigns", order=40),
        NavLink("/console/portal/", "免费WiFi", "Free WiFi", order=50),
        NavLink("/console/register", "登记站点", "Register", order=60),
        NavLink("/console/jobs/", "开通任务", "Jobs", order=70),
        NavLink("/console/configs/", "路由配置", "Router configs", order=80),
    ),
)
