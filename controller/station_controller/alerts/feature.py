"""Alerts: Alertmanager's webhook and robot/SMS relays, the alerts page, maintenance windows (silences)."""

from pathlib import Path
from typing import Any

from ..plugins import Feature, FeatureContext, Mount, NavLink
from . import console_pages
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
    routers=(Mount(console_pages.router, priority=40),),
    nav=(NavLink("/console/alerts/", "告警", "Alerts", order=15),),
    template_dirs=(Path(__file__).parent / "templates",),
    services=_services,
)
