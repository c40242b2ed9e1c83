"""Enrollment: a device trades its one-time token for its per-device broker credentials."""

from ..plugins import Feature
from .routes import router

FEATURE = Feature(name="enrollment", order=30, api_routers=(router,))
