"""The device registry: stations and devices, their state and telemetry summary."""

from ..plugins import Feature
from .routes import router

FEATURE = Feature(name="registry", order=20, api_routers=(router,))
