"""External programs: the agent's only subprocess importer, behind ``ProcessRunner`` and ``run_tool``.

``SubprocessRunner`` starts long-lived programs (reboot); ``run_tool`` runs a short tool and captures
its output, for the gateway's ``nft``/``tc``/``ip`` adapters (gateway/nft.py, gateway/tc.py), which
keep their own Protocols and error messages.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

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


@dataclass(frozen=True)
class ToolOutput:
    """How a finished tool ended: its exit status and captured text."""

    returncode: int
    stdout: str
    stderr: str


class CannotRun(Exception):
    """The tool could not be started (missing, not executable) or did not finish within its timeout.

    Not an AgentError: callers turn it into their own error, which says what to install or check.
    """


def run_tool(argv: Sequence[str], *, timeout_s: float, stdin: Optional[str] = None) -> ToolOutput:
    """Run ``argv`` to completion (no shell), feeding ``stdin`` when given; a non-zero exit is returned."""
    try:
        proc = subprocess.run(  # noqa: S603 - argument lists built by the callers from validated values
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotRun(str(exc)) from None
    return ToolOutput(proc.returncode, proc.stdout, proc.stderr)
