"""The command/event registry decodes strictly, names the bad field, and encodes back."""

from __future__ import annotations

import pytest

from station_protocol import contract
from station_protocol.errors import MalformedMessage

ALLOW = {"session_id": "s1", "mac": "aa:bb:cc:dd:ee:f0", "ip": "10.0.0.2", "expires_at": 5,
         "idle_timeout_s": 0, "up_kbps": 1, "down_kbps": 1, "quota_bytes": 0}  # fmt: skip


def test_allow_round_trips() -> None:
    assert contract.encode(contract.decode_args("portal.allow", ALLOW)) == ALLOW


def test_missing_field_is_named() -> None:
    with pytest.raises(MalformedMessage, match=r"args\.mac: missing"):
        contract.decode_args("portal.allow", {k: v for k, v in ALLOW.items() if k != "mac"})


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(MalformedMessage, match="unknown field"):
        contract.decode_args("portal.allow", {**ALLOW, "extra": 1})


def test_unknown_command_is_named() -> None:
    with pytest.raises(MalformedMessage, match="unknown command"):
        contract.decode_args("nope", {})
