"""Metric history read back from the TSDB for charts."""

from ..plugins import Feature
from .routes import router

FEATURE = Feature(name="history", order=50, api_routers=(router,))
