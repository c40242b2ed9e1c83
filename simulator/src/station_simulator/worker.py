"""One event loop owning a slice of the simulated devices: connect pacing, telemetry phases, drops."""

from __future__ import annotations

import heapq
import logging
import queue
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from station_protocol.enrollment import EnrollResponse

from .config import SimulationConfig, WorkerStats
from .device import SimDevice
from .errors import PoolError
from .mqtt_pool import PoolEvent, SessionSpec

log = logging.getLogger(__name__)

CONNECT, TELEMETRY, DROP = "connect", "telemetry", "drop"
SERVICE_EVERY_S = 1.0
RETRY_AFTER_REFUSED_S = 30.0


class SessionPool(Protocol):
    """What the worker needs from the MQTT adapter (mqtt_pool.MqttPool; a fake in unit tests)."""

    def open(
        self, spec: SessionSpec, will_topic: str, will_payload: bytes, subscriptions: Sequence[str]
    ) -> None: ...
    def publish(
        self, key: int, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None: ...
    def drop(self, key: int) -> None: ...
    def close(self, key: int) -> None: ...
    def poll(self, timeout: float) -> list[PoolEvent]: ...
    def service(self) -> None: ...


class Worker:
    """Drive ``devices`` through ``pool`` until stopped, the duration ends, or all telemetry is sent."""

    def __init__(
        self, config: SimulationConfig, creds: Sequence[EnrollResponse], pool: SessionPool, seed: int
    ) -> None:
        self.config = config
        self.pool = pool
        self.rng = random.Random(seed)
        self.devices = [
            SimDevice(
                i,
                c,
                agent_version=config.agent_version,
                interval_s=config.interval_s,
                seed=seed * 100_003 + i,
            )
            for i, c in enumerate(creds)
        ]
        self._by_id = {d.device_id: d for d in self.devices}
        self.stats = WorkerStats(devices=len(self.devices))
        self._timers: list[tuple[float, int, int, str]] = []
        self._tiebreak = 0
        self._tokens = 1.0
        self._last_refill = time.monotonic()
        self._requests: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stopping = False
        for device in self.devices:
            self._at(0.0, device.key, CONNECT)

    # ---- public, thread-safe -------------------------------------------------------------
    def request_drop(self, device_id: str) -> None:
        """Ask the loop to cut ``device_id``'s connection abruptly (safe from another thread)."""
        self._requests.put(device_id)

    # ---- loop ------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool], report: Callable[[WorkerStats], None]) -> WorkerStats:
        started = time.monotonic()
        next_service = next_report = started
        while not should_stop() and not self._finished(started):
            now = time.monotonic()
            self._run_due(now)
            self._handle_requests()
            for event in self.pool.poll(self._wait(now)):
                self._handle(event)
            if now >= next_service:
                self.pool.service()
                next_service = now + SERVICE_EVERY_S
            if now >= next_report:
                report(replace(self.stats))
                next_report = now + self.config.report_interval_s
        self._shutdown()
        self.stats.done = True
        report(replace(self.stats))
        return self.stats

    def _finished(self, started: float) -> bool:
        cfg = self.config
        if cfg.duration_s is not None and time.monotonic() - started >= cfg.duration_s:
            return True
        if cfg.messages_per_device is None:
            return False
        return all(d.model.seq >= cfg.messages_per_device and not d.telemetry_mids for d in self.devices)

    def _wait(self, now: float) -> float:
        if not self._timers:
            return 0.2
        return max(0.0, min(0.2, self._timers[0][0] - now))

    def _at(self, delay: float, key: int, action: str) -> None:
        self._tiebreak += 1
        heapq.heappush(self._timers, (time.monotonic() + delay, self._tiebreak, key, action))

    def _run_due(self, now: float) -> None:
        self._refill(now)
        while self._timers and self._timers[0][0] <= now:
            _due, _t, key, action = self._timers[0]
            if action == CONNECT and self._tokens < 1.0:
                return  # paced: the rest waits for tokens (a bounded SYN rate)
            heapq.heappop(self._timers)
            device = self.devices[key]
            if action == CONNECT:
                self._tokens -= 1.0
                self._connect(device)
            elif action == TELEMETRY:
                self._telemetry(device)
            elif action == DROP and device.connected:
                self._drop(device)

    def _refill(self, now: float) -> None:
        rate = self.config.connect_rate_per_s
        self._tokens = min(max(1.0, rate / 10), self._tokens + (now - self._last_refill) * rate)
        self._last_refill = now

    def _handle_requests(self) -> None:
        while True:
            try:
                device_id = self._requests.get_nowait()
            except queue.Empty:
                return
            device = self._by_id.get(device_id)
            if device is not None and device.connected:
                self._drop(device)

    # ---- actions ---------------------------------------------------------------------------
    def _connect(self, device: SimDevice) -> None:
        device.awaiting_connack = True
        will_topic, will_payload = device.next_will()
        try:
            self.pool.open(self._spec(device), will_topic, will_payload, device.subscriptions())
        except PoolError as exc:
            device.awaiting_connack = False
            log.debug("%s: %s", device.device_id, exc)
            self.stats.connect_failures += 1
            self._at(self.rng.uniform(1.0, 5.0), device.key, CONNECT)

    def _spec(self, device: SimDevice) -> SessionSpec:
        c = device.creds
        return SessionSpec(
            key=device.key,
            client_id=c.device_id,
            username=c.mqtt_username,
            password=c.mqtt_password,
            host=self.config.mqtt_host or c.mqtt_host,
            port=self.config.mqtt_port or c.mqtt_port,
            keepalive_s=self.config.keepalive_s,
        )

    def _telemetry(self, device: SimDevice) -> None:
        limit = self.config.messages_per_device
        if limit is not None and device.model.seq >= limit:
            return
        device.backlog.append(device.telemetry(time.time()))
        self.stats.telemetry_queued += 1
        self._flush_backlog(device)
        if self.config.interval_s > 0:
            self._at(self.config.interval_s, device.key, TELEMETRY)
        elif limit is not None and device.model.seq < limit:
            self._telemetry(device)  # burst mode: the whole quota at once (paho paces by in-flight window)

    def _flush_backlog(self, device: SimDevice) -> None:
        while device.connected and device.backlog:
            mid = self.pool.publish(
                device.key, device.telemetry_topic(), device.backlog[0], qos=self.config.qos
            )
            if mid is None:
                return
            device.backlog.popleft()
            if self.config.qos > 0:
                device.telemetry_mids.add(mid)

    def _drop(self, device: SimDevice) -> None:
        device.dropping = True
        self.stats.drops_injected += 1
        self.pool.drop(device.key)

    # ---- events ----------------------------------------------------------------------------
    def _handle(self, event: PoolEvent) -> None:
        device = self.devices[event.key]
        if event.kind == "acked":
            self.stats.messages_acked += 1
            if event.mid in device.telemetry_mids:
                device.telemetry_mids.discard(event.mid)
                self.stats.telemetry_acked += 1
        elif event.kind == "message":
            self._answer(device, event)
        elif event.kind == "connected":
            self._on_connected(device)
        elif event.kind == "lost":
            self._on_lost(device, event.detail)
        elif event.kind == "refused":
            log.warning(
                "%s: broker refused the session (%s); retrying in %.0f s",
                device.device_id,
                event.detail,
                RETRY_AFTER_REFUSED_S,
            )
            device.awaiting_connack = False
            self.stats.connect_failures += 1
            self._at(RETRY_AFTER_REFUSED_S, device.key, CONNECT)

    def _on_connected(self, device: SimDevice) -> None:
        first = device.session == 1
        device.awaiting_connack = False
        device.connected = True
        self.stats.connects += 1
        self.stats.reconnects += 0 if first else 1
        self.stats.connected += 1
        self.stats.connected_max = max(self.stats.connected_max, self.stats.connected)
        state_topic, birth = device.birth()
        if self.pool.publish(device.key, state_topic, birth, qos=1, retain=True) is not None:
            self.stats.births += 1
        self._flush_backlog(device)
        if first:
            phase = self.rng.uniform(0.0, self.config.interval_s) if self.config.interval_s > 0 else 0.0
            self._at(phase, device.key, TELEMETRY)
        rate = self.config.disconnect_rate_per_h
        if rate > 0:
            self._at(self.rng.expovariate(rate / 3600.0), device.key, DROP)

    def _on_lost(self, device: SimDevice, detail: str) -> None:
        if device.awaiting_connack and not self._stopping:  # closed before CONNACK: try again later
            device.awaiting_connack = False
            self.stats.connect_failures += 1
            self._at(self.rng.uniform(1.0, 5.0), device.key, CONNECT)
        if not device.connected:
            return
        device.connected = False
        self.stats.connected -= 1
        self.stats.disconnects += 1
        # In-flight QoS 1 telemetry is resent by paho after reconnecting, so its mids stay pending.
        if device.dropping:
            device.dropping = False
            low, high = self.config.reconnect_delay_s
            self._at(self.rng.uniform(low, high), device.key, CONNECT)
        elif not self._stopping:
            log.info("%s: connection lost (%s); reconnecting", device.device_id, detail)
            self._at(self.rng.uniform(1.0, 5.0), device.key, CONNECT)

    def _answer(self, device: SimDevice, event: PoolEvent) -> None:
        reply = device.answer(event.topic, event.payload)
        if reply is not None and self.pool.publish(device.key, reply[0], reply[1], qos=1) is not None:
            if "/result" in reply[0]:
                self.stats.commands_answered += 1
            else:
                self.stats.configs_reported += 1

    def _shutdown(self) -> None:
        """Graceful end: a retained Death(graceful) and DISCONNECT per live session, then flush."""
        self._stopping = True
        for device in self.devices:
            if device.connected:
                state_topic, death = device.graceful_death()
                self.pool.publish(device.key, state_topic, death, qos=0, retain=True)
                self.pool.close(device.key)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(d.connected for d in self.devices):
            for event in self.pool.poll(0.05):
                if event.kind == "lost":
                    self._on_lost(self.devices[event.key], event.detail)
