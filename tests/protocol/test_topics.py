"""Topic builders and parsers."""

from __future__ import annotations

import pytest

import station_protocol as sp


def test_build_and_parse_every_channel() -> None:
    for channel in sp.Channel:
        built = sp.topic("rtr-00ff", channel)
        assert sp.parse_topic(built) == sp.ParsedTopic("rtr-00ff", channel)


@pytest.mark.parametrize(
    "bad",
    [
        "st/v2/rtr-00ff/state",
        "st/v1/rtr-00ff",
        "st/v1/rtr-00ff/unknown",
        "st/v1/+/state",
        "st/v1/RTR/state",
        "st/v1/controller/state",
        "st/v1/a/state",
    ],
)
def test_parse_rejects_foreign_topics(bad: str) -> None:
    with pytest.raises(sp.TopicError):
        sp.parse_topic(bad)


@pytest.mark.parametrize("bad", ["", "ab", "a/b", "a+b", "#", "controller", "x" * 65, "Upper-1"])
def test_invalid_device_ids_cannot_build_topics(bad: str) -> None:
    assert not sp.is_valid_device_id(bad)
    with pytest.raises(sp.TopicError):
        sp.topic(bad, sp.Channel.STATE)


def test_uplink_filter_shared_and_plain() -> None:
    assert sp.uplink_filter() == "st/v1/+/#"
    assert sp.uplink_filter("controller") == "$share/controller/st/v1/+/#"
