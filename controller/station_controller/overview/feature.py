"""Overview: the console's landing page (web.LANDING_PATH), fleet state at a glance, updating live."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from . import console_pages

FEATURE = Feature(
    name="overview",
    order=50,
    routers=(Mount(console_pages.router, priority=40),),
    nav=(NavLink("/console/overview/", "总览", "Overview", order=5),),
    template_dirs=(Path(__file__).parent / "templates",),
)
