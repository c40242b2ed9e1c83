"""Hostile payloads through the real ingest Pipeline (fakes only behind its sink Protocols).

Properties: handling never raises; every message is routed or counted once (rejected by a registered
reason, duplicate, ignored); every line handed to the point sink is valid line protocol that parses,
re-serialises to the same bytes and carries the decoded values; presence rows stay storable.
"""

from __future__ import annotations

import json
import math
import queue
import re
from datetime import datetime
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

import station_protocol as sp
from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.labels import (
    CONTROLLER_EVENTS,
    MAX_IFACES_PER_DEVICE,
    OTHER,
    registered_events,
)
from station_controller.ingest.pipeline import Pipeline
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import REJECT_REASONS, IngestStats
from tests.fakes.ingest import FakeDirectory, FakePoints, FakeResults
from tests.protocol import strategies as s

ROLES = {"stb-a1b2c3d4": "stb", "rtr-00ff0001": "router"}
DEVICES = st.sampled_from([*ROLES, "stb-unknown01"])
RECEIVED_AT = s.NOW_MS / 1000
INT32_MAX = 2**31 - 1


class Rig:
    def __init__(self) -> None:
        self.known = KnownDevices(FakeDirectory(dict(ROLES)))
        self.known.refresh()
        self.stats = IngestStats()
        self.presence = PresenceStore(stats=self.stats, offline_after_s=60)
        self.points = FakePoints()
        self.pipeline = Pipeline(
            inbox=queue.Queue(),
            known=self.known,
            presence=self.presence,
            points=self.points,
            results=FakeResults(),
            stats=self.stats,
            dedup_window=1000,
        )

    def counts(self) -> dict[str, int]:
        rejected = self.stats.labeled_copy()["messages_rejected"]
        flat = {f"rejected:{reason}": n for reason, n in rejected.items()}
        for name in ("messages_duplicate", "messages_ignored", "internal_errors", "timestamps_clamped"):
            flat[name] = self.stats.value(name)
        return flat


# -- line protocol, read strictly (InfluxDB spec; VictoriaMetrics unescapes `\x` to `x`) --------------


def _split(text: str, sep: str) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(text):
        if text[i] == "\\":
            assert i + 1 < len(text), f"dangling escape in {text!r}"
            current += text[i : i + 2]
            i += 2
            continue
        if text[i] == sep:
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    parts.append(current)
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _escape(text: str) -> str:
    return re.sub(r"([\\, =])", r"\\\1", text)


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, int | float], int]:
    """Measurement, tags, fields, timestamp; asserts the line is valid and re-serialises identically."""
    assert "\n" not in line
    assert "\r" not in line
    assert line.encode("utf-8")  # strict: a surrogate cannot be written
    head, field_part, ts_part = _split(line, " ")
    measurement, *tag_parts = _split(head, ",")
    tags = {}
    for part in tag_parts:
        key, value = _split(part, "=")
        assert key
        assert value, f"empty tag value in {line!r}"
        tags[_unescape(key)] = _unescape(value)
    fields: dict[str, int | float] = {}
    for part in _split(field_part, ","):
        key, raw = _split(part, "=")
        if re.fullmatch(r"-?\d+i", raw):
            fields[_unescape(key)] = int(raw[:-1])
            assert -(2**63) <= fields[_unescape(key)] < 2**63
        else:
            number = float(raw)
            assert math.isfinite(number), line
            fields[_unescape(key)] = number
    assert re.fullmatch(r"\d{1,19}", ts_part), line
    again = ",".join([_escape(measurement), *(f"{_escape(k)}={_escape(v)}" for k, v in tags.items())])
    fields_again = ",".join(
        f"{_escape(k)}={v}i" if isinstance(v, int) else f"{_escape(k)}={v!r}" for k, v in fields.items()
    )
    assert f"{again} {fields_again} {ts_part}" == line, "does not round-trip"
    return _unescape(measurement), tags, fields, int(ts_part)


KNOWN_EVENTS = registered_events() | CONTROLLER_EVENTS


def expected_lines(
    env: sp.Envelope, role: str, ifaces: set[str]
) -> list[tuple[str, dict[str, str], dict[str, Any], int]]:
    """The points of ``env``; ``ifaces``: the interface names its device used so far (updated)."""
    base = {"device": env.dev, "role": role}
    body = env.body
    if isinstance(body, sp.Event):
        name = body.name if body.name in KNOWN_EVENTS else OTHER  # labels.py: bounded series
        return [("event", {**base, "name": name, "severity": body.severity}, {"count": 1}, env.ts)]
    assert isinstance(body, sp.Telemetry)
    names = ("seq", "mem_used", "mem_total", "disk_used", "disk_total", "queue_depth", "queue_dropped")
    fields: dict[str, Any] = {name: getattr(body, name) for name in names}
    fields.update(cpu_pct=body.cpu_pct, load1=body.load1, uptime_s=body.uptime_s)
    if body.temp_c is not None:
        fields["temp_c"] = body.temp_c
    out = [("telemetry", base, fields, env.ts)]
    for i in body.interfaces:
        counters = {"rx_bps": i.rx_bps, "tx_bps": i.tx_bps, "rx_bytes": i.rx_bytes, "tx_bytes": i.tx_bytes}
        if i.name not in ifaces and len(ifaces) < MAX_IFACES_PER_DEVICE:
            ifaces.add(i.name)
        out.append(("iface", {**base, "iface": i.name if i.name in ifaces else OTHER}, counters, env.ts))
    return out


