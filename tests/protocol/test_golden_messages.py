"""Every golden message decodes on its topic and re-encodes to the same JSON; invalid ones fail precisely."""

from __future__ import annotations

import json

import pytest

import station_protocol as sp
from fixtures.golden import Golden, invalid_messages, valid_messages

from .strategies import NOW_MS  # the receive time golden messages are decoded at


@pytest.mark.parametrize("golden", valid_messages(), ids=lambda g: g.name)
def test_valid_golden_round_trips(golden: Golden) -> None:
    parsed, env = sp.decode_from(golden.topic, golden.payload, now_ms=NOW_MS)
    assert env.ts_clamped_from is None
    assert parsed.device_id == env.dev
    assert sp.CHANNEL_OF_KIND[env.kind] == parsed.channel
    assert json.loads(sp.encode(env)) == golden.message


@pytest.mark.parametrize("golden", invalid_messages(), ids=lambda g: g.name)
def test_invalid_golden_fails_with_reason(golden: Golden) -> None:
    with pytest.raises(sp.ProtocolError) as caught:
        sp.decode_from(golden.topic, golden.payload, now_ms=NOW_MS)
    assert caught.value.reason == golden.reason
    assert str(caught.value)  # the message says what was wrong
    assert len(str(caught.value)) < 400  # and stays one readable log line, whatever the payload


def test_every_reason_has_an_invalid_golden_message() -> None:
    reasons = {g.reason for g in invalid_messages()}
    assert reasons == set(sp.REASONS)


def test_every_kind_has_a_golden_message() -> None:
    kinds = {g.message["kind"] for g in valid_messages() if g.message}
    assert kinds == {k.value for k in sp.Kind}
