"""The job runner: a worker pool that claims queued devices, runs their action and records the outcome."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ...errors import ControllerError
from ...kernel.clock import utcnow
from ...settings import Settings
from ...supervisor import SupervisedThread
from ..errors import ProvisioningError
from ..secrets import REDACTING_FILTER, REDACTOR, Redactor, SecretBox
from ..targets import DeviceSecrets, device_target
from .contract import STATUSES, Action, ActionContext, ActionRegistry, DeviceOutcome
from .models import Job, JobDevice, JobLog
from .service import finish_if_complete, recover_after_restart

log = logging.getLogger(__name__)
log.addFilter(REDACTING_FILTER)

MAX_LINE = 4000
MAX_TEXT = 200_000


class LogSink:
    """``ctx.log`` for one device: masks secrets, stores the line at once (live progress)."""

    def __init__(
        self, factory: sessionmaker[Session], job_id: int, device_id: str, redactor: Redactor
    ) -> None:
        self._factory, self._job_id, self._device_id, self._redactor = factory, job_id, device_id, redactor

    def __call__(self, line: str) -> None:
        text = self._redactor.mask(str(line))[:MAX_LINE]
        with self._factory() as session:
            session.add(JobLog(job_id=self._job_id, device_id=self._device_id, at=utcnow(), line=text))
            session.commit()
        log.debug("%s job %d: %s", self._device_id, self._job_id, text)


class JobRunner:
    """One per controller process; ``workers`` device runs at once over all jobs."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        actions: ActionRegistry,
        settings: Settings,
        redactor: Redactor = REDACTOR,
    ) -> None:
        self.actions = actions
        self._factory, self._settings, self._redactor = factory, settings, redactor
        self._workers = max(1, settings.provisioning_workers)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="provision")
        self._stop, self._wake = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._thread: SupervisedThread | None = None
        self.recovered = threading.Event()  # set once leftovers of a previous process were marked

    def start(self) -> None:
        """Start dispatching; first mark what a previous process left running as interrupted."""
        self._thread = SupervisedThread(name="provision-dispatch", target=self._loop)
        self._thread.start()

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop claiming devices; a device still running is marked interrupted by the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """Look for queued devices now (after a job was created or resumed)."""
        self._wake.set()

    def _loop(self) -> None:
        recovered = False
        while not self._stop.is_set():
            claimed = 0
            try:
                # Recovery must precede any claim, or it would take our own new claims for leftovers.
                recovered = recovered or self._recover()
                claimed = self._dispatch_once()
            except Exception:  # a DB hiccup must not kill the dispatcher; it retries on the next tick
                log.exception("provisioning dispatch failed; retrying")
            if not claimed:
                self._wake.wait(self._settings.provisioning_idle_poll_s)
                self._wake.clear()

    def _recover(self) -> bool:
        with self._factory() as session:
            recover_after_restart(session)
        self.recovered.set()
        return True

    def _free_slots(self) -> int:
        with self._lock:
            return self._workers - self._inflight

    def _dispatch_once(self) -> int:
        claimed = 0
        with self._factory() as session:
            jobs = list(session.scalars(select(Job).where(Job.status == "running").order_by(Job.id)))
            for job in jobs:
                if self._free_slots() <= 0:
                    break
                claimed += self._claim_for(session, job)
                finish_if_complete(session, job_id=job.id)
        return claimed

    def _claim_for(self, session: Session, job: Job) -> int:
        running = session.scalar(
            select(func.count())
            .select_from(JobDevice)
            .where(JobDevice.job_id == job.id, JobDevice.status == "running")
        )
        quota = min(job.concurrency - int(running or 0), self._free_slots())
        if quota <= 0:
            return 0
        rows = session.execute(
            select(JobDevice.id, JobDevice.device_id, JobDevice.attempt)
            .where(JobDevice.job_id == job.id, JobDevice.status == "queued")
            .order_by(JobDevice.id)
            .limit(quota)
        ).all()
        claimed = 0
        for row_id, device_id, attempt in rows:
            if self._claim(session, row_id):
                self._submit(job, row_id, device_id, attempt + 1)
                claimed += 1
        return claimed

    def _claim(self, session: Session, row_id: int) -> bool:
        # Conditional update: only one worker (or process) moves a row from queued to running.
        done = session.execute(
            update(JobDevice)
            .where(JobDevice.id == row_id, JobDevice.status == "queued")
            .values(status="running", attempt=JobDevice.attempt + 1, started_at=utcnow(), finished_at=None)
        )
        session.commit()
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def _submit(self, job: Job, row_id: int, device_id: str, attempt: int) -> None:
        with self._lock:
            self._inflight += 1
        spec = (job.id, job.action, bool(job.dry_run), dict(job.params or {}))
        self._pool.submit(self._run_device, spec, row_id, device_id, attempt)

    def _run_device(
        self, spec: tuple[int, str, bool, Mapping[str, Any]], row_id: int, device_id: str, attempt: int
    ) -> None:
        job_id = spec[0]
        try:
            outcome = self._outcome(spec, device_id, attempt)
            self._record(job_id, row_id, device_id, outcome)
        except Exception:  # recording failed (DB down): the row stays running → interrupted at restart
            log.exception("%s job %d: could not record the outcome", device_id, job_id)
        finally:
            with self._lock:
                self._inflight -= 1
            self._wake.set()

    def _outcome(
        self, spec: tuple[int, str, bool, Mapping[str, Any]], device_id: str, attempt: int
    ) -> DeviceOutcome:
        job_id, action_name, dry_run, params = spec
        sink = LogSink(self._factory, job_id, device_id, self._redactor)
        try:
            action = self.actions.get(action_name)
            ctx = self._context(job_id, device_id, dry_run, params, sink, attempt)
            return _checked(action, action.run(ctx))
        except ProvisioningError as exc:
            return DeviceOutcome(exc.status, exc.reason)  # type: ignore[arg-type]
        except ControllerError as exc:
            return DeviceOutcome("failed", exc.detail)
        except Exception as exc:  # an action bug: this device fails, the job goes on
            log.exception("%s job %d: action %s raised", device_id, job_id, action_name)
            return DeviceOutcome("failed", f"{type(exc).__name__}: {exc}")

    def _context(
        self,
        job_id: int,
        device_id: str,
        dry_run: bool,
        params: Mapping[str, Any],
        sink: LogSink,
        attempt: int,
    ) -> ActionContext:
        with self._factory() as session:
            target, row = device_target(session, device_id=device_id)
        secrets = DeviceSecrets(
            self._factory,
            box=SecretBox(self._settings),
            redactor=self._redactor,
            password_secret=row.password_secret if row else None,
            key_secret=row.key_secret if row else None,
        )
        return ActionContext(job_id, target, secrets, dry_run, params, sink, attempt)

    def _record(self, job_id: int, row_id: int, device_id: str, outcome: DeviceOutcome) -> None:
        mask = self._redactor.mask
        with self._factory() as session:
            session.execute(
                update(JobDevice)
                .where(JobDevice.id == row_id, JobDevice.status == "running")
                .values(
                    status=outcome.status,
                    reason=mask(outcome.reason)[:MAX_TEXT],
                    diff=mask(outcome.diff)[:MAX_TEXT],
                    data=dict(outcome.data),
                    finished_at=utcnow(),
                )
            )
            session.commit()
            finish_if_complete(session, job_id=job_id)
        log.info("%s job %d: %s %s", device_id, job_id, outcome.status, mask(outcome.reason))


def _checked(action: Action, outcome: object) -> DeviceOutcome:
    if not isinstance(outcome, DeviceOutcome) or outcome.status not in STATUSES:
        return DeviceOutcome("failed", f"action {action.name} returned {outcome!r}, not a DeviceOutcome")
    if outcome.status in ("failed", "unreachable") and not outcome.reason:
        return DeviceOutcome(outcome.status, "the action gave no reason", outcome.diff, outcome.data)
    return outcome
