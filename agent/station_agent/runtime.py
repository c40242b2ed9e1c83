"""Composition root: builds the agent from its settings and runs its threads until the stop event.

Role-specific packages are imported here, lazily and only for the running role (``gateway`` for a
router, ``content`` for an STB): each costs megabytes of RSS on a 256 MB box (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Callable, List, Optional

from station_protocol import Birth, Channel, TopicError, parse_topic

from . import AGENT_VERSION
from .commands import Diagnostics, DiagnosticsTargets, Reboot, build_registry
from .config import AgentConfig
from .desired_config import DesiredConfig
from .dispatcher import Dispatcher
from .enrollment import Identity, resolve_identity
from .mqtt import Link, LinkOptions, MqttLink
from .outbox import Outbox, OutboxSender
from .process import ProcessRunner, SubprocessRunner
from .roles import RoleParts
from .state import StateStore
from .system_metrics import PsutilMetrics, SystemMetrics
from .telemetry import TelemetryBuilder, TelemetryReporter
from .tunables import Tunables
from .update.build import birth_extra, with_update

log = logging.getLogger(__name__)

SESSION_COUNTER = "mqtt_session"
BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
STATE_DB = "state.db"
LinkFactory = Callable[[LinkOptions, Callable[[], int], Callable[[int], Birth]], Link]


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    try:
        return path.read_text(encoding="ascii").strip()[:64] or "unknown"
    except OSError:
        return "unknown"


@with_update  # every role also gets firmware.* and its worker (update/build.py, docs/firmware.md)
def build_role(
    cfg: AgentConfig, role: str, *, device_id: str, store: StateStore, outbox: Outbox
) -> RoleParts:
    """The running role's parts; the imports stay inside so the other role's package is never loaded."""
    if role == "router":
        from .gateway.build import router_parts

        return router_parts(cfg.gateway, device_id=device_id, store=store, outbox=outbox)
    if role == "stb":
        from .content.build import stb_parts
        from .stream.build import stream_parts

        content = stb_parts(cfg.state_dir, store=store, outbox=outbox, device_id=device_id)
        stream = stream_parts(cfg.state_dir, store=store, outbox=outbox, device_id=device_id)
        return RoleParts(
            handlers={**content.handlers, **stream.handlers},
            loops=content.loops + stream.loops,
            close=content.close,
            capabilities=content.capabilities + stream.capabilities,
        )
    return RoleParts()


def _mqtt_link(options: LinkOptions, next_session: Callable[[], int], birth: Callable[[int], Birth]) -> Link:
    return MqttLink(options, next_session=next_session, birth=birth)


class Agent:
    """Owns the services and threads of one running agent."""

    def __init__(
        self,
        cfg: AgentConfig,
        identity: Identity,
        *,
        metrics: SystemMetrics,
        runner: ProcessRunner,
        link_factory: LinkFactory = _mqtt_link,
    ) -> None:
        self.cfg = cfg
        self.identity = identity
        dev = identity.device_id
        self.store = StateStore.open(cfg.state_dir / STATE_DB)
        self.outbox = Outbox(
            self.store, max_messages=cfg.outbox.max_messages, max_bytes=cfg.outbox.max_bytes, device_id=dev
        )
        self.tunables = Tunables(
            telemetry_interval_s=cfg.telemetry.interval_s, command_timeout_s=cfg.commands.default_timeout_s
        )
        self.role = build_role(cfg, identity.role, device_id=dev, store=self.store, outbox=self.outbox)
        self.desired = DesiredConfig(
            device_id=dev,
            store=self.store,
            outbox=self.outbox,
            tunables=self.tunables,
            portal=self.role.portal,
        )
        self.desired.restore()  # a router rebuilds its portal table, classes and splash server here
        self._metrics = metrics
        self._hardware = metrics.hardware()
        self._boot_id = read_boot_id()
        handlers = build_registry(
            reboot=Reboot(
                runner=runner,
                command=cfg.commands.reboot_command,
                dry_run=cfg.commands.reboot_dry_run,
                device_id=dev,
            ),
            diagnostics=Diagnostics(
                DiagnosticsTargets(
                    broker_host=identity.mqtt_host,
                    broker_port=identity.mqtt_port,
                    controller_url=identity.controller_url,
                    content_path=cfg.telemetry.content_path,
                ),
                queue_depth=self.outbox.depth,
            ),
            role=self.role.handlers,
        )
        self.capabilities = tuple(sorted({*handlers, *self.role.capabilities})) + ("config", "telemetry")
        self.dispatcher = Dispatcher(
            device_id=dev,
            store=self.store,
            outbox=self.outbox,
            handlers=handlers,
            tunables=self.tunables,
            max_timeout_s=cfg.commands.max_timeout_s,
            keep_applied=cfg.commands.applied_ids_kept,
        )
        self.telemetry = TelemetryReporter(
            device_id=dev,
            builder=TelemetryBuilder(metrics, cfg.telemetry.interfaces),
            store=self.store,
            outbox=self.outbox,
            tunables=self.tunables,
        )
        self.link = link_factory(self._link_options(), self._next_session, self._birth)

    def _link_options(self) -> LinkOptions:
        m, ident = self.cfg.mqtt, self.identity
        return LinkOptions(
            device_id=ident.device_id,
            host=ident.mqtt_host,
            port=ident.mqtt_port,
            username=ident.mqtt_username,
            password=ident.mqtt_password,
            tls=ident.mqtt_tls,
            ca_file=m.ca_file,
            keepalive=m.keepalive,
            reconnect_min_s=m.reconnect_min_s,
            reconnect_max_s=m.reconnect_max_s,
            session_expiry_s=m.session_expiry_s,
            connect_timeout_s=m.connect_timeout_s,
        )

    def _next_session(self) -> int:
        return self.store.add_counter(SESSION_COUNTER)

    def _birth(self, session: int) -> Birth:
        return Birth(
            agent_version=AGENT_VERSION,
            role=self.identity.role,
            boot_id=self._boot_id,
            session=session,
            capabilities=self.capabilities,
            hardware=dict(self._hardware),
            config_version=self.desired.applied_version,
            **birth_extra(),  # agent_slot, last_update, os_version, os_slot under the launcher
        )

    def route(self, topic_name: str, payload: bytes, received_ms: Optional[int] = None) -> None:
        """Hand one inbound message to the dispatcher or the desired-config handler."""
        try:
            channel = parse_topic(topic_name).channel
        except TopicError as exc:
            log.warning("%s: message on unexpected topic: %s", self.identity.device_id, exc)
            return
        if channel == Channel.CMD:
            self.dispatcher.handle(topic_name, payload, received_ms)
        elif channel == Channel.CONFIG_DESIRED:
            self.desired.handle(topic_name, payload)

    def _work_commands(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                msg = self.link.inbound.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.route(msg.topic, msg.payload, msg.received_ms)
            except Exception:  # one poisoned message must not stop the worker (nor come back forever)
                log.exception("%s: failed to process a message on %s", self.identity.device_id, msg.topic)
            msg.ack()

    def run(self, stop: threading.Event) -> None:
        """Start every thread, block until ``stop`` is set, then shut down in order."""
        sender = OutboxSender(
            self.outbox,
            self.link,
            stop,
            batch=self.cfg.outbox.batch,
            ack_timeout_s=self.cfg.outbox.ack_timeout_s,
        )
        threads: List[threading.Thread] = [
            threading.Thread(target=self.telemetry.run, args=(stop,), name="telemetry", daemon=True),
            threading.Thread(target=self._work_commands, args=(stop,), name="command-worker", daemon=True),
            threading.Thread(target=sender.run, name="outbox-sender", daemon=True),
        ]
        threads += [
            threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
            for name, loop in self.role.loops
        ]
        log.info(
            "%s: agent %s starting (role %s)", self.identity.device_id, AGENT_VERSION, self.identity.role
        )
        self.link.start()
        for thread in threads:
            thread.start()
        while not stop.wait(1.0):  # a timed wait keeps the main thread responsive to signals
            pass
        log.info("%s: stopping", self.identity.device_id)
        for thread in threads:
            thread.join(timeout=10.0)
        self.link.stop()
        self.role.close()
        self.store.close()
        log.info("%s: stopped", self.identity.device_id)


def run(cfg: AgentConfig, stop: threading.Event) -> None:
    """Resolve identity (enrolling if needed), build the real adapters and run until ``stop``.

    Raises:
        ConfigError, EnrollmentError, RetryableError: startup failed; the message says what to fix.
    """
    identity = resolve_identity(cfg, stop=stop)
    if stop.is_set():
        return
    agent = Agent(cfg, identity, metrics=PsutilMetrics(cfg.telemetry.content_path), runner=SubprocessRunner())
    agent.run(stop)
