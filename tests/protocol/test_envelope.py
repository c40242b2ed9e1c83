"""Envelope limits and error precision."""

from __future__ import annotations

import json

import pytest

import station_protocol as sp


def _event(detail: dict[str, object]) -> sp.Envelope:
    return sp.make("stb-0001", sp.Event(name="x", severity="info", detail=detail))


def test_encode_refuses_oversized_message() -> None:
    with pytest.raises(sp.PayloadTooLarge):
        sp.encode(_event({"blob": "x" * sp.MAX_PAYLOAD_BYTES}))


def test_decode_refuses_oversized_payload_before_parsing() -> None:
    with pytest.raises(sp.PayloadTooLarge):
        sp.decode(b" " * (sp.MAX_PAYLOAD_BYTES + 1))


def test_make_stamps_unique_ids_and_time() -> None:
    a, b = _event({}), _event({})
    assert a.id != b.id
    assert len(a.id) == 32
    assert a.ts > 1_700_000_000_000


@pytest.mark.parametrize(
    ("body_patch", "needle"),
    [
        ({"seq": -1}, "body.seq"),
        ({"cpu_pct": "high"}, "body.cpu_pct"),
        ({"interfaces": [{"name": "eth0"}]}, "body.interfaces[0].rx_bytes"),
        ({"interfaces": [{}] * 33}, "at most 32"),
        ({"temp_c": float("nan")}, "finite"),
    ],
)
def test_telemetry_errors_name_the_field(body_patch: dict[str, object], needle: str) -> None:
    body = {
        "seq": 1,
        "interval_s": 30,
        "cpu_pct": 1,
        "load1": 0,
        "mem_total": 1,
        "mem_used": 1,
        "disk_total": 1,
        "disk_used": 1,
        "uptime_s": 1,
    }
    body.update(body_patch)
    raw = json.dumps({"v": 1, "kind": "telemetry", "id": "a", "ts": 1, "dev": "stb-0001", "body": body})
    with pytest.raises(sp.MalformedMessage, match=needle.replace("[", r"\[").replace("]", r"\]")):
        sp.decode(raw.encode())


def test_non_object_payload_is_malformed() -> None:
    with pytest.raises(sp.MalformedMessage, match="JSON object"):
        sp.decode(b"[1,2,3]")


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(sp.MalformedMessage):
        sp.decode(b"\xff\xfe{")
