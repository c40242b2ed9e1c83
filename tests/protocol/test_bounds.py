"""Each documented bound (docs/protocol.md "Bounds"): accepted at the limit, rejected past it, by reason."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import station_protocol as sp

from .strategies import DAY_MS, NOW_MS, nested_json

DEV = "stb-a1b2c3d4"
BODIES: dict[str, dict[str, Any]] = {
    "birth": {"agent_version": "0.1.0", "role": "stb", "boot_id": "b0", "session": 7, "config_version": 0},
    "death": {"session": 7, "graceful": False},
    "telemetry": {
        "seq": 1,
        "interval_s": 30.0,
        "cpu_pct": 1.0,
        "load1": 0.1,
        "mem_total": 1,
        "mem_used": 1,
        "disk_total": 1,
        "disk_used": 1,
        "uptime_s": 1.0,
        "interfaces": [{"name": "eth0", "rx_bytes": 1, "tx_bytes": 1, "rx_bps": 1.0, "tx_bps": 1.0}],
    },
    "event": {"name": "disk_low", "severity": "info", "detail": {}},
    "command": {"name": "ping", "expires_at": NOW_MS, "timeout_s": 30.0, "args": {}},
    "result": {"command_id": "c1", "status": "ok", "output": {}, "error": None},
    "config_desired": {"version": 1, "config": {}},
    "config_reported": {"version": 1, "status": "applied", "error": None},
}


def payload(kind: str, patch: dict[str, Any] | None = None, **envelope: Any) -> bytes:
    body = {**BODIES[kind], **(patch or {})}
    message = {"v": 1, "kind": kind, "id": "m1", "ts": NOW_MS, "dev": DEV, "body": body, **envelope}
    return json.dumps(message, ensure_ascii=True, allow_nan=True).encode()


def decode(kind: str, data: bytes, now_ms: int | None = NOW_MS) -> sp.Envelope:
    channel = sp.CHANNEL_OF_KIND[sp.Kind(kind)]
    return sp.decode_from(sp.topic(DEV, channel), data, now_ms=now_ms)[1]


def nest(levels: int) -> dict[str, Any]:
    """An object nesting ``levels`` objects, itself included."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def iface(**patch: Any) -> dict[str, Any]:
    return {"interfaces": [{**BODIES["telemetry"]["interfaces"][0], **patch}]}


