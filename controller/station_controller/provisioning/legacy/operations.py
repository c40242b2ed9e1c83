"""Device-level steps over one SSH session: read running config and facts, apply, save, verify, restore."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from .errors import RouterCommandRejected
from .profiles import Profile, RouterIntent
from .ssh import RouterConnection

log = logging.getLogger(__name__)

LogLine = Callable[[str], None]


def read_running(conn: RouterConnection, profile: Profile) -> str:
    """The running config, normalised (volatile lines dropped) so equal configs compare equal."""
    return profile.normalise(conn.run(profile.show_running))


def read_facts(conn: RouterConnection, profile: Profile) -> dict[str, object]:
    """Model / version / interfaces, parsed with ntc-templates where a template exists."""
    outputs = {command: conn.run(command) for command in profile.facts_commands()}
    return dict(profile.parse_facts(outputs)) if outputs else {}


def send_lines(conn: RouterConnection, profile: Profile, lines: Sequence[str]) -> None:
    """Type ``lines`` (config mode or one exec command each), then save.

    Raises:
        RouterCommandRejected: the router answered a line with an error (later lines are not sent).
    """
    if profile.config_mode:
        conn.configure(lines, error_pattern=profile.error_pattern)
    else:
        for line in lines:
            _exec_checked(conn, profile, line)
    if profile.save_lines():
        for line in profile.save_lines():
            _exec_checked(conn, profile, line)
    else:
        conn.save()


def _exec_checked(conn: RouterConnection, profile: Profile, line: str) -> None:
    output = conn.run(line)
    if profile.error_pattern and re.search(profile.error_pattern, output):
        raise RouterCommandRejected(line, output)


def verify(conn: RouterConnection, profile: Profile, intent: RouterIntent) -> tuple[str, list[str]]:
    """(running config, problems): every rendered line must be in the running config and each check pass."""
    running = read_running(conn, profile)
    problems = [f"not in the running config: {line}" for line in profile.missing(running, intent)]
    for check in profile.checks(intent):
        problem = check.problem(conn.run(check.command))
        if problem:
            problems.append(problem)
    return running, problems


def restore(conn: RouterConnection, profile: Profile, backup: str, *, log_line: LogLine) -> str:
    """Bring the router back to ``backup``; returns the running config afterwards."""
    current = read_running(conn, profile)
    lines = profile.restore_lines(backup, current)
    log_line(f"restoring the backup: {len(lines)} line(s)")
    if lines:
        send_lines(conn, profile, lines)
    return read_running(conn, profile)
