"""``reboot``: start the configured reboot command (or only say what it would run, in dry-run mode)."""

from __future__ import annotations

import logging
from typing import Any, Dict, Sequence

from ..process import ProcessRunner
from .base import CommandContext

log = logging.getLogger(__name__)


class Reboot:
    """The result is committed before the reboot takes effect, so it is delivered after the device is back."""

    def __init__(
        self, *, runner: ProcessRunner, command: Sequence[str], dry_run: bool, device_id: str
    ) -> None:
        self._runner = runner
        self._command = tuple(command)
        self._dry_run = dry_run
        self._device_id = device_id

    def __call__(self, ctx: CommandContext) -> Dict[str, Any]:
        if self._dry_run:
            log.info("%s: reboot requested by %s (dry run, not rebooting)", self._device_id, ctx.command_id)
            return {"dry_run": True, "command": list(self._command)}
        log.warning("%s: rebooting on command %s", self._device_id, ctx.command_id)
        pid = self._runner.spawn(self._command)
        return {"dry_run": False, "command": list(self._command), "pid": pid}
