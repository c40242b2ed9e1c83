"""Enrollment routes: the device-facing enroll exchange, and staff revoke / re-issue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from station_protocol.enrollment import EnrollRequest
from station_protocol.errors import MalformedMessage

from ..api.deps import AppSettings, DbSession, EnrollLimiter, Operator, client_ip
from ..errors import AuthenticationRequired, InvalidInput
from ..registry.schemas import DeviceOut, DeviceWithToken
from . import service

router = APIRouter(tags=["enrollment"])


@router.post("/enroll")
def enroll(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    limiter: EnrollLimiter,
    body: dict[str, Any] = Body(examples=[{"serial": "SN0001", "token": "...", "agent_version": "0.1.0"}]),  # noqa: B008
) -> dict[str, Any]:
    """Device exchange (no staff auth): serial + one-time token → broker credentials, shown once."""
    try:
        enroll_request = EnrollRequest.from_dict(body)
    except MalformedMessage as exc:
        raise InvalidInput(str(exc)) from None
    keys = (f"ip:{client_ip(request)}", f"serial:{enroll_request.serial}")
    limiter.check(*keys)
    try:
        response = service.enroll(session, settings=settings, request=enroll_request)
    except AuthenticationRequired:
        limiter.failed(*keys)
        raise
    return response.to_dict()


@router.post("/devices/{device_id}/revoke", response_model=DeviceOut)
def revoke(device_id: str, session: DbSession, settings: AppSettings, _user: Operator) -> DeviceOut:
    """Remove the device's broker credential; the broker disconnects it on reload."""
    device = service.revoke(session, settings=settings, device_id=device_id)
    return DeviceOut.of(device, device.station.code)


@router.post("/devices/{device_id}/token", response_model=DeviceWithToken)
def reissue_token(
    device_id: str, session: DbSession, settings: AppSettings, _user: Operator
) -> DeviceWithToken:
    """A fresh one-time enrollment token (shown once); the device's current credential stops working."""
    device, token = service.reissue_token(session, settings=settings, device_id=device_id)
    assert device.token_expires_at is not None
    return DeviceWithToken(
        device=DeviceOut.of(device, device.station.code),
        token=token,
        token_expires_at=device.token_expires_at,
    )
