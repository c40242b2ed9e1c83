"""``content.sync`` / ``content.cancel`` / ``content.status`` (role stb; docs/content.md §4)."""

from __future__ import annotations

from typing import Any, Dict

from station_protocol import codec
from station_protocol.errors import MalformedMessage
from station_protocol.sync import CANCEL, STATUS, SYNC, CancelArgs

from ..content.engine import SyncEngine
from ..content.job import job_from_args
from ..errors import CommandRejected
from .base import CommandContext, Handler


class ContentCommands:
    """Answers at once; the transfer itself runs on the engine's own thread."""

    def __init__(self, engine: SyncEngine) -> None:
        self._engine = engine

    def sync(self, ctx: CommandContext) -> Dict[str, Any]:
        return self._engine.submit(job_from_args(dict(ctx.args), ctx.command_id))

    def cancel(self, ctx: CommandContext) -> Dict[str, Any]:
        try:
            args = codec.decode(CancelArgs, dict(ctx.args), CANCEL)
        except MalformedMessage as exc:
            raise CommandRejected(f"{CANCEL}: {exc}") from None
        return self._engine.cancel(args.job_id)

    def status(self, ctx: CommandContext) -> Dict[str, Any]:
        if ctx.args:
            raise CommandRejected(f"{STATUS} takes no arguments")
        return self._engine.status()

    def handlers(self) -> Dict[str, Handler]:
        return {SYNC: self.sync, CANCEL: self.cancel, STATUS: self.status}
