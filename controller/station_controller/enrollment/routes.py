"""Enrollment routes: the device-facing enroll exchange, and staff revoke / re-issue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from station_protocol.enrollment import EnrollRequest
from station_protocol.errors import MalformedMessage

from ..api.deps import AppSettings, DbSession, EnrollLimiter, client_ip
from ..auth.deps import Operator
from ..errors import AuthenticationRequired, InvalidInput, RateLimited
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
    # A correct token always enrolls, whatever failed before: the token is 256 random bits, so the
    # limit is not what keeps guessers out. It only answers a source that keeps sending bad tokens
    # with 429 + Retry-After (a doubling delay), and it is never keyed by serial: the serial is
    # printed on the box, and failures naming it must not lock the holder out.
    source = f"ip:{client_ip(request)}"
    try:
        response = service.enroll(session, settings=settings, request=enroll_request)
    except AuthenticationRequired:
        limited_for = limiter.blocked_for(source)
        limiter.failed(source)
        if limited_for > 0:
            raise RateLimited(
                f"too many failed enrollments from this address; try again in {limited_for:.0f} s",
                retry_after_s=limited_for,
            ) from None
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