# (kind, patch accepted at the limit, patch rejected just past it, reason, field named in the message)
LIMITS = [
    ("birth", {"session": 2**31 - 1}, {"session": 2**31}, "out_of_range", "body.session"),
    ("birth", {"session": 0}, {"session": -1}, "out_of_range", "body.session"),
    (
        "birth",
        {"config_version": 2**31 - 1},
        {"config_version": 2**31},
        "out_of_range",
        "body.config_version",
    ),
    ("death", {"session": 2**31 - 1}, {"session": 2**31}, "out_of_range", "body.session"),
    ("birth", {"agent_version": "v" * 64}, {"agent_version": "v" * 65}, "too_long", "body.agent_version"),
    ("birth", {"boot_id": "b" * 64}, {"boot_id": "b" * 65}, "too_long", "body.boot_id"),
    ("birth", {"capabilities": ["c"] * 64}, {"capabilities": ["c"] * 65}, "too_many_items", "capabilities"),
    ("birth", {"capabilities": ["c" * 64]}, {"capabilities": ["c" * 65]}, "too_long", "capabilities[0]"),
    ("birth", {"hardware": nest(3)}, {"hardware": nest(4)}, "too_deep", "body.hardware"),
    (
        "birth",
        {"hardware": {str(i): i for i in range(64)}},
        {"hardware": {str(i): i for i in range(65)}},
        "too_many_items",
        "body.hardware",
    ),  # fmt: skip
    ("birth", {"hardware": {"m": "x" * 256}}, {"hardware": {"m": "x" * 257}}, "too_long", "body.hardware.m"),
    ("birth", {"hardware": {"n": 2**63 - 1}}, {"hardware": {"n": 2**63}}, "out_of_range", "body.hardware.n"),
    ("birth", {"hardware": {"n": -(2**63)}}, {"hardware": {"n": -(2**63) - 1}}, "out_of_range", "hardware.n"),
    ("birth", {"hardware": {"k" * 128: 1}}, {"hardware": {"k" * 129: 1}}, "too_long", "body.hardware key"),
    ("telemetry", {"seq": 2**53 - 1}, {"seq": 2**53}, "out_of_range", "body.seq"),
    ("telemetry", {"mem_total": 2**53 - 1}, {"mem_total": 2**53}, "out_of_range", "body.mem_total"),
    ("telemetry", {"disk_used": 0}, {"disk_used": -1}, "out_of_range", "body.disk_used"),
    (
        "telemetry",
        {"queue_dropped": 2**53 - 1},
        {"queue_dropped": 2**53},
        "out_of_range",
        "body.queue_dropped",
    ),
    ("telemetry", {"cpu_pct": 100.0}, {"cpu_pct": 100.1}, "out_of_range", "body.cpu_pct"),
    ("telemetry", {"interval_s": 86400.0}, {"interval_s": 86400.5}, "out_of_range", "body.interval_s"),
    ("telemetry", {"load1": 1e6}, {"load1": 1.1e6}, "out_of_range", "body.load1"),
    ("telemetry", {"uptime_s": 3.2e9}, {"uptime_s": 3.3e9}, "out_of_range", "body.uptime_s"),
    ("telemetry", {"temp_c": -100.0}, {"temp_c": -100.5}, "out_of_range", "body.temp_c"),
    ("telemetry", {"temp_c": 200.0}, {"temp_c": 200.5}, "out_of_range", "body.temp_c"),
    ("telemetry", {"temp_c": 1}, {"temp_c": 10**400}, "out_of_range", "body.temp_c"),
    ("telemetry", iface(rx_bytes=2**53 - 1), iface(rx_bytes=2**53), "out_of_range", "interfaces[0].rx_bytes"),
    ("telemetry", iface(tx_bps=1e12), iface(tx_bps=2e12), "out_of_range", "interfaces[0].tx_bps"),
    ("telemetry", iface(name="n" * 32), iface(name="n" * 33), "too_long", "interfaces[0].name"),
    (
        "telemetry",
        {"interfaces": [iface()["interfaces"][0]] * 32},
        {"interfaces": [{}] * 33},
        "too_many_items",
        "body.interfaces",
    ),  # fmt: skip
    ("event", {"name": "n" * 64}, {"name": "n" * 65}, "too_long", "body.name"),
    ("event", {"detail": nest(4)}, {"detail": nest(5)}, "too_deep", "body.detail"),
    (
        "event",
        {"detail": {"l": list(range(1024))}},
        {"detail": {"l": list(range(1025))}},
        "too_many_items",
        "body.detail.l",
    ),  # fmt: skip
    ("event", {"detail": {"s": "x" * 4096}}, {"detail": {"s": "x" * 4097}}, "too_long", "body.detail.s"),
    ("command", {"args": nest(6)}, {"args": nest(7)}, "too_deep", "body.args"),
    (
        "command",
        {"expires_at": 253402300799999},
        {"expires_at": 253402300800000},
        "out_of_range",
        "expires_at",
    ),
    ("command", {"timeout_s": 86400}, {"timeout_s": 86401}, "out_of_range", "body.timeout_s"),
    ("result", {"output": nest(10)}, {"output": nest(11)}, "too_deep", "body.output"),
    ("result", {"output": {"s": "x" * 8192}}, {"output": {"s": "x" * 8193}}, "too_long", "body.output.s"),
    ("result", {"command_id": "c" * 64}, {"command_id": "c" * 65}, "too_long", "body.command_id"),
    ("result", {"error": "e" * 2048}, {"error": "e" * 2049}, "too_long", "body.error"),
    ("config_desired", {"config": nest(8)}, {"config": nest(9)}, "too_deep", "body.config"),
    ("config_desired", {"version": 2**31 - 1}, {"version": 2**31}, "out_of_range", "body.version"),
    ("config_reported", {"version": 2**31 - 1}, {"version": 2**31}, "out_of_range", "body.version"),
    ("config_reported", {"error": "e" * 2048}, {"error": "e" * 2049}, "too_long", "body.error"),
]


