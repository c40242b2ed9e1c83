"""Charts: serves Apache ECharts and the console's chart wrapper to every page (no menu, no API)."""

from ..plugins import Feature, Mount
from .static import router

FEATURE = Feature(name="charts", order=200, routers=(Mount(router, priority=30),))
