"""The free-WiFi portal: its API, the phone-facing pages, the WiFiDog protocol and session events."""

from ..plugins import Feature, Mount
from .device_events import SqlPortalEvents
from .pages.routes import router as pages_router
from .routes import router
from .wifidog.routes import router as wifidog_router

FEATURE = Feature(
    name="portal",
    order=60,
    api_routers=(router,),
    # gateways' counters checks are the hottest route: matched first
    routers=(Mount(wifidog_router, priority=0), Mount(pages_router, priority=60)),
    event_handlers=lambda factory, _payloads: [SqlPortalEvents(factory)],
)
