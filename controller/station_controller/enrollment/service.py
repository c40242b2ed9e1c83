"""Enrollment services: token → per-device broker credentials, revoke, re-issue (each call commits)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from station_protocol.enrollment import EnrollRequest, EnrollResponse

from ..broker.passwords import generate_password, hash_password
from ..errors import AuthenticationRequired, Conflict
from ..kernel.clock import as_utc, utcnow
from ..kernel.tokens import token_matches
from ..registry.models import Device
from ..registry.service import get_device, issue_token
from ..settings import Settings
from .broker_sync import SYNC_LOCK, sync_broker

log = logging.getLogger(__name__)

REFUSED = "serial or token not accepted (wrong, used or expired); ask staff to re-issue the device's token"


def _token_ok(device: Device | None, token: str) -> bool:
    matches = token_matches(token, device.token_hash if device else None)  # always compare: constant time
    if device is None or not matches or device.status != "pending" or device.token_expires_at is None:
        return False
    return as_utc(device.token_expires_at) > utcnow()


def enroll(session: Session, *, settings: Settings, request: EnrollRequest) -> EnrollResponse:
    """Exchange a one-time token for MQTT credentials (the password is returned once, stored hashed).

    Raises:
        AuthenticationRequired: unknown serial, wrong/used/expired token, or device not pending.
    """
    device = session.scalar(select(Device).where(Device.serial == request.serial))
    if not _token_ok(device, request.token):
        log.warning("enrollment refused for serial %r", request.serial)
        raise AuthenticationRequired(REFUSED)
    assert device is not None
    password = generate_password()
    device.mqtt_password_hash = hash_password(password)
    device.token_hash = None
    device.token_expires_at = None
    device.status = "enrolled"
    device.enrolled_at = utcnow()
    device.revoked_at = None
    if request.agent_version:
        device.agent_version = request.agent_version
    with SYNC_LOCK:
        session.flush()
        sync_broker(session, settings=settings)
        session.commit()
    log.info("%s enrolled (serial %s, agent %s)", device.id, device.serial, request.agent_version or "?")
    return EnrollResponse(
        device_id=device.id,
        role=device.role,
        mqtt_host=settings.device_mqtt_host,
        mqtt_port=settings.device_mqtt_port,
        mqtt_username=device.id,
        mqtt_password=password,
        mqtt_tls=settings.device_mqtt_tls,
        controller_url=settings.public_url,
        station_id=device.station_id,
    )


def revoke(session: Session, *, settings: Settings, device_id: str) -> Device:
    """Remove the device's broker credential and token; the broker drops its session on reload."""
    device = get_device(session, device_id=device_id)
    if device.status == "revoked":
        raise Conflict(f"{device_id} is already revoked; re-issue a token to enroll it again")
    device.status = "revoked"
    device.revoked_at = utcnow()
    device.mqtt_password_hash = None
    device.token_hash = None
    device.token_expires_at = None
    with SYNC_LOCK:
        session.flush()
        sync_broker(session, settings=settings)
        session.commit()
    log.warning("%s revoked", device_id)
    return device


def reissue_token(session: Session, *, settings: Settings, device_id: str) -> tuple[Device, str]:
    """A fresh one-time token; the device goes back to pending and loses its current credential."""
    device = get_device(session, device_id=device_id)
    had_credential = device.mqtt_password_hash is not None
    token = issue_token(device, settings=settings)
    with SYNC_LOCK:
        session.flush()
        if had_credential:
            sync_broker(session, settings=settings)
        session.commit()
    log.info("%s token re-issued (status pending)", device_id)
    return device, token
