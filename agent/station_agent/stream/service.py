"""The stream thread: runs the probe the controller asked for (``stream.probe``) until its end time.

The running probe survives an agent restart (kept in the state store until ``until_ms``). One probe at
a time: a new ``stream.probe`` replaces the running one, ``stream.stop`` ends it. A probe with ``play``
also becomes the wanted playback the player app reads (wanted.py), kept the same way.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable, Dict, Optional

from station_protocol import now_ms
from station_protocol.codec import decode
from station_protocol.errors import ProtocolError
from station_protocol.stream import PROBE, STOP, ProbeArgs

from ..commands.base import CommandContext, Handler
from ..errors import CommandRejected
from ..state import StateStore
from .fetch import Fetcher
from .probe import ProbeSession
from .report import QoeSink, probe_report
from .settings import ProbeSettings
from .wanted import Wanted, WantedPlayback

log = logging.getLogger(__name__)
ACTIVE_KEY = "stream_probe"
WANTED_KEY = "stream_wanted"


class StreamService:
    def __init__(
        self,
        *,
        settings: ProbeSettings,
        store: StateStore,
        sink: QoeSink,
        fetcher_factory: Callable[[], Fetcher],
        device_id: str,
        wanted: Optional[WantedPlayback] = None,
    ) -> None:
        self._s = settings
        self._store = store
        self._sink = sink
        self._fetcher_factory = fetcher_factory
        self._device_id = device_id
        self._lock = threading.Lock()
        self._job: Optional[Dict[str, Any]] = store.get_json(ACTIVE_KEY)
        self._changed = threading.Event()
        self._cancel = threading.Event()
        self.wanted = wanted if wanted is not None else WantedPlayback()
        self.wanted.set(Wanted.from_json(store.get_json(WANTED_KEY)))

    # -- commands ------------------------------------------------------------------------------------
    def probe(self, ctx: CommandContext) -> Dict[str, Any]:
        try:
            args = decode(ProbeArgs, dict(ctx.args), "args")
        except ProtocolError as exc:
            raise CommandRejected(f"{PROBE}: {exc}") from None
        if not args.url.startswith(("http://", "https://")):
            raise CommandRejected(f"{PROBE}: args.url must be http:// or https://")
        job = {"url": args.url, "until_ms": args.until_ms, "lesson": args.lesson, "session": uuid.uuid4().hex}
        wanted = Wanted(url=args.url, lesson=args.lesson, until_ms=args.until_ms) if args.play else None
        with self._lock:
            replaced = self._job is not None
            self._job = job
            self._store.put_json(ACTIVE_KEY, job)
            self._want(wanted)
        if wanted is not None:
            log.info("%s: the player app is asked to play %s", self._device_id, args.url[:120])
        self._cancel.set()
        self._changed.set()
        return {"session": job["session"], "state": "replaced" if replaced else "started"}

    def stop_probe(self, ctx: CommandContext) -> Dict[str, Any]:
        if ctx.args:
            raise CommandRejected(f"{STOP} takes no arguments")
        with self._lock:
            was = self._job is not None
            self._job = None
            self._store.put_json(ACTIVE_KEY, None)
            self._want(None)
        self._cancel.set()
        self._changed.set()
        return {"state": "stopped" if was else "idle"}

    def _want(self, wanted: Optional[Wanted]) -> None:
        """Replace the wanted playback (the next probe's, or none); a restarted agent still offers it."""
        self._store.put_json(WANTED_KEY, None if wanted is None else wanted.as_json())
        self.wanted.set(wanted)

    def handlers(self) -> Dict[str, Handler]:
        return {PROBE: self.probe, STOP: self.stop_probe}

    # -- the thread ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._lock:
                job = self._job
                self._cancel.clear()
                self._changed.clear()
            if job is None or job["until_ms"] <= now_ms():
                self._finish(job)
                self._changed.wait(1.0)
                continue
            try:
                self.run_job(job, stop)
                if not self._cancel.is_set():
                    self._finish(job)  # a VOD played to its end: not again
            except Exception:  # a bug on one stream must not end the thread; the next job starts clean
                log.exception("%s: probe of %s failed", self._device_id, str(job.get("url"))[:120])
                stop.wait(self._s.retry_s)

    def _finish(self, job: Optional[Dict[str, Any]]) -> None:
        if job is None:
            return
        with self._lock:
            if self._job is job:
                self._job = None
                self._store.put_json(ACTIVE_KEY, None)

    def run_job(self, job: Dict[str, Any], stop: threading.Event) -> None:
        """Probe ``job`` until its end, a stop, or a replacement; one report per interval and a last one."""
        halt = threading.Event()
        fetcher = self._fetcher_factory()
        deadline = time.monotonic() + max(0.0, (job["until_ms"] - now_ms()) / 1000.0)

        def wait(seconds: float) -> bool:
            return stop.wait(seconds) or self._cancel.is_set()

        probe = ProbeSession(
            job["url"], settings=self._s, fetcher=fetcher, clock=time.monotonic, wall=time.time, wait=wait
        )
        log.info("%s: probing %s (lesson %s)", self._device_id, job["url"][:120], job.get("lesson"))
        last = time.monotonic()
        try:
            while not (stop.is_set() or self._cancel.is_set() or halt.is_set()):
                if time.monotonic() >= deadline or not probe.step():
                    break
                if time.monotonic() - last >= self._s.report_interval_s:
                    self._report(probe, job, time.monotonic() - last)
                    last = time.monotonic()
        finally:
            probe.playback.stop(time.monotonic())
            fetcher.close()
            self._report(probe, job, time.monotonic() - last)

    def _report(self, probe: ProbeSession, job: Dict[str, Any], interval_s: float) -> None:
        failed = not probe.variants and bool(probe.stats.errors)
        report = probe_report(
            probe, session=job["session"], lesson=job.get("lesson"), interval_s=interval_s, failed=failed
        )
        try:
            self._sink.emit(report)
        except Exception:  # a full disk must not end the probe; the next report tries again
            log.exception("%s: could not queue a stream report", self._device_id)
