"""Registry columns of a birth's firmware fields (docs/firmware.md): slots, OS version, last update."""

from __future__ import annotations

from typing import Any

from station_protocol import Birth

from .bounded import bounded_json, clean_text

_SLOT_CHARS = 8
_OS_CHARS = 64


def _text(value: Any, max_chars: int) -> str | None:
    return None if value is None else clean_text(str(value), max_chars)


def firmware_columns(birth: Birth) -> dict[str, Any]:
    """``agent_slot``, ``os_version``, ``os_slot``, ``last_update`` bounded to their columns (None kept:
    a birth without them says the device has no such state now)."""
    last = birth.last_update
    return {
        "agent_slot": _text(birth.agent_slot, _SLOT_CHARS),
        "os_version": _text(birth.os_version, _OS_CHARS),
        "os_slot": _text(birth.os_slot, _OS_CHARS),
        "last_update": None if last is None else bounded_json(dict(last), depth=2),
    }
