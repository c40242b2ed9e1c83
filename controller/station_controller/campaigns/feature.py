"""Campaigns: waves of per-device work (any registered payload) and the events that move them."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from .console_pages import router as console_router
from .device_events import SqlCampaignEvents
from .routes import router

FEATURE = Feature(
    name="campaigns",
    order=80,
    api_routers=(router,),
    routers=(Mount(console_router, priority=40),),
    nav=(NavLink("/console/campaigns/", "内容下发", "Campaigns", order=40),),
    template_dirs=(Path(__file__).parent / "templates",),
    event_handlers=lambda factory, payloads: [SqlCampaignEvents(factory, payloads)],
)
