"""Campaigns: waves of per-device work (any registered payload) and the events that move them."""

from ..plugins import Feature
from .device_events import SqlCampaignEvents
from .routes import router

FEATURE = Feature(
    name="campaigns",
    order=80,
    api_routers=(router,),
    event_handlers=lambda factory, payloads: [SqlCampaignEvents(factory, payloads)],
)
