"""Credentials for a broker-only dry run: device accounts made here, no controller enrollment."""

from __future__ import annotations

import secrets

from station_protocol.enrollment import EnrollResponse

from ..broker.accounts import BrokerAccount
from ..broker.passwords import hash_password


def local_fleet(
    count: int, *, host: str, port: int, prefix: str = "sim", with_router: bool = False
) -> tuple[list[EnrollResponse], list[BrokerAccount]]:
    """``count`` stations' credentials and matching broker accounts (write them with BrokerAccountFiles)."""
    roles = ("stb", "router") if with_router else ("stb",)
    creds: list[EnrollResponse] = []
    accounts: list[BrokerAccount] = []
    for i in range(count):
        for role in roles:
            device_id = f"{role}-{prefix}-{i + 1:06d}"
            password = secrets.token_urlsafe(18)
            creds.append(
                EnrollResponse(
                    device_id=device_id,
                    role=role,
                    mqtt_host=host,
                    mqtt_port=port,
                    mqtt_username=device_id,
                    mqtt_password=password,
                    station_id=i + 1,
                )
            )
            accounts.append(BrokerAccount(username=device_id, password_hash=hash_password(password)))
    return creds, accounts
