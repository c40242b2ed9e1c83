"""Dependency for what every WiFiDog endpoint needs: the in-memory runtime, sessions and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from ...api.deps import AppSettings, SessionFactory, service
from ...settings import Settings
from .runtime import WifidogRuntime


@dataclass(frozen=True)
class WifidogWiring:
    runtime: WifidogRuntime
    session_factory: sessionmaker[Session]
    settings: Settings


async def get_wiring(request: Request, factory: SessionFactory, settings: AppSettings) -> WifidogWiring:
    runtime: WifidogRuntime = service(request, "wifidog")
    return WifidogWiring(runtime, factory, settings)


Wiring = Annotated[WifidogWiring, Depends(get_wiring)]
