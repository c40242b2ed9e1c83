"""Dependencies for the portal's long-lived objects: the SMS sender and the voucher failure limiter."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..api.deps import service
from ..api.ratelimit import FailureLimiter
from .sms import SmsSender


async def get_sms_sender(request: Request) -> SmsSender:
    sender: SmsSender = service(request, "portal_sms")
    return sender


async def get_voucher_limiter(request: Request) -> FailureLimiter:
    limiter: FailureLimiter = service(request, "portal_voucher_limiter")
    return limiter


Sms = Annotated[SmsSender, Depends(get_sms_sender)]
VoucherLimiter = Annotated[FailureLimiter, Depends(get_voucher_limiter)]
