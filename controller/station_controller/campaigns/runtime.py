"""Builds the campaign scheduler for the controller process (main.py starts it with the app)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from ..commands.publisher import CommandPublisher
from ..settings import Settings
from .payloads import PayloadAction
from .scheduler import CampaignScheduler, OriginLimiter


def build_scheduler(
    settings: Settings,
    session_factory: sessionmaker[Session],
    payloads: Mapping[str, PayloadAction],
    publisher: CommandPublisher | None,
    *,
    limiter: OriginLimiter | None = None,
) -> CampaignScheduler | None:
    """The scheduler, or None when disabled or when this process cannot publish commands.

    ``limiter`` is the content chunk server's process-wide origin limiter (docs/content.md §5), handed
    in by the composition root so campaigns import no feature (plugins.origin_limiter).
    """
    if not settings.campaign_scheduler_enabled or publisher is None:
        return None
    return CampaignScheduler(
        session_factory=session_factory,
        settings=settings,
        payloads=payloads,
        publisher=lambda: publisher,
        limiter=limiter,
    )
