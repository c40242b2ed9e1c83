"""Start, wait for and stop service processes; run one-shot tools (the dev stack's only subprocess user)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess  # noqa: S404 - the dev stack's reason to exist is running local services
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from .errors import ServiceStartError, ToolFailed

logger = logging.getLogger(__name__)


class ManagedProcess:
    """One long-running service process with its output in a log file."""

    def __init__(
        self,
        *,
        name: str,
        argv: Sequence[str],
        log_file: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, ready: Callable[[], bool], timeout_s: float) -> None:
        """Start the process and wait until ``ready()`` is true while it is still alive.

        Raises:
            ServiceStartError: it exited or was not ready within ``timeout_s`` (it is stopped then).
        """
        if self.running:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # Own session: a Ctrl-C in the terminal reaches only the supervisor, which stops
            # services in order instead of all of them dying at once.
            self._proc = subprocess.Popen(  # noqa: S603 - argv built by our code, no shell
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        logger.info("%s started, pid %d: %s", self.name, self._proc.pid, " ".join(self.argv))
        try:
            wait_for(
                lambda: self._alive_or_raise() and ready(), timeout_s=timeout_s, what=f"{self.name} ready"
            )
        except ServiceStartError as exc:
            self.stop()
            raise ServiceStartError(f"{exc}\n--- {self.log_file} (tail) ---\n{self.log_tail()}") from None

    def stop(self, *, timeout_s: float = 10.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Send ``sig``, wait up to ``timeout_s``, then SIGKILL; a stopped process is a no-op."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid %d ignored %s; killing it", self.name, proc.pid, sig.name)
                proc.kill()
                proc.wait()
        logger.info("%s stopped (exit %s)", self.name, proc.returncode)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _alive_or_raise(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            code = None if self._proc is None else self._proc.returncode
            raise ServiceStartError(f"{self.name} exited with code {code} while starting")
        return True


def wait_for(predicate: Callable[[], bool], *, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll ``predicate`` until true; ServiceStartError after ``timeout_s``. Exceptions propagate."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise ServiceStartError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(interval_s)


def http_ok(url: str, *, timeout_s: float = 1.0) -> bool:
    """True when GET ``url`` answers 2xx."""
    try:
        return httpx.get(url, timeout=timeout_s).is_success
    except httpx.HTTPError:
        return False


def run_tool(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 120.0,
    input_text: str | None = None,
) -> str:
    """Run a one-shot command and return its stdout.

    Raises:
        ToolFailed: it exited non-zero or timed out; the message holds its output.
    """
    logger.debug("running %s", " ".join(argv))
    try:
        done = subprocess.run(  # noqa: S603 - argv built by our code, no shell
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout_s,
            check=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(f"{argv[0]} timed out after {timeout_s:g}s") from exc
    if done.returncode != 0:
        raise ToolFailed(f"{' '.join(argv)} exited with {done.returncode}", done.stdout + done.stderr)
    return done.stdout


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    """Prefix ``argv`` with ``runuser -u user --`` when we are root and must not run it as root."""
    if user is None or os.geteuid() != 0:
        return list(argv)
    return ["runuser", "-u", user, "--", *argv]
