"""Hostile payloads of every class in issue 8, each valid but for one defect, with the reject reasons
that must count it (exact reject reasons or counter names, see Payload.expect)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from station_protocol import Channel, now_ms

YEAR_MS = 365 * 24 * 3600 * 1000
INT64_MAX = 2**63 - 1

# What counts each payload: a ``messages_rejected{reason}`` reason of station_protocol (errors.REASONS)
# or of the ingest pipeline, or (for kinds clamped rather than rejected) the name of a counter.
CLAMPED = "timestamps_clamped"


@dataclass(frozen=True)
class Payload:
    label: str
    expect: str  # the reject reason (or counter) that must count it
    channel: Channel
    data: bytes
    retain: bool = False


def envelope(dev: str, kind: str, body: Any, *, ts: Any = None, **overrides: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "v": 1,
        "kind": kind,
        "id": uuid.uuid4().hex,
        "ts": now_ms() if ts is None else ts,
        "dev": dev,
        "body": body,
    }
    env.update(overrides)
    return env


def raw(value: Any) -> bytes:
    # ensure_ascii turns a lone surrogate into the JSON escape "\ud800"; allow_nan writes NaN/Infinity.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def telemetry_body(seq: Any = 1, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": seq,
        "interval_s": 1.0,
        "cpu_pct": 1.0,
        "load1": 0.1,
        "mem_total": 1000,
        "mem_used": 10,
        "disk_total": 1000,
        "disk_used": 10,
        "uptime_s": 10.0,
    }
    body.update(fields)
    return body


def birth_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agent_version": "6.6.6",
        "role": "stb",
        "boot_id": "boot-x",
        "session": 7,
        "capabilities": ["ping"],
        "hardware": {"model": "x"},
        "config_version": 0,
    }
    body.update(fields)
    return body


def event_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "disk.full", "severity": "warning", "detail": {}}
    body.update(fields)
    return body


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def iface(name: str) -> dict[str, Any]:
    return {"name": name, "rx_bytes": 1, "tx_bytes": 1, "rx_bps": 1.0, "tx_bps": 1.0}


def _tel(dev: str, label: str, expect: str, ts: Any = None, **fields: Any) -> Payload:
    return Payload(
        label, expect, Channel.TELEMETRY, raw(envelope(dev, "telemetry", telemetry_body(**fields), ts=ts))
    )


def _event(dev: str, label: str, expect: str, ts: Any = None, **fields: Any) -> Payload:
    return Payload(label, expect, Channel.EVENT, raw(envelope(dev, "event", event_body(**fields), ts=ts)))


def _birth(dev: str, label: str, expect: str, ts: Any = None, **fields: Any) -> Payload:
    # Births are retained on ``state``, so a poisoned one would come back on every controller reconnect.
    body = birth_body(**fields)
    return Payload(label, expect, Channel.STATE, raw(envelope(dev, "birth", body, ts=ts)), retain=True)


def unicode_payloads(dev: str) -> list[Payload]:
    u, c = "bad_unicode", "control_char"
    not_utf8 = b'{"v":1,"kind":"telemetry","dev":"\xff\xfe"}'
    return [
        _event(dev, "event name with a lone surrogate", u, name="disk\ud800"),
        _event(dev, "event detail with lone surrogates", u, detail={"k\udfff": "v\ud800"}),
        _event(dev, "newline in an event name (a tag)", c, name="disk\nfull,x=1"),
        _event(dev, "NUL in an event name", c, name="disk\x00full"),
        _tel(dev, "newline in an interface name (a tag)", c, interfaces=[iface("eth0\nevil")]),
        _birth(dev, "birth agent_version with a lone surrogate", u, agent_version="1.\ud800"),
        _birth(dev, "birth boot_id with a lone surrogate", u, boot_id="\udc00boot"),
        _birth(dev, "birth capability with a newline", c, capabilities=["ping\nreboot"]),
        Payload("payload that is not UTF-8", "malformed", Channel.TELEMETRY, not_utf8),
    ]


def timestamp_payloads(dev: str) -> list[Payload]:
    k, now = "ts_out_of_window", now_ms()
    return [
        _tel(dev, "telemetry 10 years in the future", k, ts=now + 10 * YEAR_MS, seq=901),
        _tel(dev, "telemetry in 1970", k, ts=1, seq=902),
        _tel(dev, "telemetry 10 years in the past", k, ts=now - 10 * YEAR_MS, seq=903),
        _event(dev, "event 10 years in the future", CLAMPED, ts=now + 10 * YEAR_MS),
        _birth(dev, "birth 10 years in the future", CLAMPED, ts=now + 10 * YEAR_MS),
        _tel(dev, "timestamp beyond int64 milliseconds", "out_of_range", ts=2**70, seq=904),
    ]


def range_payloads(dev: str) -> list[Payload]:
    k = "out_of_range"
    return [
        _birth(dev, "birth session 2**70", k, session=2**70),
        _birth(dev, "birth config_version 2**64", k, config_version=2**64),
        _tel(dev, "telemetry mem_total 2**70", k, seq=905, mem_total=2**70),
        _tel(dev, "telemetry seq just past int64", k, seq=INT64_MAX + 1),
        _tel(dev, "interface rx_bytes 2**80", k, seq=906, interfaces=[{**iface("eth0"), "rx_bytes": 2**80}]),
    ]


def structure_payloads(dev: str) -> list[Payload]:
    many_ifaces = [iface(f"e{i}") for i in range(500)]
    return [
        _birth(dev, "birth hardware nested 500 deep", "too_deep", hardware=nested(500)),
        _event(dev, "event detail nested 500 deep", "too_deep", detail=nested(500)),
        _birth(
            dev,
            "birth hardware with 3,000 keys",
            "too_many_items",
            hardware={f"k{i}": i for i in range(3000)},
        ),
        _event(dev, "event detail with a 20,000-item list", "too_many_items", detail={"xs": [0] * 20000}),
        _tel(dev, "telemetry with 500 interfaces", "too_many_items", seq=907, interfaces=many_ifaces),
        _birth(dev, "birth with 5,000 capabilities", "too_many_items", capabilities=["c"] * 5000),
    ]


def number_payloads(dev: str) -> list[Payload]:
    k, nan, inf = "out_of_range", float("nan"), float("inf")
    return [
        _tel(dev, "telemetry cpu_pct NaN", k, seq=908, cpu_pct=nan),
        _tel(dev, "telemetry temp_c Infinity", k, seq=909, temp_c=inf),
        _birth(dev, "birth hardware with NaN", k, hardware={"ram": nan}),
        _event(dev, "event detail with -Infinity", k, detail={"v": -inf}),
    ]


def type_payloads(dev: str) -> list[Payload]:
    k, t = "malformed", Channel.TELEMETRY
    return [
        _tel(dev, "seq as a string", k, seq="12"),
        Payload("body is a list", k, t, raw(envelope(dev, "telemetry", [1, 2, 3]))),
        Payload("body is null", k, t, raw(envelope(dev, "telemetry", None))),
        _tel(dev, "ts as a string", k, ts="now", seq=910),
        _tel(dev, "ts as a float", k, ts=now_ms() + 0.5, seq=911),
        _tel(dev, "boolean where a number goes", k, seq=912, cpu_pct=True),
        _birth(dev, "birth session as a boolean", k, session=True),
        Payload("envelope is a list", k, t, raw([1, "telemetry"])),
        Payload("empty payload", k, t, b""),
        _event(dev, "detail is a string", k, detail="x"),
    ]


def spoof_payloads(dev: str, victim: str) -> list[Payload]:
    """On the hostile's own topics, envelopes that name an honest device (seq far above its own)."""
    k, t = "spoofed", Channel.TELEMETRY
    return [
        Payload(
            "telemetry naming an honest device",
            k,
            t,
            raw(envelope(victim, "telemetry", telemetry_body(seq=999_999))),
        ),
        Payload(
            "birth naming an honest device",
            k,
            Channel.STATE,
            raw(envelope(victim, "birth", birth_body())),
            retain=True,
        ),
        Payload(
            "death naming an honest device",
            k,
            Channel.STATE,
            raw(envelope(victim, "death", {"session": 2**31 - 1, "graceful": False})),
        ),
    ]
