"""Builds the STB's stream parts: the probe thread with its commands, and the player endpoint."""

from __future__ import annotations

from pathlib import Path

from ..outbox import Outbox
from ..roles import RoleParts
from ..state import StateStore
from .endpoint import PlayerEndpoint, PlayerIntake
from .fetch import HttpFetcher
from .report import OutboxQoe
from .service import StreamService
from .settings import ProbeSettings
from .wanted import WantedPlayback

PLAYER_SOCKET = "player.sock"


def stream_parts(state_dir: Path, *, store: StateStore, outbox: Outbox, device_id: str) -> RoleParts:
    """``stream.*`` commands, the probe thread and the player endpoint (``state_dir/player.sock``)."""
    sink = OutboxQoe(outbox, device_id)
    wanted = WantedPlayback()  # the probe commands set it, the player endpoint serves it
    service = StreamService(
        settings=ProbeSettings(),
        store=store,
        sink=sink,
        fetcher_factory=HttpFetcher,
        device_id=device_id,
        wanted=wanted,
    )
    endpoint = PlayerEndpoint(Path(state_dir) / PLAYER_SOCKET, PlayerIntake(sink), wanted)
    return RoleParts(
        handlers=service.handlers(), loops=[("stream-probe", service.run), ("player-endpoint", endpoint.run)]
    )
