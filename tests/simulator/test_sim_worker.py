"""The worker's scheduling against a fake session pool: births, telemetry quota, backlog after a drop."""

from __future__ import annotations

from collections.abc import Sequence

from station_protocol import Birth, Death, Telemetry, decode_from
from station_protocol.enrollment import EnrollResponse
from station_simulator.config import SimulationConfig
from station_simulator.mqtt_pool import PoolEvent, SessionSpec
from station_simulator.worker import Worker


class FakePool:
    """Accepts every session at once and acknowledges every publish on the next poll."""

    def __init__(self) -> None:
        self.published: list[tuple[int, str, bytes, bool]] = []
        self.wills: dict[int, bytes] = {}
        self.opened: list[int] = []
        self._pending: list[PoolEvent] = []
        self._mid = 0
        self.online: set[int] = set()

    def open(
        self, spec: SessionSpec, will_topic: str, will_payload: bytes, subscriptions: Sequence[str]
    ) -> None:
        self.opened.append(spec.key)
        self.wills[spec.key] = will_payload
        self.online.add(spec.key)
        self._pending.append(PoolEvent("connected", spec.key))

    def publish(
        self, key: int, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None:
        if key not in self.online:
            return None
        self._mid += 1
        self.published.append((key, topic, payload, retain))
        self._pending.append(PoolEvent("acked", key, mid=self._mid))
        return self._mid

    def drop(self, key: int) -> None:
        self.online.discard(key)
        self._pending.append(PoolEvent("lost", key, detail="dropped"))

    def close(self, key: int) -> None:
        self.online.discard(key)
        self._pending.append(PoolEvent("lost", key, detail="closed"))

    def poll(self, timeout: float) -> list[PoolEvent]:
        events, self._pending = self._pending, []
        return events

    def service(self) -> None:
        pass

    def bodies(self, key: int) -> list[object]:
        return [decode_from(t, p)[1].body for k, t, p, _r in self.published if k == key]


def _creds(n: int) -> tuple[EnrollResponse, ...]:
    return tuple(
        EnrollResponse(
            device_id=f"stb-w-{i:06d}",
            role="stb",
            mqtt_host="127.0.0.1",
            mqtt_port=1,
            mqtt_username=f"stb-w-{i:06d}",
            mqtt_password="x",
        )
        for i in range(n)
    )


def _run(config: SimulationConfig, pool: FakePool, stop_after_polls: int | None = None) -> Worker:
    worker = Worker(config, config.credentials, pool, seed=1)
    polls = iter(range(10**9))
    limit = stop_after_polls

    def should_stop() -> bool:
        return limit is not None and next(polls) >= limit

    worker.run(should_stop, lambda _s: None)
    return worker


def test_quota_sends_birth_then_seq_1_to_k_and_ends_gracefully() -> None:
    pool = FakePool()
    config = SimulationConfig(credentials=_creds(5), interval_s=0.0, messages_per_device=4)
    worker = _run(config, pool, stop_after_polls=10_000)
    assert worker.stats.telemetry_acked == worker.stats.telemetry_queued == 20
    for key in range(5):
        bodies = pool.bodies(key)
        assert isinstance(bodies[0], Birth)
        assert bodies[0].session == 1
        assert [b.seq for b in bodies if isinstance(b, Telemetry)] == [1, 2, 3, 4]
        assert isinstance(bodies[-1], Death)
        assert bodies[-1].graceful
    assert worker.stats.connected == 0
    assert worker.stats.births == 5
    # A burst must not reuse a millisecond: the TSDB would collapse same-time points of one series.
    stamps = [
        decode_from(t, p)[1].ts for k, t, p, _r in pool.published if k == 0 and t.endswith("/telemetry")
    ]
    assert stamps == sorted(set(stamps))


def test_connects_are_paced_by_the_rate() -> None:
    pool = FakePool()
    config = SimulationConfig(credentials=_creds(50), interval_s=30.0, connect_rate_per_s=10.0)
    _run(config, pool, stop_after_polls=1)
    # One pass of the loop may only use the initial burst of max(1, rate / 10) tokens.
    assert len(pool.opened) == 1


def test_samples_taken_while_offline_are_sent_after_the_next_birth() -> None:
    pool = FakePool()
    config = SimulationConfig(credentials=_creds(1), interval_s=30.0, reconnect_delay_s=(0.0, 0.0))
    worker = Worker(config, config.credentials, pool, seed=1)
    worker._connect(worker.devices[0])  # noqa: SLF001 - drive the steps by hand
    for event in pool.poll(0):
        worker._handle(event)  # noqa: SLF001
    worker._drop(worker.devices[0])  # noqa: SLF001
    for event in pool.poll(0):
        worker._handle(event)  # noqa: SLF001
    worker._telemetry(worker.devices[0])  # noqa: SLF001 - offline: goes to the backlog
    assert worker.devices[0].backlog
    worker._connect(worker.devices[0])  # noqa: SLF001
    for event in pool.poll(0):
        worker._handle(event)  # noqa: SLF001
    bodies = pool.bodies(0)
    assert [type(b).__name__ for b in bodies] == ["Birth", "Birth", "Telemetry"]
    assert [b.session for b in bodies if isinstance(b, Birth)] == [1, 2]
    assert worker.stats.reconnects == 1
    assert worker.stats.drops_injected == 1
    assert decode_from("st/v1/stb-w-000000/state", pool.wills[0])[1].body == Death(session=2)
