"""Commands to devices and their results (the outbox and publisher are core: composition.py)."""

from ..plugins import Feature
from .routes import router

FEATURE = Feature(name="commands", order=40, api_routers=(router,))