@pytest.mark.parametrize(("kind", "ok", "bad", "reason", "field"), LIMITS, ids=lambda v: str(v)[:40])
def test_bound_holds_at_the_limit_and_rejects_past_it(
    kind: str, ok: dict[str, Any], bad: dict[str, Any], reason: str, field: str
) -> None:
    decode(kind, payload(kind, ok))
    with pytest.raises(sp.ProtocolError, match=re.escape(field)) as caught:
        decode(kind, payload(kind, bad))
    assert caught.value.reason == reason


# Strings: (kind, patch, reason) — surrogates and control characters wherever they hide.
STRINGS = [
    ("event", {"name": "\ud800"}, "bad_unicode"),
    ("event", {"name": "a\udfffb"}, "bad_unicode"),
    ("event", {"detail": {"k": ["ok", "\udbff"]}}, "bad_unicode"),
    ("event", {"detail": {"\ud800": 1}}, "bad_unicode"),
    ("birth", {"hardware": {"model": "\ud83d"}}, "bad_unicode"),
    ("birth", {"capabilities": ["ping", "\udc00"]}, "bad_unicode"),
    ("result", {"error": "\ud800"}, "bad_unicode"),
    ("event", {"name": "disk\nlow"}, "control_char"),
    ("event", {"name": "disk\x00"}, "control_char"),
    ("event", {"name": "\x1b[31m"}, "control_char"),
    ("event", {"name": "a\u0085b"}, "control_char"),
    ("telemetry", iface(name="eth\r0"), "control_char"),
    ("event", {"detail": {"path": "/data\x00"}}, "control_char"),
    ("event", {"detail": {"a\nb": 1}}, "control_char"),
    ("birth", {"hardware": {"model": "\x7f"}}, "control_char"),
    ("result", {"error": "bell\x07"}, "control_char"),
    ("event", {"name": "disk low"}, "malformed"),
    ("event", {"name": "a\u202eb"}, "malformed"),
    ("event", {"name": "zero\u200bwidth"}, "malformed"),
    ("event", {"name": ""}, "malformed"),
    ("birth", {"agent_version": "0.1.0\u00a0"}, "malformed"),
    ("result", {"command_id": "c 1"}, "malformed"),
]


@pytest.mark.parametrize(("kind", "patch", "reason"), STRINGS, ids=lambda v: ascii(v)[:40])
def test_bad_strings_are_rejected_by_reason(kind: str, patch: dict[str, Any], reason: str) -> None:
    with pytest.raises(sp.ProtocolError) as caught:
        decode(kind, payload(kind, patch))
    assert caught.value.reason == reason
    message = str(caught.value)
    message.encode("utf-8")  # safe to log: the hostile character is named, never copied
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u202e]", message)


def test_free_text_keeps_tabs_newlines_and_every_script() -> None:
    text = "line 1\n\tline 2\r\n站点 😀 \u202e"
    env = decode("result", payload("result", {"error": text, "output": {"log": text, "站": "点"}}))
    assert isinstance(env.body, sp.Result)
    assert env.body.error == text
    assert env.body.output == {"log": text, "站": "点"}
    pair = decode("event", payload("event", {"name": "\U0001f600", "detail": {"e": "\U0001f600"}}))
    assert isinstance(pair.body, sp.Event)
    assert pair.body.name == "\U0001f600"  # a proper surrogate pair escape is one real character


def test_non_finite_numbers_are_out_of_range_anywhere() -> None:
    for patch in ({"cpu_pct": float("nan")}, {"load1": float("inf")}):
        with pytest.raises(sp.OutOfRange, match="finite"):
            decode("telemetry", payload("telemetry", patch))
    with pytest.raises(sp.OutOfRange, match=re.escape("body.output.x[1]")):
        decode("result", payload("result", {"output": {"x": [1, float("-inf")]}}))


