"""Topic builders and parsers for ``st/v1/{device_id}/{channel}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import TopicError

ROOT = "st/v1"
# Device ids double as MQTT usernames and topic levels: no wildcards, no slashes, bounded length.
DEVICE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
RESERVED_IDS = frozenset({"controller", "admin", "sim", "all"})


class Channel(str, Enum):
    """Last topic level(s); the first five are device → controller, the last two the reverse."""

    STATE = "state"
    TELEMETRY = "telemetry"
    EVENT = "event"
    RESULT = "result"
    CONFIG_REPORTED = "config/reported"
    CMD = "cmd"
    CONFIG_DESIRED = "config/desired"


UPLINK = frozenset({Channel.STATE, Channel.TELEMETRY, Channel.EVENT, Channel.RESULT, Channel.CONFIG_REPORTED})
DOWNLINK = frozenset({Channel.CMD, Channel.CONFIG_DESIRED})
_BY_VALUE = {c.value: c for c in Channel}


@dataclass(frozen=True)
class ParsedTopic:
    device_id: str
    channel: Channel


def is_valid_device_id(device_id: str) -> bool:
    """True when ``device_id`` may be used as a topic level and broker username."""
    return bool(DEVICE_ID_PATTERN.match(device_id)) and device_id not in RESERVED_IDS


def topic(device_id: str, channel: Channel) -> str:
    """Build the topic for one device channel.

    Raises:
        TopicError: the device id is not valid.
    """
    if not is_valid_device_id(device_id):
        raise TopicError(f"invalid device id {device_id!r}: use 3-64 of [a-z0-9-], not reserved")
    return f"{ROOT}/{device_id}/{channel.value}"


def parse_topic(value: str) -> ParsedTopic:
    """Split a topic into device id and channel.

    Raises:
        TopicError: the topic is outside ``st/v1`` or the channel is unknown.
    """
    prefix = ROOT + "/"
    if not value.startswith(prefix):
        raise TopicError(f"topic {value!r} is not under {ROOT}/")
    device_id, sep, rest = value[len(prefix) :].partition("/")
    if not sep or not is_valid_device_id(device_id):
        raise TopicError(f"topic {value!r} has no valid device id")
    channel = _BY_VALUE.get(rest)
    if channel is None:
        raise TopicError(f"topic {value!r} has unknown channel {rest!r}")
    return ParsedTopic(device_id=device_id, channel=channel)


def uplink_filter(share_group: str | None = None) -> str:
    """Subscription filter for everything devices publish (optionally as a shared subscription)."""
    base = f"{ROOT}/+/#"
    return f"$share/{share_group}/{base}" if share_group else base
