"""Dependency for the campaign payload registry (kind → action), built once by the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from ..api.deps import service
from .payloads import PayloadAction


async def get_payloads(request: Request) -> Mapping[str, PayloadAction]:
    payloads: Mapping[str, PayloadAction] = service(request, "campaign_payloads")
    return payloads


Payloads = Annotated[Mapping[str, PayloadAction], Depends(get_payloads)]
