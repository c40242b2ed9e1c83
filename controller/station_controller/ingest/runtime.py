"""Wires ingest together: MQTT client → queue → pipeline → TSDB writer + presence flusher."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from .. import supervisor
from ..commands.outbox import OutboxSweeper
from ..commands.waiters import ResultWaiters
from ..observability import metrics
from ..observability.metrics import IngestStats
from ..settings import Settings
from ..tsdb.drops import TsdbDropWatch
from ..tsdb.influx import InfluxLineSink
from ..tsdb.screen import LineScreen
from ..tsdb.writer import TsdbWriter
from .budgets import BudgetLimits
from .devices import KnownDevices
from .events import DeviceEventHandler
from .flusher import PresenceFlusher
from .mqtt_client import MqttIngestClient
from .pipeline import Message, Pipeline
from .presence import PresenceStore
from .registry_io import SqlRegistry
from .results import CommandResultSink

log = logging.getLogger(__name__)
QUEUE_MAX = 50_000


@dataclass
class IngestRuntime:
    """The running ingest; ``publisher`` implements the commands package's CommandPublisher."""

    stats: IngestStats
    publisher: MqttIngestClient
    waiters: ResultWaiters
    pipeline: Pipeline
    writer: TsdbWriter
    flusher: PresenceFlusher
    presence: PresenceStore
    known: KnownDevices
    registry: SqlRegistry
    stop_timeout_s: float = 15.0

    def start(self) -> None:
        """Load enrolled ids and online devices, start the threads, connect to the broker."""
        self.known.refresh()
        self.presence.seed(self.registry.online_devices(), time.time())
        metrics.attach(self.stats)
        self.writer.start()
        self.flusher.start()
        self.pipeline.start()
        self.publisher.start()
        log.info("ingest started: %d enrolled devices", len(self.known))

    def stop(self) -> None:
        """Take no new messages, process what is queued, flush presence and the TSDB buffer (bounded
        waits), then disconnect: the acks of what was stored go out first, the rest is redelivered."""
        self.publisher.pause()
        self.pipeline.stop(self.stop_timeout_s)
        self.flusher.stop(self.stop_timeout_s)
        self.writer.stop(self.stop_timeout_s)
        self.publisher.stop()
        metrics.detach(self.stats)
        log.info("ingest stopped: %s", self.stats.snapshot())

    def ready(self) -> bool:
        """Connected to the broker, every worker thread alive, the TSDB writer not stuck."""
        return not self.problems()

    def problems(self) -> dict[str, str]:
        """What keeps ingest from being ready, by check (empty when ready); ``/readyz`` shows them."""
        found: dict[str, str] = {}
        if not self.publisher.ready():
            found["broker"] = "not connected to the MQTT broker"
        alive = {
            "pipeline": self.pipeline.alive(),
            "tsdb_writer": self.writer.alive(),
            "presence_flusher": self.flusher.alive(),
        }
        found.update({name: "thread not running" for name, up in alive.items() if not up})
        stall = self.writer.stall_reason()
        if stall is not None:
            found["tsdb_writer"] = stall
        return found


def budget_limits(settings: Settings) -> BudgetLimits:
    return BudgetLimits(
        messages_per_s=settings.ingest_device_messages_per_s,
        message_burst=settings.ingest_device_message_burst,
        bytes_per_s=settings.ingest_device_bytes_per_s,
        byte_burst=settings.ingest_device_byte_burst,
        quarantine_s=settings.ingest_quarantine_s,
    )


def build_ingest(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    waiters: ResultWaiters | None = None,
    client_id: str | None = None,
    handlers: Sequence[DeviceEventHandler] = (),
) -> IngestRuntime:
    """Build (not start) the ingest for one controller process.

    ``waiters`` (default: a new one, exposed as ``runtime.waiters``) is woken per recorded result;
    ``handlers`` are the features' device event consumers (``composition.build_event_handlers``;
    none: device events only go to the TSDB);
    ``client_id`` defaults to the broker username: the broker binds the two
    (``use_username_as_clientid``), so each controller process has its own account (cli.worker_settings).
    """
    stats = IngestStats()
    supervisor.configure(
        min_backoff_s=settings.thread_restart_min_s, max_backoff_s=settings.thread_restart_max_s
    )
    waiters = waiters if waiters is not None else ResultWaiters()
    inbox: queue.Queue[Message] = queue.Queue(maxsize=QUEUE_MAX)
    sink = InfluxLineSink(
        url=settings.tsdb_url,
        token=settings.tsdb_token.get_secret_value(),
        org=settings.tsdb_org,
        bucket=settings.tsdb_bucket,
        timeout_s=settings.tsdb_timeout_s,
    )
    writer = TsdbWriter(
        sink,
        stats=stats,
        batch_points=settings.tsdb_batch_points,
        buffer_points=settings.tsdb_retry_buffer_points,
        retry_max_delay_s=settings.tsdb_retry_max_delay_s,
        flush_interval_s=min(1.0, settings.ingest_flush_interval_s),
        screen=LineScreen(retention_s=settings.tsdb_retention_s, max_future_s=settings.tsdb_max_future_s),
        drops=TsdbDropWatch(
            url=settings.tsdb_url, stats=stats, interval_s=settings.tsdb_drop_check_interval_s
        ),
        stall_after_s=settings.tsdb_stall_after_s,
    )
    registry = SqlRegistry(session_factory)
    known = KnownDevices(registry)
    presence = PresenceStore(stats=stats, offline_after_s=settings.offline_after_s)
    results = CommandResultSink(session_factory, waiters)
    client = MqttIngestClient(settings, inbox, stats, client_id or settings.mqtt_username)
    outbox = OutboxSweeper(session_factory, client, settings)

    def housekeeping() -> None:
        outbox.run_once()  # committed but unpublished commands (a crash between the two) go out
        results.expire_overdue()

    flusher = PresenceFlusher(
        presence=presence,
        repository=registry,
        known=known,
        stats=stats,
        interval_s=settings.ingest_flush_interval_s,
        housekeeping=housekeeping,
    )
    pipeline = Pipeline(
        inbox=inbox,
        known=known,
        presence=presence,
        points=writer,
        results=results,
        stats=stats,
        dedup_window=settings.ingest_dedup_window,
        event_handlers=handlers,
        budgets=budget_limits(settings),
        clear_retained=client.clear_retained,
        redelivery_wait_s=settings.ingest_redelivery_wait_s,
    )
    return IngestRuntime(
        stats=stats,
        publisher=client,
        waiters=waiters,
        pipeline=pipeline,
        writer=writer,
        flusher=flusher,
        presence=presence,
        known=known,
        registry=registry,
        stop_timeout_s=max(5.0, settings.tsdb_timeout_s),
    )
