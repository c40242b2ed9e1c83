"""Builds the campaign scheduler for the controller process (main.py starts it with the app)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from ..commands.publisher import CommandPublisher
from ..settings import Settings
from .payloads import PayloadAction
from .scheduler import CampaignScheduler, OriginLimiter

log = logging.getLogger(__name__)


def origin_limiter() -> OriginLimiter | None:
    """The content chunk server's process-wide limiter (docs/content.md §5), if content is installed."""
    try:
        from ..content.store import origin_limiter as content_limiter
    except ImportError:  # pragma: no cover - content is part of the controller package
        log.warning("content store not available; campaigns cannot set the origin cap")
        return None
    limiter: OriginLimiter = content_limiter()
    return limiter


def build_scheduler(
    settings: Settings,
    session_factory: sessionmaker[Session],
    payloads: Mapping[str, PayloadAction],
    publisher: CommandPublisher | None,
) -> CampaignScheduler | None:
    """The scheduler, or None when disabled or when this process cannot publish commands."""
    if not settings.campaign_scheduler_enabled or publisher is None:
        return None
    return CampaignScheduler(
        session_factory=session_factory,
        settings=settings,
        payloads=payloads,
        publisher=lambda: publisher,
        limiter=origin_limiter(),
    )
