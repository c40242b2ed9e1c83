"""Credentials for a broker-only dry run: made here, no controller enrollment.

The caller gives the broker an account per credential (username ``mqtt_username``, password
``mqtt_password``); the tests and benches do that with the controller's broker module.
"""

from __future__ import annotations

import secrets

from station_protocol.enrollment import EnrollResponse


def local_fleet(
    count: int, *, host: str, port: int, prefix: str = "sim", with_router: bool = False
) -> list[EnrollResponse]:
    """``count`` stations' credentials (STB, and a router each with ``with_router``), fresh passwords."""
    roles = ("stb", "router") if with_router else ("stb",)
    creds: list[EnrollResponse] = []
    for i in range(count):
        for role in roles:
            device_id = f"{role}-{prefix}-{i + 1:06d}"
            creds.append(
                EnrollResponse(
                    device_id=device_id,
                    role=role,
                    mqtt_host=host,
                    mqtt_port=port,
                    mqtt_username=device_id,
                    mqtt_password=secrets.token_urlsafe(18),
                    station_id=i + 1,
                )
            )
    return creds
