"""``content.sync`` / ``content.cancel`` / ``content.status`` (role stb; docs/content.md §4)."""

from __future__ import annotations

from typing import Any, Dict

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
        job_id = ctx.args.get("job_id")
        if not isinstance(job_id, str) or set(ctx.args) != {"job_id"}:
            raise CommandRejected("content.cancel: expected exactly {job_id}")
        return self._engine.cancel(job_id)

    def status(self, ctx: CommandContext) -> Dict[str, Any]:
        if ctx.args:
            raise CommandRejected("content.status takes no arguments")
        return self._engine.status()

    def handlers(self) -> Dict[str, Handler]:
        return {"content.sync": self.sync, "content.cancel": self.cancel, "content.status": self.status}
