"""The versioned envelope ``{v, kind, id, ts, dev, body}`` and strict encode/decode."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Tuple

from . import bounds as b
from . import fields as f
from .errors import (
    MalformedMessage,
    PayloadTooLarge,
    SpoofedMessage,
    TimestampOutOfWindow,
    TooDeep,
    UnknownKind,
    UnsupportedVersion,
)
from .messages import BODY_KEYS, BODY_TYPES, CHANNEL_OF_KIND, KIND_OF_TYPE, Body, Kind, body_to_dict
from .topics import ParsedTopic, is_valid_device_id, parse_topic

VERSION = 1
# 64 KiB is far above any v1 message (a telemetry sample with 32 interfaces is ~4 KiB) and keeps a
# hostile device from making the controller parse megabytes; the broker enforces the same limit.
MAX_PAYLOAD_BYTES = 65536
_KINDS = {k.value: k for k in Kind}
# Outside the receive window a sample is rejected: stored at a false time it would corrupt the series
# (and VictoriaMetrics drops it anyway); every other kind is clamped to the receive time and kept,
# because what it says (online, a result, a portal accounting event) is still true. docs/protocol.md.
REJECT_OUTSIDE_WINDOW = frozenset({Kind.TELEMETRY})
_ENVELOPE_KEYS = frozenset({"v", "kind", "id", "ts", "dev", "body"})


@dataclass(frozen=True)
class Envelope:
    kind: Kind
    id: str
    ts: int
    dev: str
    body: Body
    v: int = VERSION
    # Set by decode_from when ``ts`` lay outside the receive window and was replaced by the receive time:
    # the device's original value, for counting and logging. Never encoded.
    ts_clamped_from: Optional[int] = field(default=None, compare=False)


def new_id() -> str:
    """A fresh 128-bit message id (hex)."""
    return uuid.uuid4().hex


def now_ms() -> int:
    return int(time.time() * 1000)


def make(dev: str, body: Body, *, msg_id: Optional[str] = None, ts: Optional[int] = None) -> Envelope:
    """Wrap a body in an envelope, stamping id and time unless given."""
    return Envelope(
        kind=KIND_OF_TYPE[type(body)],
        id=msg_id or new_id(),
        ts=now_ms() if ts is None else ts,
        dev=dev,
        body=body,
    )


def to_dict(env: Envelope) -> dict[str, Any]:
    return {
        "v": env.v,
        "kind": env.kind.value,
        "id": env.id,
        "ts": env.ts,
        "dev": env.dev,
        "body": body_to_dict(env.body),
    }


def encode(env: Envelope) -> bytes:
    """Compact UTF-8 JSON.

    Raises:
        PayloadTooLarge: the encoded message exceeds MAX_PAYLOAD_BYTES.
    """
    data = json.dumps(to_dict(env), separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"{env.kind.value} message is {len(data)} bytes; limit {MAX_PAYLOAD_BYTES}")
    return data


def decode(payload: bytes) -> Envelope:
    """Parse and validate one payload.

    Raises:
        PayloadTooLarge, MalformedMessage, UnsupportedVersion, UnknownKind.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"payload is {len(payload)} bytes; limit {MAX_PAYLOAD_BYTES}")
    data = f.obj(_parse(_text(payload)), "envelope")
    version = data.get("v")
    if version != VERSION or isinstance(version, bool):
        raise UnsupportedVersion(f"envelope.v={_brief(version)}; this side speaks v{VERSION}")
    kind_name = f.text(data, "kind", "envelope", 32)
    kind = _KINDS.get(kind_name)
    if kind is None:
        raise UnknownKind(f"envelope.kind={kind_name!r} is not one of {sorted(_KINDS)}")
    b.check_ignored(data, _ENVELOPE_KEYS, "envelope", 1)
    dev = f.text(data, "dev", "envelope", 64)
    if not is_valid_device_id(dev):
        raise MalformedMessage(f"envelope.dev={dev!r} is not a valid device id")
    raw_body = f.obj(data.get("body"), "envelope.body")
    body = BODY_TYPES[kind].from_body(raw_body)
    b.check_ignored(raw_body, BODY_KEYS[kind], "envelope.body", 2)
    return Envelope(
        kind=kind,
        id=f.token(data, "id", "envelope", 64),
        ts=f.integer(data, "ts", "envelope", 0, b.MAX_TS_MS),
        dev=dev,
        body=body,
    )


def _text(payload: bytes) -> str:
    # Strict UTF-8 first: json.loads(bytes) would guess UTF-16/32 and let encoded surrogates through.
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"payload is not UTF-8 JSON: {exc.reason} at byte {exc.start}") from None


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeep(f"payload nests deeper than {b.MAX_DOCUMENT_DEPTH} levels") from None
    except ValueError as exc:
        raise MalformedMessage(f"payload is not UTF-8 JSON: {str(exc)[:200]}") from None


def _brief(value: Any) -> str:
    return repr(value) if isinstance(value, (int, float, str, type(None))) else type(value).__name__


def decode_from(
    topic: str,
    payload: bytes,
    *,
    now_ms: Optional[int] = None,
    window: b.TimeWindow = b.DEFAULT_WINDOW,
) -> Tuple[ParsedTopic, Envelope]:
    """Decode a payload received on ``topic`` and check it belongs there.

    ``now_ms`` is the receiver's clock at receipt. With it, ``ts`` must lie in ``window`` around it:
    telemetry outside is rejected, other kinds get ``ts = now_ms`` and ``ts_clamped_from`` set. Without
    it (a device, whose own clock may be wrong, decoding the controller's messages) only the absolute
    range of ``ts`` is checked.

    Raises:
        TopicError: the topic is not a protocol topic.
        SpoofedMessage: the envelope names another device, or its kind does not go on this channel.
        TimestampOutOfWindow: telemetry whose ``ts`` lies outside the window.
        plus everything ``decode`` raises.
    """
    parsed = parse_topic(topic)
    env = decode(payload)
    if env.dev != parsed.device_id:
        raise SpoofedMessage(f"topic device {parsed.device_id!r} but envelope.dev={env.dev!r}")
    if CHANNEL_OF_KIND[env.kind] != parsed.channel:
        raise SpoofedMessage(f"kind {env.kind.value!r} does not belong on channel {parsed.channel.value!r}")
    if now_ms is None or window.contains(env.ts, now_ms):
        return parsed, env
    if env.kind in REJECT_OUTSIDE_WINDOW:
        raise TimestampOutOfWindow(
            f"envelope.ts={env.ts} is {(env.ts - now_ms) / 1000:+.0f} s from the receive time; "
            f"{env.kind.value} must lie within -{window.past_ms // 1000} s .. +{window.future_ms // 1000} s"
        )
    return parsed, replace(env, ts=now_ms, ts_clamped_from=env.ts)
