"""Content bundles: the staff API, the public object store the devices fetch from, the campaign payload."""

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from .campaign_payload import ContentSync
from .console_pages import router as console_router
from .routes import public_router, router

FEATURE = Feature(
    name="content",
    order=70,
    api_routers=(router,),
    routers=(Mount(public_router, priority=60), Mount(console_router, priority=40)),
    nav=(NavLink("/console/content/", "课件内容", "Content", order=30),),
    template_dirs=(Path(__file__).parent / "templates",),
    payloads=lambda settings: [ContentSync(settings)],
)
