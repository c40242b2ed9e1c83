"""Secrets that live inside a device's desired config and that generic API reads never show.

The router's ``portal.gateway_key`` must reach the router (it is part of the retained desired config),
but it lets whoever holds it sign splash redirects for that router. Device reads (``GET /api/v1/devices``,
the console) show a marker instead; an admin reads the key on purpose with
``GET /api/v1/portal/hotspots/{device_id}/gateway-key``.
"""

from __future__ import annotations

from typing import Any

HIDDEN = "<hidden: GET /api/v1/portal/hotspots/{device_id}/gateway-key (admin)>"
SECRET_PATHS = (("portal", "gateway_key"),)


def redact_desired_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``config`` with every secret replaced by a marker (the stored config is not touched)."""
    if not config:
        return config
    copy = dict(config)
    for section, key in SECRET_PATHS:
        inner = copy.get(section)
        if isinstance(inner, dict) and key in inner:
            copy[section] = {**inner, key: HIDDEN}
    return copy
