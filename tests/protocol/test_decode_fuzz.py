"""Property tests of decode_from: anything either decodes within every bound or fails with a known reason.

(a) arbitrary bytes, arbitrary JSON, and valid envelopes with one field swapped for a hostile value;
(b) valid envelopes of every kind round-trip encode → decode unchanged.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

import station_protocol as sp

from . import strategies as s
from .bounds_check import assert_within_bounds

TOPICS = [sp.topic(s.DEVICE, channel) for channel in sp.Channel]


def decode_or_reason(topic: str, payload: bytes, now_ms: int | None = s.NOW_MS) -> sp.Envelope | None:
    """The property itself: a decoded envelope keeps every bound, or a ProtocolError names a known reason."""
    error: sp.ProtocolError | None = None
    try:
        _parsed, env = sp.decode_from(topic, payload, now_ms=now_ms)
    except sp.ProtocolError as exc:  # any other exception type fails the test
        error = exc
    if error is not None:
        assert error.reason in sp.REASONS, error.reason
        assert str(error)
        assert error.retryable is False
        return None
    assert_within_bounds(env, now_ms)
    return env


@s.FUZZ
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=2048))
@example(topic=TOPICS[0], payload=b"\xed\xa0\x80")  # a UTF-8-encoded surrogate
@example(topic=TOPICS[0], payload=b'\xff\xfe{\x00"\x00')  # UTF-16 with BOM, which json.loads would take
@example(topic=TOPICS[0], payload=s.nested_json(100_000).encode())
@example(topic=TOPICS[0], payload=b"1" * 5000)
def test_any_bytes_decode_within_bounds_or_fail_with_a_reason(topic: str, payload: bytes) -> None:
    decode_or_reason(topic, payload)


@s.FUZZ
@given(topic=st.sampled_from(TOPICS), value=s.hostile_json())
def test_any_json_decodes_within_bounds_or_fails_with_a_reason(topic: str, value: Any) -> None:
    decode_or_reason(topic, s.dumps(value))


@s.FUZZ
@given(case=s.mutated())
def test_valid_messages_with_one_hostile_field_decode_within_bounds_or_fail(case: tuple[str, bytes]) -> None:
    decode_or_reason(*case)


@s.FUZZ
@given(case=s.spliced())
def test_hostile_json_tokens_spliced_into_valid_messages_fail_or_stay_in_bounds(
    case: tuple[str, bytes],
) -> None:
    decode_or_reason(*case)


@s.FUZZ
@given(env=s.envelopes())
def test_valid_messages_round_trip(env: sp.Envelope) -> None:
    payload = sp.encode(env)
    _parsed, decoded = sp.decode_from(
        sp.topic(env.dev, sp.CHANNEL_OF_KIND[env.kind]), payload, now_ms=s.NOW_MS
    )
    assert decoded == env
    assert decoded.ts_clamped_from is None
    assert sp.encode(decoded) == payload
    assert_within_bounds(decoded, s.NOW_MS)


@s.FUZZ
@given(env=s.envelopes(), now_ms=st.integers(0, 253_402_300_799_999))
def test_any_receive_time_rejects_or_clamps_but_never_lets_ts_out(env: sp.Envelope, now_ms: int) -> None:
    topic = sp.topic(env.dev, sp.CHANNEL_OF_KIND[env.kind])
    decoded = decode_or_reason(topic, sp.encode(env), now_ms=now_ms)
    inside = now_ms - s.PAST_MS <= env.ts <= now_ms + s.FUTURE_MS
    if inside:
        assert decoded == env
    elif env.kind is sp.Kind.TELEMETRY:
        assert decoded is None
    else:
        assert decoded is not None
        assert (decoded.ts, decoded.ts_clamped_from) == (now_ms, env.ts)