# -- what arrives from the broker ---------------------------------------------------------------------

HOSTILE_TOPICS = [
    "st/v1/STB A/telemetry",
    "st/v1/stb-a1b2c3d4/telemetry/extra",
    "st/v1/stb-a1b2c3d4",
    "st/v1/+/event",
    "st/v2/stb-a1b2c3d4/event",
    "st/v1/stb-a1b2c3d4\n/event",
    "st/v1/\ud800/event",
    "",
]


@st.composite
def uplink(draw: st.DrawFn) -> tuple[str, bytes]:
    source = draw(st.sampled_from(["valid", "valid", "mutated", "spliced", "bytes", "json", "topic"]))
    if source == "valid":
        env = draw(s.envelopes(devices=DEVICES))
        return sp.topic(env.dev, sp.CHANNEL_OF_KIND[env.kind]), sp.encode(env)
    if source == "mutated":
        return draw(s.mutated(devices=DEVICES))
    if source == "spliced":
        return draw(s.spliced(devices=DEVICES))
    topic = draw(st.sampled_from([sp.topic(d, c) for d in ROLES for c in sp.Channel]))
    if source == "bytes":
        return topic, draw(st.binary(max_size=512))
    if source == "json":
        return topic, s.dumps(draw(s.hostile_json(depth=3)))
    env = draw(s.envelopes(devices=DEVICES))
    return draw(st.sampled_from(HOSTILE_TOPICS)), sp.encode(env)


def expected_outcome(topic: str, payload: bytes, routed: set[tuple[str, str]]) -> tuple[str, Any]:
    """What the pipeline must do with one message, from the protocol alone."""
    if topic.endswith(("/cmd", "/config/desired")):
        return "messages_ignored", None
    try:
        _parsed, env = sp.decode_from(topic, payload, now_ms=int(RECEIVED_AT * 1000))
    except sp.ProtocolError as exc:
        return f"rejected:{exc.reason}", None
    if env.dev not in ROLES:
        return "rejected:unknown_device", None
    if (env.dev, env.id) in routed:
        return "messages_duplicate", None
    routed.add((env.dev, env.id))
    return "routed", env


@s.FUZZ
@given(batch=st.lists(uplink(), min_size=1, max_size=8), repeat=st.booleans())
def test_hostile_uplinks_never_break_the_pipeline(batch: list[tuple[str, bytes]], repeat: bool) -> None:
    rig = Rig()
    routed: set[tuple[str, str]] = set()
    ifaces: dict[str, set[str]] = {}
    messages = batch + batch[:1] if repeat else batch  # a redelivered copy must collapse
    for topic, payload in messages:
        before, lines_before = rig.counts(), len(rig.points.lines)
        outcome, env = expected_outcome(topic, payload, routed)
        event(outcome if env is None else f"routed:{env.kind.value}")
        rig.pipeline.handle(topic, payload, RECEIVED_AT)  # must not raise
        after = rig.counts()
        changed = {
            k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
        }
        clamped = changed.pop("timestamps_clamped", 0)
        if outcome == "routed":
            assert changed == {}, (topic, payload[:200])
            assert clamped == (env.ts_clamped_from is not None)
            new_lines = rig.points.lines[lines_before:]
            if isinstance(env.body, (sp.Telemetry, sp.Event)):
                assert [parse_line(line) for line in new_lines] == expected_lines(
                    env, ROLES[env.dev], ifaces.setdefault(env.dev, set())
                )
            else:
                assert new_lines == []
        else:
            assert changed == {outcome: 1}, (topic, payload[:200])
            assert len(rig.points.lines) == lines_before
    rig.pipeline.flush_results()
    assert rig.stats.value("internal_errors") == 0
    assert set(rig.stats.labeled_copy()["messages_rejected"]) <= set(REJECT_REASONS)
    for row in rig.presence.take_dirty():
        assert_storable(row)


def assert_storable(row: dict[str, Any]) -> None:
    """A presence row the registry can write: strict JSON in strict UTF-8, 32-bit ints, aware datetimes."""

    def default(value: Any) -> str:
        assert isinstance(value, datetime)
        assert value.tzinfo is not None
        return value.isoformat()

    json.dumps(row, ensure_ascii=False, allow_nan=False, default=default).encode("utf-8")
    for column in ("session", "reported_config_version"):
        if row.get(column) is not None:
            assert 0 <= row[column] <= INT32_MAX, (column, row[column])


def test_every_decode_reason_has_a_registered_counter() -> None:
    assert set(sp.REASONS) <= set(REJECT_REASONS)


def test_the_line_reader_catches_a_broken_line() -> None:
    """The reader above must be able to fail, or the property proves nothing."""
    for bad in ["telemetry,device=a\nb x=1i 1", "event,name= count=1i 1", "t x=nan 1", "t,a=b\\ x=1i 1 2"]:
        try:
            parse_line(bad)
        except (AssertionError, ValueError):
            continue
        raise AssertionError(f"accepted {bad!r}")
