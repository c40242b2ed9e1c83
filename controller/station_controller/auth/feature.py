"""Staff login and accounts: the ``/api/v1/auth`` API (see plugins.py for how features plug in)."""

from ..plugins import Feature
from .routes import router

FEATURE = Feature(name="auth", order=10, api_routers=(router,))
