"""Run a simulation: P worker processes (each one selector loop) or in-process for tests and small N."""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

from .config import SimulationConfig, SimulationSummary, WorkerStats
from .mqtt_pool import MqttPool
from .worker import Worker

log = logging.getLogger(__name__)

Reporter = Callable[[WorkerStats], None]


def raise_fd_limit() -> None:
    """Each session is a socket: lift the soft open-files limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _slice(config: SimulationConfig, index: int, count: int) -> SimulationConfig:
    return replace(config, credentials=config.credentials[index::count])


def _aggregate(latest: dict[int, WorkerStats]) -> WorkerStats:
    total = WorkerStats(done=True)
    for stats in latest.values():
        total.add(stats)
    return total


def _process_main(config: SimulationConfig, index: int, reports: Any, stop: MpEvent) -> None:
    """Entry point of one worker process (spawned, so everything it gets is pickled)."""
    logging.basicConfig(level=logging.WARNING, format=f"sim[{index}] %(levelname)s %(name)s: %(message)s")
    raise_fd_limit()
    worker = Worker(config, config.credentials, MqttPool(), seed=config.seed * 7919 + index)
    try:
        worker.run(stop.is_set, lambda stats: reports.put((index, stats)))
    except KeyboardInterrupt:
        reports.put((index, replace(worker.stats, done=True)))


def run_simulation(config: SimulationConfig, on_report: Reporter | None = None) -> SimulationSummary:
    """Run until the duration ends, every device sent its quota, or Ctrl-C; return the summary."""
    if config.processes <= 0:
        sim = InProcessSimulation(config)
        return sim.run_blocking(on_report)
    return _run_processes(config, on_report)


def _run_processes(config: SimulationConfig, on_report: Reporter | None) -> SimulationSummary:
    count = max(1, min(config.processes, len(config.credentials)))
    ctx = mp.get_context("spawn")
    reports = ctx.Queue()
    stop = ctx.Event()
    procs = [
        ctx.Process(target=_process_main, args=(_slice(config, i, count), i, reports, stop), daemon=True)
        for i in range(count)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    latest: dict[int, WorkerStats] = {}
    try:
        _collect(procs, reports, latest, on_report, config.report_interval_s)
    except KeyboardInterrupt:
        log.warning("stopping %d simulator processes", count)
        stop.set()
        _collect(procs, reports, latest, None, config.report_interval_s)
    for proc in procs:
        proc.join(timeout=10)
    return SimulationSummary(
        devices=len(config.credentials),
        processes=count,
        duration_s=time.monotonic() - started,
        stats=_aggregate(latest),
    )


def _collect(
    procs: list[Any], reports: Any, latest: dict[int, WorkerStats], on_report: Reporter | None, every: float
) -> None:
    next_report = time.monotonic() + every
    while True:
        try:
            index, stats = reports.get(timeout=0.5)
            latest[index] = stats
        except queue.Empty:
            pass
        finished = len(latest) == len(procs) and all(s.done for s in latest.values())
        if finished or not any(p.is_alive() for p in procs):
            _drain(reports, latest)
            return
        if on_report is not None and time.monotonic() >= next_report:
            on_report(_aggregate(latest))
            next_report = time.monotonic() + every


def _drain(reports: Any, latest: dict[int, WorkerStats]) -> None:
    while True:
        try:
            index, stats = reports.get(timeout=0.2)
        except queue.Empty:
            return
        latest[index] = stats


class InProcessSimulation:
    """One worker on a background thread of this process: for tests and small fleets."""

    def __init__(self, config: SimulationConfig) -> None:
        raise_fd_limit()
        self.config = config
        self._stop = threading.Event()
        self._worker = Worker(config, config.credentials, MqttPool(), seed=config.seed)
        self._lock = threading.Lock()
        self._latest = WorkerStats(devices=len(config.credentials))
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._on_report: Reporter | None = None

    def start(self) -> InProcessSimulation:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="station-sim", daemon=True)
        self._thread.start()
        return self

    def stats(self) -> WorkerStats:
        """The latest counters (refreshed every ``report_interval_s``)."""
        with self._lock:
            return replace(self._latest)

    def drop(self, device_id: str) -> None:
        """Cut one device's connection without DISCONNECT (its will fires; it reconnects later)."""
        self._worker.request_drop(device_id)

    def stop(self, timeout: float = 30.0) -> SimulationSummary:
        self._stop.set()
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> SimulationSummary:
        if self._thread is not None:
            self._thread.join(timeout)
        return SimulationSummary(
            devices=len(self.config.credentials),
            processes=0,
            duration_s=time.monotonic() - self._started,
            stats=self.stats(),
        )

    def run_blocking(self, on_report: Reporter | None = None) -> SimulationSummary:
        self._on_report = on_report
        self.start()
        try:
            return self.wait()
        except KeyboardInterrupt:
            return self.stop()

    def _run(self) -> None:
        self._worker.run(self._stop.is_set, self._report)

    def _report(self, stats: WorkerStats) -> None:
        with self._lock:
            self._latest = stats
        if self._on_report is not None:
            self._on_report(stats)

    def __enter__(self) -> InProcessSimulation:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
