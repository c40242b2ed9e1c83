"""Alerts dependencies: the Alertmanager adapter and the SMS sender from the composition root."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..api.deps import service
from .alertmanager import AlertmanagerApi
from .service import SmsSender

ALERTMANAGER_SERVICE = "alerts_alertmanager"


async def get_alertmanager(request: Request) -> AlertmanagerApi:
    client: AlertmanagerApi = service(request, ALERTMANAGER_SERVICE)
    return client


async def get_sms(request: Request) -> SmsSender:
    sender: SmsSender = service(request, "portal_sms")
    return sender


Alertmanager = Annotated[AlertmanagerApi, Depends(get_alertmanager)]
Sms = Annotated[SmsSender, Depends(get_sms)]
