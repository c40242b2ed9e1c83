"""Device SSH targets (host, user, secret names, profile) and the per-device secrets accessor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Device, Station
from ..registry.service import get_device
from .jobs.contract import DeviceTarget
from .models import ProvisioningSecret, ProvisioningTarget
from .secrets import Redactor, SecretBox, read_secret


@dataclass(frozen=True)
class TargetIn:
    host: str
    port: int = 22
    username: str | None = None
    password_secret: str | None = None
    key_secret: str | None = None
    profile: str | None = None
    vars: Mapping[str, Any] | None = None


def _check_secret_names(session: Session, data: TargetIn) -> None:
    for name in (data.password_secret, data.key_secret):
        if (
            name
            and session.scalar(select(ProvisioningSecret.id).where(ProvisioningSecret.name == name)) is None
        ):
            raise InvalidInput(
                f"no secret named {name!r}: store it first (POST /api/v1/provisioning/secrets)"
            )


def put_target(session: Session, *, device_id: str, data: TargetIn) -> ProvisioningTarget:
    """Create or replace how the controller reaches ``device_id`` over SSH."""
    get_device(session, device_id=device_id)
    if not data.host.strip() or not 0 < data.port < 65536:
        raise InvalidInput("a target needs a host and a port between 1 and 65535")
    _check_secret_names(session, data)
    row = session.get(ProvisioningTarget, device_id) or ProvisioningTarget(device_id=device_id)
    row.host, row.port, row.username = data.host.strip(), data.port, data.username
    row.password_secret, row.key_secret, row.profile = data.password_secret, data.key_secret, data.profile
    row.vars, row.updated_at = dict(data.vars or {}), utcnow()
    session.add(row)
    session.commit()
    return row


def get_target(session: Session, *, device_id: str) -> ProvisioningTarget:
    row = session.get(ProvisioningTarget, device_id)
    if row is None:
        raise NotFound(f"device {device_id} has no SSH target: PUT /api/v1/provisioning/targets/{device_id}")
    return row


def device_target(session: Session, *, device_id: str) -> tuple[DeviceTarget, ProvisioningTarget | None]:
    """The action's view of ``device_id`` and its target row (None when no target is set)."""
    device = session.scalar(select(Device).where(Device.id == device_id))
    if device is None:
        raise NotFound(f"device {device_id} is no longer in the registry")
    station: Station = device.station
    row = session.get(ProvisioningTarget, device_id)
    target = DeviceTarget(
        device_id=device.id,
        role=device.role,
        serial=device.serial,
        station_code=station.code,
        station_name=station.name,
        region_path=device.region_path,
        tags=tuple(sorted(t.name for t in station.tags)),
        host=row.host if row else None,
        port=row.port if row else 22,
        username=row.username if row else None,
        profile=row.profile if row else None,
        vars=dict(row.vars or {}) if row else {},
        status=device.status,
    )
    return target, row


class DeviceSecrets:
    """``Secrets`` for one device: decrypts on demand and registers each value with the redactor."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        box: SecretBox,
        redactor: Redactor,
        password_secret: str | None,
        key_secret: str | None,
    ) -> None:
        self._factory, self._box, self._redactor = factory, box, redactor
        self._password_secret, self._key_secret = password_secret, key_secret

    def _read(self, name: str) -> str:
        with self._factory() as session:
            value = read_secret(session, box=self._box, name=name)
        self._redactor.add(value)
        return value

    def password(self) -> str | None:
        return self._read(self._password_secret) if self._password_secret else None

    def private_key(self) -> str | None:
        return self._read(self._key_secret) if self._key_secret else None

    def named(self, name: str) -> str:
        return self._read(name)
