"""Dependencies for the command publisher (None in a process without MQTT) and the result waiters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..api.deps import service
from .publisher import CommandPublisher
from .waiters import ResultWaiters


async def get_publisher(request: Request) -> CommandPublisher | None:
    publisher: CommandPublisher | None = service(request, "publisher")
    return publisher


async def get_waiters(request: Request) -> ResultWaiters:
    waiters: ResultWaiters = service(request, "waiters")
    return waiters


Publisher = Annotated[CommandPublisher | None, Depends(get_publisher)]
Waiters = Annotated[ResultWaiters, Depends(get_waiters)]
