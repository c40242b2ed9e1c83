"""Content bundles: the staff API, the public object store the devices fetch from, the campaign payload."""

from ..plugins import Feature, Mount
from .campaign_payload import ContentSync
from .routes import public_router, router

FEATURE = Feature(
    name="content",
    order=70,
    api_routers=(router,),
    routers=(Mount(public_router, priority=60),),
    payloads=lambda settings: [ContentSync(settings)],
)
