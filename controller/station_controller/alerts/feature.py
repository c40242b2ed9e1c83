"""Alerts: Alertmanager's webhook and robot/SMS relays, the alerts page, maintenance windows (silences)."""

from typing import Any

from ..plugins import Feature, FeatureContext
from .alertmanager import AlertmanagerClient
from .deps import ALERTMANAGER_SERVICE
from .routes import router


def _services(ctx: FeatureContext) -> dict[str, Any]:
    s = ctx.settings
    return {
        ALERTMANAGER_SERVICE: AlertmanagerClient(
            s.alerts_alertmanager_url, timeout_s=s.alerts_notify_timeout_s
        )
    }


FEATURE = Feature(
    name="alerts",
    order=45,
    api_routers=(router,),
    services=_services,
)
