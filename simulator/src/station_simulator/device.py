"""One simulated device speaking protocol v1: birth/will with a session counter, telemetry, answers."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import deque

from station_protocol import (
    Birth,
    Channel,
    Command,
    ConfigDesired,
    ConfigReported,
    Death,
    ProtocolError,
    Result,
    decode_from,
    encode,
    make,
    now_ms,
    topic,
)
from station_protocol.enrollment import EnrollResponse
from station_protocol.messages import Body

from .telemetry import TelemetryModel

log = logging.getLogger(__name__)

CAPABILITIES = ("ping", "config")
BACKLOG_SAMPLES = 120  # like the agent's outbox: samples taken while offline are sent after reconnecting

Outgoing = tuple[str, bytes]


class SimDevice:
    """Protocol state of one device; the worker owns its session and timing."""

    def __init__(
        self, key: int, creds: EnrollResponse, *, agent_version: str, interval_s: float, seed: int
    ) -> None:
        self.key = key
        self.creds = creds
        self.device_id = creds.device_id
        self.session = 0
        self.boot_id = uuid.uuid4().hex
        self._agent_version = agent_version
        self.model = TelemetryModel(
            role=creds.role, rng=random.Random(seed), interval_s=interval_s, boot_at=time.time()
        )
        self.backlog: deque[bytes] = deque(maxlen=BACKLOG_SAMPLES)
        self.telemetry_mids: set[int] = set()
        self.connected = False
        self.awaiting_connack = False
        self.dropping = False
        self._config_version = 0
        self._last_ts = 0

    def subscriptions(self) -> tuple[str, ...]:
        return (topic(self.device_id, Channel.CMD), topic(self.device_id, Channel.CONFIG_DESIRED))

    def next_will(self) -> Outgoing:
        """Advance the session counter and return the last will (Death) for the coming session."""
        self.session += 1
        return self._state(Death(session=self.session, graceful=False))

    def birth(self) -> Outgoing:
        body = Birth(
            agent_version=self._agent_version,
            role=self.creds.role,
            boot_id=self.boot_id,
            session=self.session,
            capabilities=CAPABILITIES,
            hardware={"model": f"sim-{self.creds.role}", "simulated": True},
            config_version=self._config_version,
        )
        return self._state(body)

    def graceful_death(self) -> Outgoing:
        return self._state(Death(session=self.session, graceful=True))

    def telemetry(self, now: float) -> bytes:
        """Take the next sample (encoded); sample times are strictly increasing per device."""
        # The TSDB dedups points of one series by timestamp, so a burst must not reuse a millisecond.
        self._last_ts = max(int(now * 1000), self._last_ts + 1)
        return encode(make(self.device_id, self.model.sample(now), ts=self._last_ts))

    def telemetry_topic(self) -> str:
        return topic(self.device_id, Channel.TELEMETRY)

    def answer(self, msg_topic: str, payload: bytes) -> Outgoing | None:
        """The reply to a downlink message, or None when there is nothing to say."""
        try:
            _parsed, env = decode_from(msg_topic, payload)
        except ProtocolError as exc:
            log.warning("%s: ignoring undecodable downlink on %s: %s", self.device_id, msg_topic, exc)
            return None
        if isinstance(env.body, Command):
            return self._reply(self._run(env.id, env.body), Channel.RESULT)
        if isinstance(env.body, ConfigDesired) and env.body.version > self._config_version:
            self._config_version = env.body.version
            return self._reply(
                ConfigReported(version=env.body.version, status="applied"), Channel.CONFIG_REPORTED
            )
        return None

    def _run(self, command_id: str, command: Command) -> Result:
        if command.expires_at < now_ms():
            return Result(command_id=command_id, status="expired", error="command arrived after its expiry")
        if command.name == "ping":
            return Result(command_id=command_id, status="ok", output={"pong": True, "simulated": True})
        return Result(
            command_id=command_id,
            status="rejected",
            error=f"the simulator answers only {list(CAPABILITIES)}; run a real agent for {command.name!r}",
        )

    def _reply(self, body: Body, channel: Channel) -> Outgoing:
        return topic(self.device_id, channel), encode(make(self.device_id, body))

    def _state(self, body: Body) -> Outgoing:
        return topic(self.device_id, Channel.STATE), encode(make(self.device_id, body))
