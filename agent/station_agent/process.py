"""External programs: the only module that imports subprocess, behind the ``ProcessRunner`` Protocol."""

from __future__ import annotations

import logging
import subprocess
from typing import Protocol, Sequence

log = logging.getLogger(__name__)


class ProcessRunner(Protocol):
    def spawn(self, argv: Sequence[str]) -> int:
        """Start ``argv`` without waiting; returns the child's pid."""
        ...


class SubprocessRunner:
    """Starts programs from an argument list (never a shell string)."""

    def spawn(self, argv: Sequence[str]) -> int:
        log.info("starting %s", list(argv))
        proc = subprocess.Popen(  # noqa: S603 - argv comes from the agent's own config, not from the wire
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return proc.pid
