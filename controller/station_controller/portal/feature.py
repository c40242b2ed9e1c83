"""The free-WiFi portal: its API, the phone-facing pages, the WiFiDog protocol and session events."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from .console_pages import router as console_router
from .device_events import SqlPortalEvents
from .pages.routes import router as pages_router
from .routes import router
from .wifidog.routes import router as wifidog_router

FEATURE = Feature(
    name="portal",
    order=60,
    api_routers=(router,),
    # gateways' counters checks are the hottest route: matched first
    routers=(
        Mount(wifidog_router, priority=0),
        Mount(console_router, priority=40),
        Mount(pages_router, priority=60),
    ),
    nav=(NavLink("/console/portal/", "免费WiFi", "Free WiFi", order=50),),
    template_dirs=(Path(__file__).parent / "templates",),
    event_handlers=lambda factory, _payloads: [SqlPortalEvents(factory)],
)
