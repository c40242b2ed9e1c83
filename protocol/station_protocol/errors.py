"""Protocol errors: every decode failure names what was wrong and where.

ProtocolError
 ├── PayloadTooLarge     payload exceeds MAX_PAYLOAD_BYTES (permanent: sender must split or trim)
 ├── MalformedMessage    not JSON / not an object / a field missing or of the wrong type
 ├── UnsupportedVersion  envelope ``v`` this code does not speak (sender must downgrade or we upgrade)
 ├── UnknownKind         envelope ``kind`` not in Kind
 ├── TopicError          topic is not ``st/v1/{device_id}/{channel}`` or names an unknown channel
 └── SpoofedMessage      envelope ``dev`` differs from the topic's device, or kind not allowed on channel
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base of all wire-format errors; ``reason`` is a short machine-readable tag."""

    reason = "protocol_error"


class PayloadTooLarge(ProtocolError):
    reason = "too_large"


class MalformedMessage(ProtocolError):
    reason = "malformed"


class UnsupportedVersion(ProtocolError):
    reason = "wrong_version"


class UnknownKind(ProtocolError):
    reason = "unknown_kind"


class TopicError(ProtocolError):
    reason = "bad_topic"


class SpoofedMessage(ProtocolError):
    reason = "spoofed"
