"""The set of enrolled device ids (with roles), refreshed from the registry every few seconds."""

from __future__ import annotations

import logging
import time
from typing import Protocol

log = logging.getLogger(__name__)
_MAX_NEGATIVE = 10_000


class DeviceDirectory(Protocol):
    """Reads enrolled devices; SqlRegistry in production."""

    def enrolled_roles(self) -> dict[str, str]: ...

    def role_of(self, device_id: str) -> str | None: ...


class KnownDevices:
    """Answers "is this id enrolled, and what role?" from memory.

    An id missing from the last refresh gets one registry lookup, then a negative answer is cached
    until ``negative_ttl_s``, so a device enrolled a moment ago is not dropped while a flood from an
    unknown id costs one query per TTL.
    """

    def __init__(self, directory: DeviceDirectory, *, negative_ttl_s: float = 5.0) -> None:
        self._directory = directory
        self._roles: dict[str, str] = {}
        self._negative: dict[str, float] = {}
        self._ttl = negative_ttl_s

    def refresh(self) -> set[str]:
        """Reload the enrolled set; returns ids that left it (revoked or deleted)."""
        roles = self._directory.enrolled_roles()
        gone = set(self._roles) - set(roles)
        self._roles = roles  # atomic swap: the pipeline thread reads without a lock
        self._negative = {}
        return gone

    def __len__(self) -> int:
        return len(self._roles)

    def role_of(self, device_id: str, now: float | None = None) -> str | None:
        role = self._roles.get(device_id)
        if role is not None:
            return role
        now = time.monotonic() if now is None else now
        checked = self._negative.get(device_id)
        if checked is not None and now - checked < self._ttl:
            return None
        role = self._directory.role_of(device_id)
        if role is None:
            if len(self._negative) >= _MAX_NEGATIVE:
                self._negative.clear()
            self._negative[device_id] = now
            return None
        self._roles[device_id] = role
        return role
