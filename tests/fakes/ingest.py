"""Fakes behind the controller ingest's Protocols: device directory, point sink, result sink, runtime."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from station_controller.commands.waiters import ResultWaiters
from tests.fakes.commands import FakePublisher


class FakeDirectory:
    """``DeviceDirectory`` over a fixed ``{device_id: role}``; remembers which ids were looked up."""

    def __init__(self, roles: dict[str, str]) -> None:
        self.roles = roles
        self.lookups: list[str] = []

    def enrolled_roles(self) -> dict[str, str]:
        return dict(self.roles)

    def role_of(self, device_id: str) -> str | None:
        self.lookups.append(device_id)
        return self.roles.get(device_id)


class FakePoints:
    """``PointSink`` that stores at once: keeps the lines and calls ``on_done`` (the pipeline then acks)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def submit(self, lines: list[str], on_done: Callable[[], None] | None = None) -> None:
        self.lines.extend(lines)
        if on_done is not None:
            on_done()


class FakeOutage(RuntimeError):
    """What a sink raises while its database is down: ``retryable``, so ingest keeps the batch."""

    retryable = True


class FakeResults:
    """``ResultSink`` (and feature-event sink) keeping each batch; the first ``failures`` batches raise
    an outage (``FakeOutage``)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[Any]] = []

    def record(self, results: Sequence[Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise FakeOutage("database is locked")
        self.batches.append(list(results))


@dataclass
class FakeIngest:
    """``IngestRuntime`` for app tests: a fake publisher, real waiters, start/stop counters."""

    publisher: FakePublisher = field(default_factory=FakePublisher)
    waiters: ResultWaiters = field(default_factory=ResultWaiters)
    started: int = 0
    stopped: int = 0
    is_ready: bool = True

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def ready(self) -> bool:
        return self.is_ready
