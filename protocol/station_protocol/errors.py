"""Protocol errors: every decode failure names what was wrong and where.

ProtocolError
 ├── PayloadTooLarge        payload exceeds MAX_PAYLOAD_BYTES (permanent: sender must split or trim)
 ├── MalformedMessage       not UTF-8 JSON / not an object / a field missing or of the wrong type
 │    ├── BadUnicode        a string holds a lone UTF-16 surrogate (e.g. from a ``"\\ud800"`` escape)
 │    ├── ControlCharacter  a control character where the field does not allow one
 │    ├── OutOfRange        a number outside int64, not finite, or outside the field's documented range
 │    ├── TooLong           a string longer than the field's limit
 │    ├── TooDeep           objects/lists nested deeper than the field's (or the document's) limit
 │    ├── TooManyItems      an object or list with more elements than its limit
 │    └── TimestampOutOfWindow  ``ts`` of a kind that is rejected (not clamped) outside the receive window
 ├── UnsupportedVersion     envelope ``v`` this code does not speak (sender must downgrade or we upgrade)
 ├── UnknownKind            envelope ``kind`` not in Kind
 ├── TopicError             topic is not ``st/v1/{device_id}/{channel}`` or names an unknown channel
 └── SpoofedMessage         envelope ``dev`` differs from the topic's device, or kind not allowed on channel

Every error is permanent for the message that caused it (``retryable = False``): sending the same bytes
again gets the same answer. The bound errors subclass MalformedMessage so older ``except`` clauses still
catch them; their ``reason`` is the precise tag receivers count.
"""

from __future__ import annotations

from typing import Tuple


class ProtocolError(ValueError):
    """Base of all wire-format errors; ``reason`` is a short machine-readable tag."""

    reason = "protocol_error"
    retryable = False


class PayloadTooLarge(ProtocolError):
    reason = "too_large"


class MalformedMessage(ProtocolError):
    reason = "malformed"


class BadUnicode(MalformedMessage):
    reason = "bad_unicode"


class ControlCharacter(MalformedMessage):
    reason = "control_char"


class OutOfRange(MalformedMessage):
    reason = "out_of_range"


class TooLong(MalformedMessage):
    reason = "too_long"


class TooDeep(MalformedMessage):
    reason = "too_deep"


class TooManyItems(MalformedMessage):
    reason = "too_many_items"


class TimestampOutOfWindow(MalformedMessage):
    reason = "ts_out_of_window"


class UnsupportedVersion(ProtocolError):
    reason = "wrong_version"


class UnknownKind(ProtocolError):
    reason = "unknown_kind"


class TopicError(ProtocolError):
    reason = "bad_topic"


class SpoofedMessage(ProtocolError):
    reason = "spoofed"


# Every reason a decode can report; receivers pre-register counters for each.
REASONS: Tuple[str, ...] = (
    PayloadTooLarge.reason,
    MalformedMessage.reason,
    BadUnicode.reason,
    ControlCharacter.reason,
    OutOfRange.reason,
    TooLong.reason,
    TooDeep.reason,
    TooManyItems.reason,
    TimestampOutOfWindow.reason,
    UnsupportedVersion.reason,
    UnknownKind.reason,
    TopicError.reason,
    SpoofedMessage.reason,
)
