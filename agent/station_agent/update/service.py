"""``firmware.update`` / ``firmware.status`` and the job worker: fetch, verify, install, switch, commit.

One job at a time, persisted in ``<root>/job.json`` so a restart or kill -9 resumes it; every step is
reported as a ``firmware.progress`` event through the outbox (store-and-forward). The switch is one
atomic write of ``boot.json``; the launcher does the restart, the new agent's trial (``_trial``)
commits or rolls back, and results nobody has heard yet (``reported: false``) are sent by whichever
agent runs next.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional

from station_protocol import codec
from station_protocol import firmware as fw
from station_protocol.errors import MalformedMessage

from .. import AGENT_VERSION
from ..commands.base import CommandContext, Handler
from ..errors import CommandRejected
from ..outbox import Outbox
from ..process import CannotRun, run_tool
from ..state import StateStore
from . import cache
from . import download as dl
from . import launcher as boot
from .errors import DownloadFailed, InstallFailed, RaucFailed
from .faults import fault
from .health import HealthGate, deadline_passed, default_checks
from .os_update import OsUpdater
from .records import Events, WindowClosed, last_update_of, now_ms, seconds_to_window, writable_check
from .settings import UpdateSettings
from .slots import install_agent

log = logging.getLogger(__name__)


class FirmwareService:
    def __init__(
        self,
        settings: UpdateSettings,
        *,
        store: StateStore,
        outbox: Outbox,
        device_id: str,
        role: str,
        state_dir: Path,
        hardware_model: str,
        os_port: Optional[OsUpdater] = None,
    ) -> None:
        self.s = settings
        self._store, self._outbox = store, outbox
        self._device_id, self._role, self._state_dir = device_id, role, state_dir
        self._hardware_model = settings.hardware_model or hardware_model
        self._os = os_port
        self._jobs: queue.Queue[Dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._current: Optional[Dict[str, Any]] = None
        self._stop = threading.Event()
        self._events = Events(outbox, device_id)

    # -- commands ------------------------------------------------------------------------------
    def handlers(self) -> Dict[str, Handler]:
        return {fw.UPDATE: self._update, fw.STATUS: self._status}

    def _update(self, ctx: CommandContext) -> Dict[str, Any]:
        try:
            args = codec.decode(fw.UpdateArgs, ctx.args, "args")
        except MalformedMessage as exc:
            raise CommandRejected(str(exc)) from None
        job_id = args.job_id or ctx.command_id
        out = fw.UpdateAccepted(job_id=job_id, release_id=args.release_id, state="queued")
        if args.kind == "os" and self._os is None:
            out = fw.UpdateAccepted(job_id, args.release_id, "refused", "incompatible")
            job = {"args": codec.encode(args), "job_id": job_id}
            self._events.emit(self._events.progress(job, "refused", "incompatible", "no RAUC on this box"))
            return codec.encode(out)  # type: ignore[no-any-return]
        with self._lock:
            if self._current is not None or self.s.job_file.exists():
                return codec.encode(fw.UpdateAccepted(job_id, args.release_id, "failed", "busy"))  # type: ignore[no-any-return]
            job = {"job_id": job_id, "args": codec.encode(args), "state": "queued"}
            self._save_job(job)
            self._current = job
        self._jobs.put(job)
        return codec.encode(out)  # type: ignore[no-any-return]

    def _status(self, _ctx: CommandContext) -> Dict[str, Any]:
        state = boot.read_boot(self.s.root)
        slots = {
            x: {
                "version": (boot.slot_info(self.s.root, x) or {}).get("version"),
                "state": self._slot_state(state, x),
            }
            for x in boot.SLOTS
        }
        os_version, os_slot = self._os.rauc.booted() if self._os else (None, None)
        job = self._current
        out = fw.StatusOutput(
            agent_version=AGENT_VERSION,
            agent_slot=self.s.slot,
            slots=slots,
            os_version=os_version,
            os_slot=os_slot,
            job=None
            if job is None
            else {"job_id": job["job_id"], "state": job["state"], "release_id": job["args"]["release_id"]},
            last_update=last_update_of(state.get("last_update")),
        )
        return codec.encode(out)  # type: ignore[no-any-return]

    @staticmethod
    def _slot_state(state: Dict[str, Any], slot: str) -> str:
        if state.get("active") == slot:
            return "good"
        pending = state.get("pending") or {}
        return "trial" if pending.get("slot") == slot else "inactive"

    # -- the worker ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        self._report_unreported()
        state = boot.read_boot(self.s.root)
        pending = state.get("pending")
        if pending and pending.get("slot") == self.s.slot:
            self._trial(pending, stop)
        elif self.s.job_file.exists():
            self._resume(state, stop)
        while not stop.is_set():
            try:
                job = self._jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            self._run_job(job, stop)

    def _resume(self, state: Dict[str, Any], stop: threading.Event) -> None:
        """Continue a job a restart interrupted, unless its switch already ended (committed / rolled back)."""
        try:
            job = json.loads(self.s.job_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.s.job_file.unlink(missing_ok=True)
            return
        if (state.get("last_update") or {}).get("job_id") == job.get("job_id"):
            self.s.job_file.unlink(missing_ok=True)
            shutil.rmtree(self.s.staging, ignore_errors=True)
            return
        log.info("%s: resuming firmware job %s (%s)", self._device_id, job.get("job_id"), job.get("state"))
        if (
            job.get("args", {}).get("kind") == "os"
            and job.get("state") == "restarting"
            and self._os is not None
        ):
            with self._lock:
                self._current = job
            self._os_after_boot(job, stop)
            return
        with self._lock:
            self._current = job
        self._jobs.put(job)

    def _run_job(self, job: Dict[str, Any], stop: threading.Event) -> None:
        try:
            m = self._prepare(job)
            files = self._download(job, m, stop)
            if m.kind == "agent":
                self._install_agent(job, m, files)
                self._wait_window(job, stop)
                self._switch(job, m, stop)
            else:
                self._install_os(job, m, files, stop)
        except fw.Refused as exc:
            self._finish(job, "refused", exc.refusal, exc.detail)
        except DownloadFailed as exc:
            self._finish(job, "failed", "download_failed", str(exc))
        except (InstallFailed, RaucFailed) as exc:
            self._finish(job, "failed", "install_failed", str(exc))
        except WindowClosed as exc:
            self._finish(job, "failed", "outside_window", str(exc))

    def _args(self, job: Dict[str, Any]) -> fw.UpdateArgs:
        return codec.decode(fw.UpdateArgs, job["args"], "args")

    def _prepare(self, job: Dict[str, Any]) -> fw.Manifest:
        args = self._args(job)
        self._progress(job, "downloading")
        raw = dl.retrying(
            lambda: dl.fetch_manifest(args.manifest_url, self.s.http_timeout_s),
            self.s.retries,
            self.s.retry_max_s,
            self._stop,
        )
        from .verify import verify_release

        m = verify_release(raw, self.s.keys_dir)
        if m.version != args.version or m.kind != args.kind or m.release_id != args.release_id:
            raise fw.Refused(
                "tampered", f"signed release is {m.release_id}, the command named {args.release_id}"
            )
        fw.admit(m, self._device(m.kind), now_ms())
        return m

    def _device(self, kind: str) -> fw.Device:
        installed = AGENT_VERSION
        if kind == "os":
            installed = (self._os.current() or self._os.rauc.booted()[0] if self._os else None) or "0"
        return fw.Device(
            role=self._role,
            hardware_model=self._hardware_model,
            agent_version=AGENT_VERSION,
            installed_version=installed,
            rauc_compatible=self.s.rauc.compatible if self.s.rauc else None,
            python=self.s.python_version,
            arch=self.s.arch,
        )

    def _download(self, job: Dict[str, Any], m: fw.Manifest, stop: threading.Event) -> Path:
        args = self._args(job)
        files = self.s.staging / m.release_id
        done = [0]
        last = [0.0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if time.monotonic() - last[0] >= self.s.progress_interval_s:
                last[0] = time.monotonic()
                self._progress(job, "downloading", bytes_done=done[0], bytes_total=m.total_bytes)

        t = dl.Transfer(self.s.http_timeout_s, args.rate_kbit * 125, stop)
        reused = 0
        for entry in m.files:
            dest = files / entry.path
            if cache.take(self.s.root, entry, dest):
                reused += entry.size
                continue
            url = dl.file_url(args.files_base_url, args.manifest_url, entry.path)
            fetch = functools.partial(dl.fetch_file, url, dest, entry, t, on_bytes)
            dl.retrying(fetch, self.s.retries, self.s.retry_max_s, stop)
            cache.keep(self.s.root, entry, dest)
        if stop.is_set():
            raise DownloadFailed("agent stopping")
        detail = f"fetched {done[0]} bytes, reused {reused} bytes of files already on the box"
        self._progress(
            job, "downloading", bytes_done=done[0] + reused, bytes_total=m.total_bytes, detail=detail
        )
        return files

    def _install_agent(self, job: Dict[str, Any], m: fw.Manifest, files: Path) -> None:
        target = boot.other(str(boot.read_boot(self.s.root)["active"]))
        self._progress(job, "installing", slot=target)
        install_agent(self.s.root, target, files, m, python=self.s.python, timeout_s=self.s.smoke_timeout_s)

    def _install_os(self, job: Dict[str, Any], m: fw.Manifest, files: Path, stop: threading.Event) -> None:
        assert self._os is not None
        bundle = files / m.files[0].path
        self._progress(job, "installing")
        slot = self._os.install(bundle)  # RAUC writes the inactive slot and makes it primary
        self._wait_window(job, stop)
        self._progress(job, "restarting", slot=slot)
        job["state"], job["os_slot"], job["switched_ms"] = "restarting", slot, now_ms()
        job["from_version"] = self._os.current()
        self._save_job(job)  # after the reboot, _os_after_boot commits or marks bad
        self._reboot(stop)

    def _reboot(self, stop: threading.Event) -> None:
        log.info("%s: rebooting into the new OS slot: %s", self._device_id, list(self.s.reboot_command))
        try:
            run_tool(self.s.reboot_command, timeout_s=60.0)
        except CannotRun as exc:
            log.error("%s: reboot command failed: %s", self._device_id, exc)
        stop.set()

    def _os_after_boot(self, job: Dict[str, Any], stop: threading.Event) -> None:
        assert self._os is not None
        args = self._args(job)
        self._progress(job, "health_check", slot=job.get("os_slot"))
        gate = HealthGate(self._store, self._outbox, [lambda: writable_check(self._state_dir)])
        deadline = int(job.get("switched_ms", now_ms())) + args.health_deadline_s * 1000
        out = self._os.after_boot(str(job.get("os_slot")), args.version, gate.evaluate, deadline, stop.wait)
        self._finish(job, out.state, out.reason, out.detail)
        if out.state == "rolled_back" and out.reason != "crashed_at_start":
            self._reboot(stop)  # the slot is marked bad: the bootloader starts the old one

    def _wait_window(self, job: Dict[str, Any], stop: threading.Event) -> None:
        args = self._args(job)
        while not stop.is_set():
            wait = seconds_to_window(args.windows_ms, args.not_after_ms, now_ms())
            if wait <= 0:
                return
            stop.wait(min(wait, 5.0))
        raise DownloadFailed("agent stopping")

    def _switch(self, job: Dict[str, Any], m: fw.Manifest, stop: threading.Event) -> None:
        args = self._args(job)
        state = boot.read_boot(self.s.root)
        target = boot.other(str(state["active"]))
        state["pending"] = {
            "slot": target,
            "version": m.version,
            "release_id": m.release_id,
            "job_id": job["job_id"],
            "campaign_id": args.campaign_id,
            "from_version": AGENT_VERSION,
            "attempts": 0,
            "switched_ms": now_ms(),
            "health_deadline_s": args.health_deadline_s,
            "files": sorted({e.sha256 for e in m.files}),  # what the cache keeps after the commit
        }
        self._progress(job, "restarting", slot=target)
        job["state"] = "restarting"
        self._save_job(job)
        boot.write_boot(self.s.root, state)  # the switch: the launcher starts ``target`` next
        fault("switch")
        log.info("%s: switching to slot %s (%s); restarting", self._device_id, target, m.version)
        stop.set()

    # -- trial, commit, rollback ---------------------------------------------------------------
    def _trial(self, pending: Dict[str, Any], stop: threading.Event) -> None:
        fault("first_start")
        job = self._pending_job(pending)
        self._progress(job, "health_check", slot=self.s.slot, attempt=self.s.attempt)
        gate = HealthGate(
            self._store, self._outbox, default_checks(self.s.root, self.s.slot, self._state_dir)
        )
        while not stop.is_set():
            verdict = gate.evaluate()
            if verdict.healthy:
                fault("before_commit")
                self._commit(pending)
                return
            passed, _end = deadline_passed(pending, now_ms())
            if passed:
                self._rollback(pending, verdict.reason or "health_deadline", verdict.detail, stop)
                return
            stop.wait(self.s.check_interval_s)

    def _pending_job(self, pending: Dict[str, Any]) -> Dict[str, Any]:
        args = {"release_id": pending["release_id"], "kind": "agent", "version": pending["version"]}
        if pending.get("campaign_id"):
            args["campaign_id"] = pending["campaign_id"]
        return {
            "job_id": pending["job_id"],
            "args": args,
            "state": "health_check",
            "from_version": pending.get("from_version"),
        }

    def _commit(self, pending: Dict[str, Any]) -> None:
        state = boot.read_boot(self.s.root)
        state["active"], state["pending"] = self.s.slot, None
        state["last_update"] = self._result(pending, "committed", None, f"healthy on slot {self.s.slot}")
        boot.write_boot(self.s.root, state)
        log.info("%s: committed %s on slot %s", self._device_id, AGENT_VERSION, self.s.slot)
        self.s.job_file.unlink(missing_ok=True)
        shutil.rmtree(self.s.staging, ignore_errors=True)
        if pending.get("files"):
            cache.prune(self.s.root, set(pending["files"]))
        self._report_unreported()

    def _rollback(self, pending: Dict[str, Any], reason: str, detail: str, stop: threading.Event) -> None:
        state = boot.read_boot(self.s.root)
        state["pending"] = None
        state["last_update"] = self._result(
            pending, "rolled_back", reason, f"health deadline passed: {detail}"
        )
        boot.write_boot(self.s.root, state)  # the launcher starts the last good slot next
        log.error("%s: %s not healthy in time (%s); rolling back", self._device_id, AGENT_VERSION, detail)
        self.s.job_file.unlink(missing_ok=True)
        stop.set()

    def _result(
        self, pending: Dict[str, Any], state: str, reason: Optional[str], detail: str
    ) -> Dict[str, Any]:
        return {
            "job_id": pending.get("job_id"),
            "release_id": pending.get("release_id"),
            "kind": "agent",
            "version": pending.get("version"),
            "from_version": pending.get("from_version"),
            "campaign_id": pending.get("campaign_id"),
            "state": state,
            "reason": reason,
            "detail": detail,
            "slot": self.s.slot,
            "attempt": self.s.attempt,
            "at_ms": now_ms(),
            "reported": False,
        }

    def _report_unreported(self) -> None:
        """Send the last result if no agent has sent it yet (the rollback case: the old agent does)."""
        state = boot.read_boot(self.s.root)
        last = state.get("last_update")
        if not last or last.get("reported", True):
            return
        detail = {
            k: last.get(k) for k in ("job_id", "release_id", "kind", "version", "state", "from_version")
        }
        detail.update({k: last.get(k) for k in ("reason", "campaign_id", "slot")})
        detail.update(detail=str(last.get("detail") or "")[:1024], attempt=int(last.get("attempt") or 0))
        self._events.emit_detail(str(last["state"]), detail)
        last["reported"] = True
        boot.write_boot(self.s.root, state)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _finish(self, job: Dict[str, Any], state: str, reason: Optional[str], detail: str) -> None:
        log.warning("%s: firmware job %s %s: %s (%s)", self._device_id, job["job_id"], state, reason, detail)
        self._progress(job, state, reason=reason, detail=detail)
        args = job["args"]
        boot_state = boot.read_boot(self.s.root)
        boot_state["last_update"] = {
            "job_id": job["job_id"],
            "release_id": args["release_id"],
            "kind": args["kind"],
            "version": args["version"],
            "state": state,
            "reason": reason,
            "detail": detail[:1024],
            "at_ms": now_ms(),
            "reported": True,
        }
        boot.write_boot(self.s.root, boot_state)
        self.s.job_file.unlink(missing_ok=True)
        shutil.rmtree(self.s.staging, ignore_errors=True)
        with self._lock:
            self._current = None

    def _save_job(self, job: Dict[str, Any]) -> None:
        boot.write_json_atomic(self.s.job_file, job)

    def _progress(self, job: Dict[str, Any], state: str, **extra: Any) -> None:
        job["state"] = state if state not in fw.TERMINAL_STATES else job.get("state", state)
        self._events.emit(
            self._events.progress(job, state, extra.pop("reason", None), extra.pop("detail", ""), **extra)
        )
