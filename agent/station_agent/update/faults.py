"""Fault injection for the crash tests: ``STATION_FIRMWARE_FAULT_FILE`` names a file "<step> [agent|power]".

At ``step`` the agent deletes the file (one shot) and SIGKILLs itself (``agent``) or its whole process
group, the launcher included (``power``: a modelled power cut). Unset in production: a no-op.
Steps: download, unpack, switch, first_start, before_commit.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

ENV = "STATION_FIRMWARE_FAULT_FILE"


def fault(step: str) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        words = Path(path).read_text(encoding="ascii").split()
    except OSError:
        return
    if not words or words[0] != step:
        return
    os.unlink(path)
    if words[1:2] == ["power"]:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
