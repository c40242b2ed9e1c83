"""Firmware: releases (upload, verify, list, retire), device versions and update history, the ``firmware``
campaign payload, the progress event handler, the stuck-update sweep and the console pages."""

from __future__ import annotations

from pathlib import Path

from ..plugins import Feature, Mount, NavLink
from . import console_pages
from .campaign_payload import FirmwarePayload
from .device_events import FirmwareEvents
from .routes import public_router, router
from .stuck import DEFAULT_DEADLINES_S, StuckSweeper

FEATURE = Feature(
    name="firmware",
    order=75,
    api_routers=(router,),
    routers=(Mount(public_router, priority=60), Mount(console_pages.router, priority=40)),
    nav=(NavLink("/console/firmware/", "固件升级", "Firmware", order=75),),
    template_dirs=(Path(__file__).parent / "templates",),
    payloads=lambda settings: [FirmwarePayload(settings)],
    event_handlers=lambda factory, payloads: [FirmwareEvents(factory)],
    background=lambda ctx: [
        StuckSweeper(
            ctx.session_factory,
            interval_s=ctx.settings.firmware_stuck_sweep_s,
            deadlines_s={**DEFAULT_DEADLINES_S, **ctx.settings.firmware_stuck_after_s},
        )
    ],
)
