"""The staff console's own pages (stations, station, device, register, login) and their menu entries;
every other feature registers its console pages in its own feature.py (through ``station_controller.web``)."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from ..web.static import router as static_router
from .register_routes import router as register_router
from .routes import root_router
from .routes import router as console_router

FEATURE = Feature(
    name="console",
    order=900,
    template_dirs=(Path(__file__).parent / "templates",),
    routers=(
        Mount(static_router, priority=40),
        Mount(register_router, priority=40),
        Mount(console_router, priority=45),
        Mount(root_router, priority=50),
    ),
    nav=(
        NavLink("/console/", "站点列表", "Stations", order=10),
        NavLink("/console/register", "登记站点", "Register", order=60),
    ),
)