def test_ignored_fields_are_bounded_too() -> None:
    """Receivers ignore unknown fields, but the document as a whole keeps depth, size and Unicode bounds."""
    with pytest.raises(sp.TooDeep, match="envelope.body.future"):
        decode("death", payload("death", {"future": nest(15)}))
    decode("death", payload("death", {"future": nest(14)}))
    with pytest.raises(sp.TooManyItems, match="envelope.extra"):
        decode("death", payload("death", extra=list(range(4097))))
    with pytest.raises(sp.BadUnicode, match="envelope.extra"):
        decode("death", payload("death", extra="\ud800"))
    with pytest.raises(sp.OutOfRange, match="envelope.extra"):
        decode("death", payload("death", extra=10**20))


def test_nesting_beyond_what_json_can_parse_is_too_deep() -> None:
    data = payload("event").replace(b'"detail": {}', b'"detail": ' + nested_json(20_000).encode())
    with pytest.raises(sp.TooDeep):
        decode("event", data)


def test_envelope_fields() -> None:
    with pytest.raises(sp.UnsupportedVersion):
        decode("death", payload("death", v=True))
    with pytest.raises(sp.OutOfRange, match="envelope.ts"):
        decode("death", payload("death", ts=-1))
    with pytest.raises(sp.OutOfRange, match="envelope.ts"):
        decode("death", payload("death", ts=253402300800000), now_ms=None)
    with pytest.raises(sp.TooLong, match="envelope.id"):
        decode("death", payload("death", id="i" * 65))
    with pytest.raises(sp.MalformedMessage, match="envelope.id"):
        decode("death", payload("death", id=""))
    with pytest.raises(sp.MalformedMessage, match="not UTF-8"):
        decode("death", b"\xed\xa0\x80")  # a surrogate encoded in UTF-8 is not UTF-8


# -- the receive-time window -------------------------------------------------------------------------

PAST, FUTURE = 364 * DAY_MS, DAY_MS


@pytest.mark.parametrize("ts", [NOW_MS - PAST, NOW_MS, NOW_MS + FUTURE])
def test_telemetry_inside_the_window_keeps_its_time(ts: int) -> None:
    env = decode("telemetry", payload("telemetry", ts=ts))
    assert (env.ts, env.ts_clamped_from) == (ts, None)


@pytest.mark.parametrize("ts", [0, 1000, NOW_MS - PAST - 1, NOW_MS + FUTURE + 1, 4102444800000])
def test_telemetry_outside_the_window_is_rejected(ts: int) -> None:
    with pytest.raises(sp.TimestampOutOfWindow, match=r"envelope\.ts") as caught:
        decode("telemetry", payload("telemetry", ts=ts))
    assert caught.value.reason == "ts_out_of_window"


@pytest.mark.parametrize("kind", ["birth", "death", "event", "result", "config_reported"])
@pytest.mark.parametrize("ts", [1000, NOW_MS + FUTURE + 1, 253402300799999])
def test_other_kinds_outside_the_window_are_clamped_to_the_receive_time(kind: str, ts: int) -> None:
    """A box without RTC says 1970 until NTP: its birth still marks it online, its events still count."""
    env = decode(kind, payload(kind, ts=ts))
    assert (env.ts, env.ts_clamped_from) == (NOW_MS, ts)
    assert json.loads(sp.encode(env))["ts"] == NOW_MS  # the clamped time is what goes on


def test_without_a_receive_time_only_the_absolute_range_applies() -> None:
    """Agents decode the controller's messages without judging their time by their own clock."""
    env = decode("telemetry", payload("telemetry", ts=1000), now_ms=None)
    assert env.ts == 1000
    window = sp.TimeWindow(past_ms=1000, future_ms=0)
    with pytest.raises(sp.TimestampOutOfWindow):
        sp.decode_from(
            f"st/v1/{DEV}/telemetry", payload("telemetry", ts=NOW_MS + 1), now_ms=NOW_MS, window=window
        )


def test_spoofing_is_reported_before_the_window() -> None:
    with pytest.raises(sp.SpoofedMessage):
        sp.decode_from(f"st/v1/{DEV}/event", payload("telemetry", ts=1), now_ms=NOW_MS)


def test_every_reason_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    for reason in sp.REASONS:
        assert f"`{reason}`" in doc, reason
