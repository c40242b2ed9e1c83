"""Alertmanager's configuration (alertmanager.yml) generated from the controller's typed settings.

Routing (every alert goes down each matching branch, ``continue: true``)::

    controller  → POST {public_url}/api/v1/alerts/webhook      (the console's alerts page; always)
    notify      → each alerts_generic_webhook_urls entry         (Alertmanager's own JSON)
                → POST {public_url}/api/v1/alerts/relay/dingtalk (when alerts_dingtalk_url is set)
                → POST {public_url}/api/v1/alerts/relay/wecom    (when alerts_wecom_url is set)
    sms         → POST {public_url}/api/v1/alerts/relay/sms      (severity="critical", when phones are set)

The relays are controller routes because Alertmanager 0.25 has no DingTalk or WeCom receiver: they turn
its webhook JSON into the robots' message shapes (alerts/robots.py). Every call to the controller carries
``Authorization: Bearer {alerts_webhook_token}``. A silence (maintenance window) mutes all of them.
"""

from __future__ import annotations

import json
from typing import Any

from ..settings import Settings

WEBHOOK_PATH = "/api/v1/alerts/webhook"
RELAY_PATH = "/api/v1/alerts/relay/{kind}"
GROUP_BY = ["alertname", "device"]


def _seconds(value: float) -> str:
    return f"{max(1, round(value))}s"


def _controller_hook(settings: Settings, path: str) -> dict[str, Any]:
    return {
        "url": settings.public_url.rstrip("/") + path,
        "send_resolved": True,
        "max_alerts": 200,
        "http_config": {
            "authorization": {
                "type": "Bearer",
                "credentials": settings.alerts_webhook_token.get_secret_value(),
            }
        },
    }


def _notify_hooks(settings: Settings) -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = [
        {"url": url, "send_resolved": True, "max_alerts": 200} for url in settings.alerts_generic_webhook_urls
    ]
    for kind, target in (("dingtalk", settings.alerts_dingtalk_url), ("wecom", settings.alerts_wecom_url)):
        if target:
            hooks.append(_controller_hook(settings, RELAY_PATH.format(kind=kind)))
    return hooks


def build_config(settings: Settings) -> dict[str, Any]:
    """The whole configuration as a dict (see the module docstring for the routes)."""
    receivers: list[dict[str, Any]] = [
        {"name": "controller", "webhook_configs": [_controller_hook(settings, WEBHOOK_PATH)]}
    ]
    routes: list[dict[str, Any]] = [{"receiver": "controller", "continue": True}]
    if hooks := _notify_hooks(settings):
        receivers.append({"name": "notify", "webhook_configs": hooks})
        routes.append({"receiver": "notify", "continue": True})
    if settings.alerts_sms_phones:
        sms = _controller_hook(settings, RELAY_PATH.format(kind="sms"))
        sms["send_resolved"] = False  # a text message for the fire only
        receivers.append({"name": "sms", "webhook_configs": [sms]})
        routes.append({"receiver": "sms", "matchers": ['severity="critical"'], "continue": True})
    return {
        "route": {
            "receiver": "controller",
            "group_by": GROUP_BY,
            "group_wait": _seconds(settings.alerts_group_wait_s),
            "group_interval": _seconds(settings.alerts_group_interval_s),
            "repeat_interval": _seconds(settings.alerts_repeat_interval_s),
            "routes": routes,
        },
        # A critical alert mutes the same device's warnings (a dead router also saturates nothing).
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["device"],
            }
        ],
        "receivers": receivers,
    }


def render(settings: Settings) -> str:
    """alertmanager.yml text (JSON, which is YAML too); it holds the webhook token, so write it 0600."""
    return json.dumps(build_config(settings), indent=2, ensure_ascii=False) + "\n"
