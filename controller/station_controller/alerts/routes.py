"""Alerts API under /api/v1/alerts: Alertmanager's webhook and relays (bearer token), staff views."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from ..api.deps import AppSettings, DbSession, bearer_token
from ..auth.deps import Operator, Viewer
from ..errors import AuthenticationRequired, InvalidInput
from ..settings import Settings
from . import service
from .deps import Alertmanager, Sms
from .errors import PayloadTooLarge
from .models import AlertRecord
from .schemas import AlertOut, AlertPage, MaintenanceIn, MaintenanceOut, WebhookBody

router = APIRouter(prefix="/alerts", tags=["alerts"])
SILENCE_ID = r"^[0-9a-fA-F-]{1,64}$"


def _check_token(request: Request, settings: Settings) -> None:
    expected = settings.alerts_webhook_token.get_secret_value()
    given = bearer_token(request) or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthenticationRequired("send 'Authorization: Bearer <alerts_webhook_token>'")


async def _webhook_body(request: Request, settings: Settings) -> WebhookBody:
    """The checked body: token first, then size (header and actual), then the bounded schema."""
    _check_token(request, settings)
    limit = settings.alerts_webhook_max_bytes
    declared = request.headers.get("content-length") or "0"
    if not declared.isdigit() or int(declared) > limit:
        raise PayloadTooLarge(f"webhook bodies are limited to {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"webhook bodies are limited to {limit} bytes")
    try:
        return WebhookBody.model_validate_json(bytes(raw))
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
        raise InvalidInput("not an Alertmanager webhook body", extra={"errors": problems}) from None


@router.post("/webhook")
async def webhook(request: Request, session: DbSession, settings: AppSettings) -> dict[str, int]:
    body = await _webhook_body(request, settings)
    return {"recorded": service.record_webhook(session, body=body)}


@router.post("/relay/{kind}")
async def relay(
    kind: Literal["dingtalk", "wecom", "sms"], request: Request, settings: AppSettings, sms: Sms
) -> dict[str, int]:
    body = await _webhook_body(request, settings)
    return {"sent": service.relay(kind, body=body, settings=settings, sms=sms)}


def alert_out(record: AlertRecord, silenced: bool = False) -> AlertOut:
    return AlertOut(
        id=record.id,
        fingerprint=record.fingerprint,
        alertname=record.alertname,
        severity=record.severity,
        status=record.status,
        device=record.device,
        station_code=record.station_code,
        region_path=record.region_path,
        summary=record.summary,
        labels={str(k): str(v) for k, v in record.labels.items()},
        starts_at=record.starts_at,
        ends_at=record.ends_at,
        acknowledged_by=record.acknowledged_by,
        acknowledged_at=record.acknowledged_at,
        silenced=silenced,
    )


@router.get("", response_model=AlertPage)
def list_alerts(
    session: DbSession,
    _user: Viewer,
    status: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    station: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertPage:
    rows, counts = service.list_alerts(session, status=status, station=station, region=region, limit=limit)
    return AlertPage(items=[alert_out(r) for r in rows], **counts)


@router.post("/{alert_id}/ack", response_model=AlertOut)
def acknowledge(alert_id: int, session: DbSession, user: Operator) -> AlertOut:
    return alert_out(service.acknowledge(session, alert_id=alert_id, username=user.username))


@router.get("/maintenance", response_model=list[MaintenanceOut])
def list_maintenance(_user: Viewer, alertmanager: Alertmanager) -> list[MaintenanceOut]:
    return [service.window_out(s) for s in alertmanager.silences() if s.state != "expired"]


@router.post("/maintenance", response_model=dict[str, str], status_code=201)
def create_maintenance(
    body: MaintenanceIn, session: DbSession, user: Operator, alertmanager: Alertmanager
) -> dict[str, str]:
    silence_id = service.create_maintenance(
        session,
        alertmanager,
        station=body.station,
        region=body.region,
        hours=body.hours,
        username=user.username,
        comment=body.comment,
    )
    return {"id": silence_id}


@router.delete("/maintenance/{silence_id}", status_code=204)
def end_maintenance(
    silence_id: Annotated[str, Path(pattern=SILENCE_ID)], _user: Operator, alertmanager: Alertmanager
) -> None:
    alertmanager.expire_silence(silence_id)
