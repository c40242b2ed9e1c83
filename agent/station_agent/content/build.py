"""Builds the agent's sync engine: content root under the state directory, events through the outbox."""

from __future__ import annotations

from pathlib import Path

from ..outbox import Outbox
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
