"""Builds the agent's sync engine: content root under the state directory, events through the outbox.

``stb_parts`` is what the runtime loads for role ``stb`` (and only for it, see roles.py).
"""

from __future__ import annotations

from pathlib import Path

from station_protocol.content import FORMAT_V2_CAPABILITY

from ..commands.content import ContentCommands
from ..outbox import Outbox
from ..roles import RoleParts
from ..state import StateStore
from .engine import ContentSettings, SyncEngine
from .events import OutboxEvents
from .http import HttpFetcher
from .job import JobBook

CONTENT_DIR = "content"


def build_content_engine(state_dir: Path, *, store: StateStore, outbox: Outbox, device_id: str) -> SyncEngine:
    """Jobs left running or paused by a restart or kill -9 resume when the engine's thread starts."""
    settings = ContentSettings(root=Path(state_dir) / CONTENT_DIR)
    return SyncEngine(
        settings=settings,
        book=JobBook(store),
        fetcher=HttpFetcher(),
        sink=OutboxEvents(outbox, device_id),
        device_id=device_id,
    )


def stb_parts(state_dir: Path, *, store: StateStore, outbox: Outbox, device_id: str) -> RoleParts:
    """The sync engine, its ``content.*`` handlers and its thread of an STB agent."""
    engine = build_content_engine(state_dir, store=store, outbox=outbox, device_id=device_id)
    return RoleParts(
        handlers=ContentCommands(engine).handlers(),
        loops=[("content-sync", engine.run)],
        capabilities=(FORMAT_V2_CAPABILITY,),
    )
