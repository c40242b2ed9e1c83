"""Registry reads and batched presence writes for ingest (the only SQL ingest does)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ..registry.models import Device

_ENROLLED = "enrolled"
# The database (not the rows) failed: connection refused or lost, pool exhausted, SQLite busy/locked.
_OUTAGES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def is_outage(exc: BaseException) -> bool:
    """True when a failed write may succeed unchanged later; anything else is a row the DB refuses."""
    return isinstance(exc, _OUTAGES)


_DEVICES: Table = Device.__table__  # type: ignore[assignment]


class SqlRegistry:
    """Implements DeviceDirectory and PresenceRepository on the registry database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def enrolled_roles(self) -> dict[str, str]:
        """Every enrolled device id and its role."""
        with self._factory() as session:
            rows = session.execute(select(Device.id, Device.role).where(Device.status == _ENROLLED))
            return {device_id: role for device_id, role in rows}

    def role_of(self, device_id: str) -> str | None:
        """The role of one enrolled device, or None if unknown / not enrolled."""
        with self._factory() as session:
            stmt = select(Device.role).where(Device.id == device_id, Device.status == _ENROLLED)
            return session.execute(stmt).scalar_one_or_none()

    def online_devices(self) -> list[tuple[str, int | None]]:
        """(id, session) of devices the registry believes online."""
        with self._factory() as session:
            stmt = select(Device.id, Device.session).where(
                Device.online.is_(True), Device.status == _ENROLLED
            )
            return [(device_id, sess) for device_id, sess in session.execute(stmt)]

    def write_presence(self, rows: list[dict[str, Any]]) -> None:
        """One transaction; one executemany UPDATE per distinct set of changed columns."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            columns = tuple(sorted(k for k in row if k != "id"))
            if columns:
                groups.setdefault(columns, []).append({f"p_{k}": v for k, v in row.items()})
        with self._factory() as session, session.begin():
            for columns, params in groups.items():
                stmt = (
                    update(_DEVICES)
                    .where(_DEVICES.c.id == bindparam("p_id"))
                    .values({column: bindparam(f"p_{column}") for column in columns})
                )
                session.connection().execute(stmt, params)
